"""The gan-lab command line: each command end to end, in-process except where a fresh
process is the point. Commands that only read a run (translate, export, sample, --resume
checks) get a hand-written run folder of small untrained models (conftest.write_run);
only the tests of training itself train (a few steps, marked slow)."""

import contextlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gan_lab import cli

FRESH_LOAD = """
import sys, numpy as np, keras
model = keras.saving.load_model(sys.argv[1])
x = np.random.default_rng(0).uniform(-1, 1, (2, *model.input_shape[1:])).astype("float32")
y = np.asarray(model(x))
assert "gan_lab" not in sys.modules, "loading needed gan_lab"
print(model.name, y.shape, float(np.abs(y).max()))
"""


@pytest.fixture
def untrained_run(untrained_run):
    """conftest's hand-written run folder; what building it prints is not a command's."""

    def quietly(model, **changes):
        with contextlib.redirect_stdout(io.StringIO()):
            return untrained_run(model, **changes)

    return quietly


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("GAN_LAB_OUTPUT_DIR", str(tmp_path / "outputs"))
    return tmp_path


def train(model, *extra, capsys):
    assert cli.main(["train", model, "--quick", "--steps", "4", "--json", *extra]) == 0
    return json.loads(capsys.readouterr().out)


def run_cli(*args):
    """gan-lab in a fresh process (the console script of the venv)."""
    exe = Path(sys.executable).with_name("gan-lab")
    return subprocess.run([str(exe), *args], capture_output=True, text=True, timeout=600)


def write_images(folder, sizes):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for i, (h, w) in enumerate(sizes):
        Image.fromarray(rng.integers(0, 255, (h, w, 3), dtype=np.uint8)).save(folder / f"{i}.png")
    return folder


def test_every_command_has_help_with_an_example(capsys):
    for command in cli.COMMANDS:
        with pytest.raises(SystemExit) as exit_:
            cli.main([command, "--help"])
        assert exit_.value.code == 0
        text = capsys.readouterr().out
        assert "example" in text and f"gan-lab {command}" in text


NO_TENSORFLOW = """
import sys
from gan_lab import cli

for argv in ([], ["--help"], ["train", "--help"], ["export", "--help"], ["train", "gan"]):
    try:
        cli.main(argv)
    except SystemExit:
        pass
code = cli.main(["train", "dcgan", "--set", "learning_rate=fast"])
assert code == 2, code
heavy = sorted(m for m in ("tensorflow", "keras") if m in sys.modules)
print("imported:", heavy)
"""


def test_help_and_argument_errors_do_not_import_tensorflow():
    done = subprocess.run(
        [sys.executable, "-c", NO_TENSORFLOW], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "imported: []" in done.stdout
    assert "learning_rate must be a number. Received: learning_rate='fast'" in done.stderr


@pytest.mark.parametrize(
    "argv, message",
    [
        (["train", "stylegan"], "invalid choice: 'stylegan'"),
        (["train", "dcgan", "--set", "learning_rate"], "expected KEY=VALUE, got 'learning_rate'"),
        (["train", "dcgan", "--quick", "--full"], "not allowed with argument"),
        (["train", "dcgan", "--steps", "0"], "expected a positive integer, got '0'"),
        (["train", "dcgan", "--steps", "ten"], "expected a positive integer, got 'ten'"),
        (["train", "dcgan", "--steps", "5", "--epochs", "2"], "not allowed with argument"),
        (["train", "dcgan", "--precision", "float8"], "invalid choice: 'float8'"),
        (["translate", "RUN"], "the following arguments are required: --input, --output"),
        (["sample", "RUN", "-n", "-3"], "expected a positive integer, got '-3'"),
        ([], "the following arguments are required: COMMAND"),
    ],
)
def test_wrong_arguments_exit_2_with_the_reason(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(argv)
    assert exit_.value.code == 2
    assert message in capsys.readouterr().err


@pytest.mark.slow
def test_unknown_setting_is_named_with_the_known_ones(capsys):
    assert cli.main(["train", "toy", "--set", "learning_rat=1e-3"]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert "toy has no setting learning_rat. Its settings:" in line and "learning_rate" in line


def test_set_values_are_json_else_text():
    assert cli._setting("learning_rate=1e-4") == ("learning_rate", 1e-4)
    assert cli._setting("deterministic=true") == ("deterministic", True)
    assert cli._setting("n_blocks=null") == ("n_blocks", None)
    assert cli._setting("ring_seeds=[0, 1]") == ("ring_seeds", [0, 1])
    assert cli._setting("generator=unet") == ("generator", "unet")
    assert cli._setting("data_dir=/data/a=b") == ("data_dir", "/data/a=b")


def test_auto_strategy_falls_back_to_one_device_when_the_batch_does_not_split(monkeypatch, capsys):
    import tensorflow as tf

    real = tf.config.list_physical_devices
    monkeypatch.setattr(
        tf.config,
        "list_physical_devices",
        lambda kind=None: ["GPU:0", "GPU:1"] if kind == "GPU" else real(kind),
    )
    assert cli._strategy("auto", 1) is None  # pix2pix's batch of 1 on two GPUs
    (line,) = capsys.readouterr().out.strip().splitlines()
    assert "a batch of 1 does not split across 2 GPUs: training on one" in line


@pytest.mark.slow
def test_train_dcgan_summary_then_sample_gif_export(env, capsys):
    summary = train("dcgan", "--set", "learning_rate=1e-4", capsys=capsys)
    assert summary["steps"] == 4 and summary["synthetic_data"] is True
    assert summary["verdict"].startswith("Training")
    assert 0.0 <= summary["metric"]["confident_share_generated"] <= 1.0
    # The judge itself works: an untrained 10-class judge is confident (p >= 0.9) on almost
    # no digit; the quick-mode judge is on ~0.77 of real ones (a training outcome: varies
    # by CPU, so the bound is loose).
    assert summary["metric"]["confident_share_real"] > 0.5
    run = Path(summary["run_dir"])
    settings = json.loads((run / "run.json").read_text())
    assert (settings["model"], settings["learning_rate"]) == ("dcgan", 1e-4)
    assert Image.open(summary["gif"]).n_frames >= 2

    assert cli.main(["sample", str(run), "-n", "5"]) == 0
    assert len(list((run / "samples").glob("sample_*.png"))) == 5
    before = (run / "samples" / "grid.png").read_bytes()
    assert cli.main(["sample", str(run), "-n", "5"]) == 2  # would overwrite: refused
    assert "--overwrite" in capsys.readouterr().err
    assert (run / "samples" / "grid.png").read_bytes() == before

    (run / "progress.gif").unlink()
    assert cli.main(["gif", str(run)]) == 0
    assert Image.open(run / "progress.gif").n_frames >= 2
    capsys.readouterr()

    assert cli.main(["export", str(run)]) == 0
    exported = json.loads(capsys.readouterr().out)["exported"]["generator"]
    assert exported["max_error_vs_checkpoint"] <= 1e-4  # recipes.EXPORT_TOLERANCE
    assert Path(exported["saved_model"], "saved_model.pb").is_file()
    assert exported["signatures"] == ["serve"]


@pytest.mark.slow
def test_exported_pix2pix_serves_both_protocols(env, capsys, untrained_run):
    import tensorflow as tf

    from gan_lab import models, runs

    run = untrained_run("pix2pix")
    assert cli.main(["export", str(run)]) == 0
    exported = json.loads(capsys.readouterr().out)["exported"]["generator"]
    assert exported["signatures"] == ["serve", "serve_paper"]
    served = tf.saved_model.load(exported["saved_model"])
    assert set(served.signatures) == {"serving_default", "serve", "serve_paper"}
    generator = runs.restore_generators(run, runs.read_run(run))["generator"]
    images = np.random.default_rng(1).uniform(-1, 1, (3, 32, 32, 3)).astype("float32")
    # the paper's protocol: the numbers gan_lab reports and `gan-lab translate` uses
    paper = served.serve_paper(images).numpy()
    np.testing.assert_allclose(paper, models.pix2pix_translate(generator, images), atol=1e-4)
    inference = served.serve(images).numpy()  # Keras' inference mode
    np.testing.assert_allclose(inference, generator(images, training=False), atol=1e-4)
    assert np.abs(paper - inference).max() > 1e-2  # two protocols, two answers


@pytest.mark.slow  # exports and translates twice per model
@pytest.mark.parametrize("model", ["pix2pix", "cyclegan"])
def test_translate_any_size_by_resize_and_tile(model, env, untrained_run):
    run = untrained_run(model)  # 32 px models: both images are larger, one is thinner
    images = write_images(env / "in", [(50, 90), (130, 70)])  # not square, not 32 px
    (images / "readme.txt").write_text("not an image: ignored")
    for mode in ("resize", "tile"):
        out = env / f"out_{mode}"
        assert (
            cli.main(
                [
                    "translate",
                    str(run),
                    "--input",
                    str(images),
                    "--output",
                    str(out),
                    "--mode",
                    mode,
                    "--direction",
                    "b2a",
                ]
            )
            == 0
        )
        sizes = sorted(Image.open(p).size for p in out.glob("*.png"))
        assert sizes == [(70, 130), (90, 50)]


@pytest.mark.slow
def test_exported_cyclegan_loads_in_a_fresh_process_without_gan_lab(env, capsys, untrained_run):
    run = untrained_run("cyclegan")
    assert cli.main(["export", str(run)]) == 0
    exported = json.loads(capsys.readouterr().out)["exported"]
    assert set(exported) == {"g", "f"}
    done = subprocess.run(
        [sys.executable, "-c", FRESH_LOAD, exported["g"]["keras"]],
        capture_output=True,
        text=True,
        cwd=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "(2, 32, 32, 3)" in done.stdout  # the run's image size


@pytest.mark.slow
def test_console_script_trains_toy_and_prints_plain_progress(env):
    done = run_cli("train", "toy", "--quick", "--steps", "40", "--seed", "1")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "step 40/40" in done.stdout  # plain lines, not a progress bar, when piped
    assert "gan_lab: training 40 steps of plain GAN" in done.stdout  # the measured estimate
    assert "worker" not in done.stdout  # one process: nothing about workers
    summary = done.stdout.split("\n\n")[-1]  # the verdict sentence, not raw keys
    assert "of the 8 modes of the ring" in summary and "modes_covered" not in summary
    assert "run folder:" in summary


@pytest.mark.slow
def test_resume_continues_a_run_to_more_steps(env, capsys):
    run = train("toy", capsys=capsys)["run_dir"]
    assert cli.main(["train", "toy", "--resume", run, "--steps", "9", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["steps"] == 9 and summary["run_dir"] == run
    assert json.loads(Path(run, "history.json").read_text())["step"][-1] == 9


def test_output_dir_that_is_a_file_is_refused(env, capsys):
    file = env / "a_file"
    file.write_text("keep me")
    assert cli.main(["train", "toy", "--quick", "--output-dir", str(file)]) == 2
    assert f"--output-dir {file} is a file" in capsys.readouterr().err
    assert file.read_text() == "keep me"


def test_run_of_another_model_is_named(env, capsys, untrained_run):
    run = str(untrained_run("toy"))
    for argv in (
        ["translate", run, "--input", str(env), "--output", str(env / "o")],
        ["train", "dcgan", "--resume", run],
    ):
        assert cli.main(argv) == 2
        assert "is a toy run, but this command needs a" in capsys.readouterr().err


def test_folder_that_is_not_a_run_is_named(env, capsys):
    assert cli.main(["export", str(env)]) == 2
    assert "is not a gan_lab run folder: it has no run.json" in capsys.readouterr().err
    assert cli.main(["gif", str(env / "missing")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_translate_input_problems_are_named_and_nothing_is_written(env, capsys, untrained_run):
    run = str(untrained_run("pix2pix"))
    out = env / "out"
    empty = env / "empty"
    empty.mkdir()
    assert cli.main(["translate", run, "--input", str(empty), "--output", str(out)]) == 2
    assert "holds no image files" in capsys.readouterr().err
    images = write_images(env / "in", [(64, 64), (64, 64)])
    (images / "2.png").write_bytes(b"\x89PNG broken")
    assert cli.main(["translate", run, "--input", str(images), "--output", str(out)]) == 2
    assert "2.png cannot be read as an image" in capsys.readouterr().err
    assert not out.exists()  # every input is checked before anything is written
    (images / "2.png").unlink()
    out.write_text("a file")
    assert cli.main(["translate", run, "--input", str(images), "--output", str(out)]) == 2
    assert "is a file, not a folder" in capsys.readouterr().err


def test_resume_cannot_change_the_architecture(env, capsys, untrained_run):
    run = str(untrained_run("pix2pix"))
    assert cli.main(["train", "pix2pix", "--resume", run, "--image-size", "128"]) == 2
    assert "cannot change image_size=32 (given 128)" in capsys.readouterr().err
    assert cli.main(["train", "pix2pix", "--resume", run, "--set", "lambda_l1=10"]) == 2
    assert "cannot change lambda_l1=100.0 (given 10)" in capsys.readouterr().err


def test_checkpoint_of_another_architecture_is_refused(env, capsys, untrained_run):
    run = untrained_run("pix2pix")  # base_filters 8
    config = json.loads((run / "run.json").read_text())
    (run / "run.json").write_text(json.dumps({**config, "base_filters": 16}))  # edited by hand
    assert cli.main(["export", str(run)]) == 2
    assert "does not match the models" in capsys.readouterr().err
    assert not (run / "export").exists()


def test_image_size_must_suit_the_unet(env, capsys):
    assert cli.main(["train", "pix2pix", "--quick", "--image-size", "50"]) == 2
    assert "must be a power of 2" in capsys.readouterr().err
    assert not os.path.exists(env / "outputs" / "cli_pix2pix")
    assert cli.main(["train", "pix2pix", "--quick", "--set", "image_size=50.0"]) == 2
    assert "image_size must be an integer" in capsys.readouterr().err
