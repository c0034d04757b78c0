"""One wiring for the lessons and the command line: a run folder that a lesson writes the
way its notebook does (``recipes.build`` + ``runs.train``, in-process; lesson 2 with its
own teaching step) works with ``gan-lab gif``, ``export``, ``sample``/``translate`` and
``train --resume``. Tiny settings: a few steps of small networks on synthetic data."""

import json
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from gan_lab import cli, recipes, runs, runtime

TINY = {  # a few steps, small networks, cheap judges; float32
    "toy": {"steps": 4},
    "dcgan": {"steps": 4, "judge_epochs": 1, "eval_samples": 300},
    "pix2pix": {"steps": 3, "image_size": 32, "base_filters": 8, "max_filters": 16},
    "cyclegan": {
        "steps": 3,
        "image_size": 32,
        "base_filters": 8,
        "n_blocks": 1,
        "classifier_epochs": 1,
    },
}


def teaching_step(generator, discriminator, g_optimizer, d_optimizer):
    """A lesson's own DCGAN step, written as lesson 2 teaches it: binary cross-entropy on
    logits, both networks updated from one forward pass; batches are (images, noise)."""
    cross_entropy = keras.losses.BinaryCrossentropy(from_logits=True)

    def train_step(batch):
        images, noise = batch
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            fake = generator(noise, training=True)
            real_logits = discriminator(images, training=True)
            fake_logits = discriminator(fake, training=True)
            g_loss = cross_entropy(tf.ones_like(fake_logits), fake_logits)
            d_loss = cross_entropy(tf.ones_like(real_logits), real_logits) + cross_entropy(
                tf.zeros_like(fake_logits), fake_logits
            )
        for tape, loss, model, optimizer in [
            (g_tape, g_loss, generator, g_optimizer),
            (d_tape, d_loss, discriminator, d_optimizer),
        ]:
            grads = tape.gradient(loss, model.trainable_variables)
            optimizer.apply_gradients(zip(grads, model.trainable_variables))
        return {"d_loss": d_loss, "g_loss": g_loss}

    return train_step


def lesson_run(model: str) -> runs.RunResult:
    """A run as the lesson notebook makes it (parameters cell, setup, build, train)."""
    CHANGES = {"precision": "float32", "frames": 2, **TINY[model]}
    S = recipes.defaults(model, runtime.choose_quick(True), **CHANGES)
    runtime.setup(S)
    experiment = recipes.build(S)
    if model == "dcgan":
        nets, opts = experiment.networks, experiment.optimizers
        experiment = experiment.with_train_step(
            teaching_step(
                nets["generator"], nets["discriminator"], opts["generator"], opts["discriminator"]
            )
        )
    assert "resuming" not in runs.plan(experiment)
    return runs.train(experiment, progress=False)


def write_images(folder: Path, n: int = 2) -> Path:
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(n):
        Image.fromarray(rng.integers(0, 255, (40, 48, 3), dtype=np.uint8)).save(folder / f"{i}.png")
    return folder


@pytest.mark.slow
@pytest.mark.parametrize("model", ["toy", "dcgan", "pix2pix", "cyclegan"])
def test_a_lessons_run_folder_works_with_every_command(model, tmp_path, capsys):
    result = lesson_run(model)
    run = result.run_dir
    steps = TINY[model]["steps"]
    assert result.history["step"][-1] == steps
    heads = ("Training worked", "Training partly worked", "Training did not work", "Not ", "Beats ")
    assert result.summary["steps"] == steps and result.summary["verdict"].startswith(heads)
    assert json.loads((run / "summary.json").read_text()) == json.loads(json.dumps(result.summary))
    frames = sorted((run / "frames").glob("step_*.png"))
    assert frames[0].name == "step_000000.png" and frames[-1].name == f"step_{steps:06d}.png"
    assert Image.open(result.gif).n_frames == len(frames)
    capsys.readouterr()

    gif = tmp_path / "again.gif"
    assert cli.main(["gif", str(run), "--output", str(gif)]) == 0
    assert Image.open(gif).n_frames == len(frames)
    capsys.readouterr()

    assert cli.main(["export", str(run)]) == 0
    exported = json.loads(capsys.readouterr().out)["exported"]
    assert set(exported) == set(recipes.GENERATORS[model])

    if model in ("toy", "dcgan"):
        assert cli.main(["sample", str(run), "-n", "3"]) == 0
        written = json.loads(capsys.readouterr().out)
        assert Path(written["output"]).is_dir()
    else:
        out = tmp_path / "translated"
        images = write_images(tmp_path / "in")
        assert cli.main(["translate", str(run), "--input", str(images), "--output", str(out)]) == 0
        assert sorted(Image.open(p).size for p in out.glob("*.png")) == [(48, 40)] * 2
        capsys.readouterr()

    argv = ["train", model, "--resume", str(run), "--steps", str(steps + 2), "--json"]
    assert cli.main(argv) == 0  # gan_lab's step continues the lesson's checkpoint
    resumed = json.loads(capsys.readouterr().out)
    assert resumed["steps"] == steps + 2 and resumed["run_dir"] == str(run)
    assert json.loads((run / "run.json").read_text())["steps"] == steps + 2
    history = json.loads((run / "history.json").read_text())
    assert history["step"][-1] == steps + 2 and set(history) >= {"step", "d_loss", "g_loss"}


def test_a_lessons_own_step_keeps_the_checkpoint_names():
    S = recipes.defaults("toy", True, precision="float32", steps=2)
    experiment = recipes.build(S)
    mine = experiment.with_train_step(lambda batch: {"d_loss": 0.0, "g_loss": 0.0})
    assert mine.trackables.keys() == experiment.trackables.keys()
    assert mine.train_step is not experiment.train_step
    assert set(experiment.trackables) == {
        "generator",
        "discriminator",
        "generator_optimizer",
        "discriminator_optimizer",
        "noise_rng",
    }
    with pytest.raises(AttributeError):  # built complete, never patched field by field
        experiment.train_step = mine.train_step


def test_a_run_folder_is_resumed_only_with_its_own_settings(tmp_path, untrained_run):
    run = untrained_run("toy")
    settings = runs.read_run(run)
    runs.check_resumable(run, {**settings, "steps": 99, "precision": "mixed_bfloat16"})
    with pytest.raises(Exception, match="cannot change learning_rate=0.0001 \\(given 0.001\\)"):
        runs.check_resumable(run, {**settings, "learning_rate": 1e-3})


def test_settings_live_in_recipes_defaults_only():
    for model in recipes.MODELS:
        for quick in (True, False):
            with pytest.raises(Exception, match="has no setting nope"):
                recipes.defaults(model, quick, nope=1)
    with pytest.raises(Exception, match="lack"):  # build takes complete settings
        recipes.build({"model": "toy", "quick": True})


def test_cadences_checkpoint_at_least_every_thousand_steps():
    assert runs.cadences(300, 10) == {"sample_every": 30, "log_every": 15, "checkpoint_every": 30}
    assert runs.cadences(200_000, 20)["checkpoint_every"] == 1000
    assert runs.cadences(3, 20) == {"sample_every": 1, "log_every": 1, "checkpoint_every": 1}
    assert runs.cadences(500, 10, checkpoint_every=7)["checkpoint_every"] == 7
