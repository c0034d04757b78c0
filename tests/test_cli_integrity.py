"""What the command line promises beyond the happy path: an export reproduces what was
trained, errors say whose fault they are, and quick mode travels in the run's settings.

Run folders are written by hand (run.json plus a checkpoint of untrained models), so no
test here trains only to get a file."""

import contextlib
import dataclasses
import gzip
import io
import json

import numpy as np
import pytest
from conftest import SMALL, write_run

from gan_lab import cli, recipes, runs


def hand_written_run(tmp_path, model: str, quick: bool = True, **changes):
    """A run folder of small untrained models at step 0, and its settings (what building
    it prints is kept out of the commands' output)."""
    with contextlib.redirect_stdout(io.StringIO()):
        run_dir = write_run(tmp_path, model, quick, **{**SMALL[model], **changes})
    return run_dir, runs.read_run(run_dir)


@pytest.mark.slow
@pytest.mark.parametrize("model", ["dcgan", "pix2pix", "cyclegan"])
def test_export_is_compared_with_the_generator_restored_from_the_checkpoint(
    model, tmp_path, capsys
):
    run_dir, config = hand_written_run(tmp_path, model)
    assert cli.main(["export", str(run_dir)]) == 0
    exported = json.loads(capsys.readouterr().out)["exported"]
    assert set(exported) == set(recipes.GENERATORS[config["model"]])
    for entry in exported.values():
        assert 0.0 <= entry["max_error_vs_checkpoint"] <= recipes.EXPORT_TOLERANCE


@pytest.mark.slow
def test_export_notices_a_bad_rebuild(tmp_path, monkeypatch):
    # a rebuild that loses one weight: comparing it only with its own reload would pass
    run_dir, _ = hand_written_run(tmp_path, "cyclegan")
    rebuild = recipes.portable

    def bad_portable(config, generator):
        copy = rebuild(config, generator)
        weights = copy.get_weights()
        weights[0] = np.zeros_like(weights[0])
        copy.set_weights(weights)
        return copy

    monkeypatch.setattr(recipes, "portable", bad_portable)
    with pytest.raises(RuntimeError, match="does not reproduce the trained"):
        cli.main(["export", str(run_dir)])


def test_a_bug_keeps_its_traceback_instead_of_passing_for_bad_input(tmp_path, monkeypatch):
    run_dir, _ = hand_written_run(tmp_path, "dcgan")

    def broken(*args, **kwargs):  # e.g. a Keras shape error deep inside gan_lab
        raise ValueError("Input 0 of layer 'dense' is incompatible with the layer")

    monkeypatch.setattr(recipes, "networks", broken)
    with pytest.raises(ValueError, match="incompatible with the layer"):
        cli.main(["export", str(run_dir)])


def test_a_damaged_checkpoint_is_not_called_another_architecture(tmp_path, capsys):
    run_dir, _ = hand_written_run(tmp_path, "dcgan")
    (data_file,) = (run_dir / "checkpoints").glob("step_*/ckpt.data-*")
    data_file.write_bytes(data_file.read_bytes()[:100])  # torn
    assert cli.main(["export", str(run_dir)]) == 2
    err = capsys.readouterr().err
    assert "is damaged or incomplete" in err and "another architecture" not in err
    assert data_file.stat().st_size == 100  # nothing rewritten


def test_divergence_stops_with_one_line_and_exit_code_1(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GAN_LAB_OUTPUT_DIR", str(tmp_path / "out"))
    build = recipes.build

    def diverging(config):
        return build(config).with_train_step(lambda batch: {"d_loss": np.float32("nan")})

    monkeypatch.setattr(recipes, "build", diverging)
    assert cli.main(["train", "toy", "--quick", "--steps", "3", "--json"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert "nan" in err[-1] and "Traceback" not in "\n".join(err)


def _idx(path, array):
    header = bytes([0, 0, 8, array.ndim]) + b"".join(n.to_bytes(4, "big") for n in array.shape)
    path.write_bytes(gzip.compress(header + array.astype(np.uint8).tobytes()))


@pytest.mark.slow
def test_resuming_a_full_mode_run_in_a_quick_shell_stays_on_real_data(
    tmp_path, monkeypatch, capsys
):
    # "real" MNIST placed by hand: 128 digit-like images in the idx format
    mnist = tmp_path / "mnist_data" / "mnist"
    mnist.mkdir(parents=True)
    rng = np.random.default_rng(0)
    _idx(mnist / "train-images-idx3-ubyte.gz", rng.integers(0, 255, (128, 28, 28)))
    _idx(mnist / "train-labels-idx1-ubyte.gz", np.arange(128) % 10)
    run_dir, _ = hand_written_run(
        tmp_path, "dcgan", quick=False, data_dir=str(mnist.parent), batch_size=64
    )
    build = recipes.build

    def unscored(config):  # the score is not the point here
        return dataclasses.replace(build(config), evaluate=dict)

    monkeypatch.setattr(recipes, "build", unscored)
    monkeypatch.setenv("GAN_LAB_QUICK", "1")  # the shell of another lesson
    assert cli.main(["train", "dcgan", "--resume", str(run_dir), "--steps", "2", "--json"]) == 0
    resumed = json.loads(capsys.readouterr().out)
    assert resumed["steps"] == 2
    assert resumed["synthetic_data"] is False, "the resumed full-mode run trained on synthetic data"
    assert json.loads((run_dir / "run.json").read_text())["quick"] is False


def test_restoring_generators_leaves_the_global_precision_alone(tmp_path):
    import keras

    run_dir, _ = hand_written_run(tmp_path, "dcgan")
    keras.mixed_precision.set_global_policy("mixed_bfloat16")  # a lesson's, say
    generators = runs.restore_generators(run_dir, runs.read_run(run_dir))
    assert keras.mixed_precision.global_policy().name == "mixed_bfloat16"
    assert generators["generator"].dtype_policy.name == "float32"  # built in float32
