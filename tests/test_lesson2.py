"""Lesson 2 (DCGAN): the networks and the train step the lesson writes out are gan_lab's,
its step trains and resumes through the course's wiring, and its settings are the ones it
cites. (The judge is tested in test_judges.py, its scores in test_metrics.py.)"""

import json
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from gan_lab import data, models, recipes, runs, steps

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "02_dcgan_mnist.ipynb"


def lesson_code(*cell_ids: str) -> dict:
    """Run the lesson's code cells ``cell_ids`` (by cell id) in a namespace holding its
    imports and quick-mode settings ``S``; return the namespace."""
    cells = {c["id"]: "".join(c["source"]) for c in json.loads(NOTEBOOK.read_text())["cells"]}
    namespace = {"keras": keras, "layers": keras.layers, "tf": tf, "np": np, "viz": None}
    namespace["S"] = recipes.defaults("dcgan", True, precision="float32")
    for cell_id in cell_ids:
        exec(cells[cell_id], namespace)
    return namespace


def _layers(model: keras.Model) -> list:
    """Each layer's type, output shape, parameter count and settings (all but its name)."""
    return [
        (
            type(layer).__name__,
            tuple(layer.output.shape),
            layer.count_params(),
            {k: v for k, v in layer.get_config().items() if k != "name"},
        )
        for layer in model.layers
        if not isinstance(layer, keras.layers.InputLayer)
    ]


def test_the_written_out_networks_are_gan_labs():
    lesson = lesson_code("generator", "discriminator")
    written_g, written_d = lesson["written_g"], lesson["written_d"]
    g, d = models.build_dcgan_generator(latent_dim=100), models.build_dcgan_discriminator()
    assert _layers(written_g) == _layers(g)
    assert _layers(written_d) == _layers(d)
    assert (g.count_params(), d.count_params()) == (2_330_944, 212_865)  # the TF tutorial's
    # Same layers and weights, so the same outputs up to the order of float32 additions
    # (the bound derived for a rebuilt generator).
    written_g.set_weights(g.get_weights())
    written_d.set_weights(d.get_weights())
    z = tf.random.normal([8, 100], seed=1)
    images = g(z, training=False)
    np.testing.assert_allclose(written_g(z, training=False), images, atol=recipes.EXPORT_TOLERANCE)
    np.testing.assert_allclose(
        written_d(images, training=False), d(images, training=False), atol=recipes.EXPORT_TOLERANCE
    )


def _copy(config: dict) -> tuple:
    """A DCGAN with its two optimizers, identical on every call: the same initial weights
    and the same dropout seeds."""
    keras.utils.set_random_seed(config["seed"])
    adam = [
        keras.optimizers.Adam(config["learning_rate"], beta_1=config["beta_1"]) for _ in range(2)
    ]
    g = models.build_dcgan_generator(latent_dim=config["latent_dim"])
    return g, models.build_dcgan_discriminator(), *adam


def _weights(networks: tuple) -> list[np.ndarray]:
    return [w.numpy() for w in networks[0].weights + networks[1].weights]


def _batch(config: dict, size: int = 16) -> tuple:
    """A batch as gan_lab's DCGAN data gives it: ``(images in [-1, 1], noise)``."""
    images = data.normalize(data.synthetic_digits(size, seed=0)[0])
    noise = tf.random.normal([size, config["latent_dim"]], seed=0)
    return tf.constant(images), noise


def _assert_same_update(mine: tuple, theirs: tuple, before: list, lr: float) -> None:
    # Both sides run the same operations on the same inputs and can differ only by the
    # order of float32 additions (summing over threads). Adam's first update is
    # lr * g / (|g| + eps / sqrt(1 - beta_2)): at most lr in size, and at most
    # lr * sqrt(1 - beta_2) / eps = 63x as sensitive as the gradient g itself (worst case,
    # g = 0), so a round-off of 1e-8 in a gradient moves a weight by < 1e-6, while an
    # update that differs in substance moves it by about lr. atol = lr / 100 separates them.
    after = _weights(mine)
    assert max(np.abs(a - b).max() for a, b in zip(after, before)) > lr / 2, "nothing moved"
    for a, b in zip(after, _weights(theirs)):
        np.testing.assert_allclose(a, b, atol=lr / 100)


def test_the_written_out_train_step_makes_gan_labs_update():
    lesson = lesson_code("losses", "step")
    S = lesson["S"]
    batch = _batch(S)
    mine = _copy(S)
    before = _weights(mine)
    logs = lesson["make_train_step"](*mine)(batch)
    theirs = _copy(S)
    expected = steps.make_gan_step(*theirs)(batch)
    assert logs.keys() == expected.keys()  # the same log keys, so the same plots
    for key in expected:
        # Means over 16 float32 terms: they move by at most ~16 * 2**-24 = 1e-6 of their
        # size if the summation order changes.
        np.testing.assert_allclose(float(logs[key]), float(expected[key]), rtol=1e-5)
    _assert_same_update(mine, theirs, before, S["learning_rate"])


@pytest.mark.slow
def test_the_keras_model_form_makes_the_same_update_under_fit():
    lesson = lesson_code("losses", "step", "keras-model")
    S = lesson["S"]
    batch = _batch(S)
    mine = _copy(S)
    before = _weights(mine)
    gan = lesson["DCGAN"](*mine[:2])
    gan.compile(*mine[2:])
    gan.fit(tf.data.Dataset.from_tensors(batch), epochs=1, shuffle=False, verbose=0)
    theirs = _copy(S)
    steps.make_gan_step(*theirs)(batch)
    _assert_same_update(mine, theirs, before, S["learning_rate"])


@pytest.mark.slow
def test_the_lessons_step_trains_and_resumes_through_the_wiring(tmp_path):
    lesson = lesson_code("losses", "step")
    config = recipes.defaults("dcgan", True, precision="float32", steps=2, frames=1)

    def train(steps, run_dir=None):
        experiment = recipes.build({**config, "steps": steps})
        nets, opts = experiment.networks, experiment.optimizers
        step = lesson["make_train_step"](
            nets["generator"], nets["discriminator"], opts["generator"], opts["discriminator"]
        )
        return runs.train(experiment.with_train_step(step), run_dir, evaluate=False)

    first = train(2)
    assert {"d_loss", "g_loss", "d_real", "d_fake"} <= set(first.history)
    assert first.gif is not None and first.gif.is_file()
    resumed = train(4, first.run_dir)
    assert resumed.run_dir == first.run_dir and resumed.summary["steps"] == 4
    assert runs.read_run(first.run_dir)["model"] == "dcgan"


def test_dcgan_trains_with_the_settings_the_lesson_cites():
    for quick in (True, False):
        s = recipes.defaults("dcgan", quick)
        # The DCGAN paper's Adam (Radford et al. 2015, section 4); the lesson's table
        # gives batch 64 as the course's own choice.
        assert (s["learning_rate"], s["beta_1"], s["beta_2"]) == (2e-4, 0.5, 0.999)
        assert s["batch_size"] == 64 and s["latent_dim"] == 100
    assert recipes.defaults("dcgan", True)["steps"] == 300  # the lesson's overview says so
