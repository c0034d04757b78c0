"""Lesson 2 (DCGAN): the networks and the train step the lesson writes out are gan_lab's,
its step trains and resumes through the course's wiring, and its settings are the ones it
cites. (The judge is tested in test_judges.py, its scores in test_metrics.py.)"""

import json
from pathlib import Path
from types import SimpleNamespace

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


class _FixedNoise:
    """TensorFlow, except that ``random.normal`` returns ``noise``."""

    def __init__(self, noise):
        self.random = SimpleNamespace(normal=lambda shape, **kwargs: noise)

    def __getattr__(self, name):
        return getattr(tf, name)


@pytest.mark.slow
def test_the_keras_model_form_makes_the_same_update_under_fit():
    lesson = lesson_code("losses", "step", "keras-model")
    S = lesson["S"]
    batch = _batch(S)
    mine = _copy(S)
    before = _weights(mine)
    lesson["tf"] = _FixedNoise(batch[1])  # the noise its train_step draws: the batch's
    gan = lesson["DCGAN"](*mine[:2])
    gan.compile(*mine[2:])
    gan.fit(tf.data.Dataset.from_tensors(batch[0]), epochs=1, shuffle=False, verbose=0)
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


# --------------------------------------------------------------------------- conditional DCGAN


def test_conditional_batches_carry_labels_and_the_unconditional_ones_do_not():
    images, labels = data.synthetic_digits(16, seed=0)
    plain = next(iter(data.to_dataset(images, 8, seed=0, noise_dim=4)))
    real, noise, asked = next(iter(data.to_dataset(images, 8, seed=0, noise_dim=4, labels=labels)))
    assert len(plain) == 2
    assert (real.shape, noise.shape, asked.shape) == ((8, 28, 28, 1), (8, 4), (8,))
    np.testing.assert_array_equal(plain[0], real)  # the same images and noise, plus labels
    np.testing.assert_array_equal(plain[1], noise)
    # each label belongs to its image
    for image, label in zip(real.numpy(), asked.numpy()):
        row = np.flatnonzero((data.normalize(images) == image).all(axis=(1, 2, 3)))[0]
        assert labels[row] == label


def test_the_conditional_networks_take_the_label_as_extra_inputs():
    g = models.build_dcgan_generator(num_classes=10)
    d = models.build_dcgan_discriminator(num_classes=10)
    assert (g.count_params(), d.count_params()) == (2_456_384, 228_865)
    z, one_hot = tf.random.normal([3, 100], seed=0), tf.one_hot([0, 4, 9], 10)
    images = g([z, one_hot], training=False)
    assert images.shape == (3, 28, 28, 1) and d([images, one_hot]).shape == (3, 1)
    # the label changes the digit drawn from the same noise
    assert float(tf.reduce_max(tf.abs(images - g([z, tf.one_hot([1, 1, 1], 10)])))) > 1e-3


@pytest.mark.slow  # trains and evaluates through runs.train, twice
def test_conditional_dcgan_trains_and_resumes_through_the_wiring(tmp_path):
    config = recipes.defaults(
        "dcgan",
        True,
        precision="float32",
        conditional=True,
        steps=2,
        frames=1,
        judge_epochs=1,
        eval_samples=300,
    )
    first = runs.train(recipes.build(config), tmp_path / "run", progress=False)
    assert first.summary["title"].startswith("Conditional DCGAN")
    metric = first.summary["metric"]
    assert len(metric["asked_digit_accuracy_per_class"]) == 10
    assert metric["asked_digit_chance"] == 0.1 and 0 <= metric["asked_digit_accuracy"] <= 1
    assert "asked for" in first.summary["verdict"] and "chance 10%" in first.summary["verdict"]
    resumed = runs.train(
        recipes.build({**config, "steps": 4}), first.run_dir, progress=False, evaluate=False
    )
    assert resumed.summary["steps"] == 4
    assert runs.read_run(first.run_dir)["conditional"] is True
    generator = runs.restore_generators(first.run_dir, config)["generator"]
    assert len(generator.inputs) == 2


class _FakeJudge:
    """Reads an image's digit from its mean pixel: mean k/10 (in [0, 1]) -> digit k."""

    def __call__(self, images, training=False):
        mean = (np.asarray(images).mean(axis=(1, 2, 3)) + 1) / 2
        return np.eye(10)[np.clip(np.round(mean * 10).astype(int), 0, 9)]


def test_asked_digit_accuracy_on_a_hand_made_case():
    from gan_lab import metrics

    asked = np.arange(20) % 10
    drawn = asked.copy()
    drawn[[3, 13]] = 5  # both 3s come out as 5s
    drawn[7] = 0  # one 7 comes out as a 0
    images = np.stack([np.full((28, 28, 1), k / 10 * 2 - 1, np.float32) for k in drawn])
    result = metrics.asked_digit_accuracy(_FakeJudge(), images, asked)
    assert result["asked_digit_accuracy"] == pytest.approx(17 / 20)
    expected = [1.0, 1.0, 1.0, 0.0, 1.0, 1.0, 1.0, 0.5, 1.0, 1.0]
    assert result["asked_digit_accuracy_per_class"] == expected
    assert result["asked_digit_chance"] == 0.1
    with pytest.raises(ValueError, match="one asked class per image"):
        metrics.asked_digit_accuracy(_FakeJudge(), images, asked[:5])


def test_the_test_split_setting_trains_on_all_test_digits_and_judges_on_disjoint_halves(tmp_path):
    from test_data import fake_mnist_idx

    x, y = fake_mnist_idx(tmp_path / "mnist", n=101)  # placed t10k files only: no training split
    config = recipes.defaults("dcgan", False, data_dir=str(tmp_path), mnist_split="test")
    digits = recipes.dcgan_digits(config)
    np.testing.assert_array_equal(digits.images[..., 0], x)  # the GAN's: all of them
    judge_train, judge_test = recipes.dcgan_judge_digits(config, digits)
    assert (len(judge_train.images), len(judge_test.images)) == (50, 51)
    rows = {
        name: {x.tobytes().find(image.tobytes()) // (28 * 28) for image in half.images}
        for name, half in (("train", judge_train), ("test", judge_test))
    }
    assert not rows["train"] & rows["test"] and rows["train"] | rows["test"] == set(range(101))
    for half in (judge_train, judge_test):  # each image keeps its label
        for image, label in zip(half.images, half.labels):
            assert y[x.tobytes().find(image.tobytes()) // (28 * 28)] == label
    assert "judge's training half" in judge_train.source


def test_the_test_split_is_named_in_the_title(tmp_path):
    from test_data import fake_mnist_idx

    fake_mnist_idx(tmp_path / "mnist", n=128)
    config = recipes.defaults("dcgan", False, data_dir=str(tmp_path), mnist_split="test")
    title = recipes.build(config).title
    assert title == (
        "DCGAN on the 128 MNIST test digits (no training split here; judge trained and "
        "scored on disjoint halves)"
    )


def test_an_unknown_mnist_split_is_a_usage_error():
    from gan_lab import errors

    for quick in (True, False):
        config = recipes.defaults("dcgan", quick, mnist_split="validation")
        with pytest.raises(errors.UsageError, match="mnist_split must be one of train, test"):
            recipes.build(config)


def test_gan_lab_sample_draws_a_column_per_digit_from_a_conditional_run(untrained_run, capsys):
    from gan_lab import cli

    run = untrained_run("dcgan", conditional=True)
    assert cli.main(["sample", str(run), "-n", "12"]) == 0
    assert len(list((run / "samples").glob("sample_*.png"))) == 12
    assert "i % 10" in capsys.readouterr().out
    assert cli.main(["export", str(run)]) == 2  # two inputs: a clear refusal, not a crash
    assert "conditional DCGAN" in capsys.readouterr().err
