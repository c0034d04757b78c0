"""Lesson 1 (GAN intuition): the alternating step, the ring recipes and the notebook's settings."""

import ast
import json
import re
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from gan_lab import data, losses, models, recipes, runtime, steps

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "01_gan_intuition.ipynb"


def tiny_gan(seed=0):
    runtime.seed_everything(seed)
    return models.build_mlp(3, 1, hidden=(8,)), models.build_mlp(1, 1, hidden=(8,))


def flat(variables):
    return np.concatenate([np.ravel(v.numpy()) for v in variables])


def sgd_update(model, loss_fn, lr):
    """Weights of ``model`` after one plain gradient-descent step on ``loss_fn()``."""
    with tf.GradientTape() as tape:
        loss = loss_fn()
    grads = tape.gradient(loss, model.trainable_variables)
    return [w.numpy() - lr * g.numpy() for w, g in zip(model.trainable_variables, grads)]


def test_alternating_step_updates_d_then_g_against_the_updated_d():
    lr = 0.5  # plain SGD, so each update is exactly lr * gradient
    g, d = tiny_gan()
    real = tf.constant([[3.0], [2.5], [3.5], [2.0]])
    z_d, z_g = tf.random.normal([4, 3], seed=1), tf.random.normal([4, 3], seed=2)
    g0, d0 = [w.numpy() for w in g.trainable_variables], [w.numpy() for w in d.trainable_variables]

    # By hand: D's step on (real, G(z_d)); then G's step through the *updated* D on z_g.
    fake = g(z_d, training=True)
    d1 = sgd_update(d, lambda: losses.discriminator_loss(d(real), d(fake)), lr)
    for w, v in zip(d.trainable_variables, d1):
        w.assign(v)
    g1 = sgd_update(g, lambda: losses.generator_loss(d(g(z_g))), lr)
    for w, v in zip(d.trainable_variables, d0):  # G's step against the *old* D, to compare
        w.assign(v)
    g1_old_d = sgd_update(g, lambda: losses.generator_loss(d(g(z_g))), lr)

    step = steps.make_alternating_gan_step(g, d, keras.optimizers.SGD(lr), keras.optimizers.SGD(lr))
    logs = step((real, z_d, z_g))
    np.testing.assert_allclose(
        flat(d.trainable_variables), np.concatenate([np.ravel(v) for v in d1]), rtol=1e-5, atol=1e-6
    )
    g_after = flat(g.trainable_variables)
    np.testing.assert_allclose(
        g_after, np.concatenate([np.ravel(v) for v in g1]), rtol=1e-5, atol=1e-6
    )
    # The test can tell the two apart: against the old D, G would have moved elsewhere.
    assert np.abs(g_after - np.concatenate([np.ravel(v) for v in g1_old_d])).max() > 1e-4
    assert not np.allclose(g_after, np.concatenate([np.ravel(v) for v in g0]))
    assert set(logs) == {"d_loss", "g_loss", "d_real", "d_fake"}


def test_simultaneous_step_takes_g_gradient_through_the_old_d():
    # The contrast the lesson draws: make_gan_step's G update sees D before its update.
    lr = 0.5
    g, d = tiny_gan()
    real, z = tf.constant([[3.0], [2.5], [3.5], [2.0]]), tf.random.normal([4, 3], seed=1)
    g1_old_d = sgd_update(g, lambda: losses.generator_loss(d(g(z))), lr)
    steps.make_gan_step(g, d, keras.optimizers.SGD(lr), keras.optimizers.SGD(lr))((real, z))
    np.testing.assert_allclose(
        flat(g.trainable_variables),
        np.concatenate([np.ravel(v) for v in g1_old_d]),
        rtol=1e-5,
        atol=1e-6,
    )


def test_alternating_step_takes_k_d_steps_per_g_step_and_checks_k():
    g, d = tiny_gan()
    g_opt, d_opt = keras.optimizers.Adam(1e-3), keras.optimizers.Adam(1e-3)
    step = steps.make_alternating_gan_step(g, d, g_opt, d_opt, d_steps=3)
    logs = step(tf.constant(data.sample_toy("gaussian", 16)))
    assert int(d_opt.iterations) == 3 and int(g_opt.iterations) == 1
    assert all(np.isfinite(float(v)) for v in logs.values())
    with pytest.raises(ValueError, match="d_steps=0"):
        steps.make_alternating_gan_step(g, d, g_opt, d_opt, d_steps=0)


# ------------------------------------------------------------------ the notebook's settings


def notebook_code():
    cells = json.loads(NOTEBOOK.read_text())["cells"]
    return ["".join(c["source"]) for c in cells if c["cell_type"] == "code"], cells


def test_notebook_reads_only_settings_that_recipes_defines():
    sources, _ = notebook_code()
    used = set(re.findall(r"""S\[["'](\w+)["']\]""", "\n".join(sources)))
    assert used, "the notebook reads its settings from S"
    for quick in (True, False):
        missing = used - set(recipes.defaults("toy", quick))
        assert not missing, f"notebook reads S[...] keys recipes.defaults lacks: {missing}"


def test_notebook_parameters_cell_is_the_one_switch():
    sources, cells = notebook_code()
    (params,) = [
        "".join(c["source"]) for c in cells if "parameters" in c.get("metadata", {}).get("tags", [])
    ]
    assigned = {t.id for node in ast.parse(params).body for t in node.targets}
    assert assigned == {"QUICK", "PRECISION", "CHANGES"}
    rest = "\n".join(s for s in sources if s != params)
    assert 'recipes.defaults("toy", QUICK' in rest
    assert "GAN_LAB_QUICK" not in rest and "is_quick" not in rest


def test_quick_ring_budget_is_shorter_and_full_mode_repeats_over_seeds():
    quick, full = recipes.defaults("toy", True), recipes.defaults("toy", False)
    assert len(quick["ring_seeds"]) == 1 and len(full["ring_seeds"]) == 3
    assert quick["steps"] < full["steps"]
    # WGAN-GP uses Algorithm 1 of Gulrajani et al.: Adam(1e-4, 0, 0.9), lambda 10, n_critic 5.
    assert (full["learning_rate"], full["wgan_beta_1"], full["wgan_beta_2"]) == (1e-4, 0.0, 0.9)
    assert (full["gp_weight"], full["n_critic"]) == (10.0, 5)
    assert full["fast_d_learning_rate"] == 10 * full["learning_rate"]


# ------------------------------------------------------------------ the ring contenders


@pytest.mark.parametrize("method", list(recipes.TOY_METHODS))
def test_each_ring_contender_builds_steps_and_scores(method):
    config = recipes.defaults("toy", True, method=method, precision="float32")
    runtime.seed_everything(0)
    experiment = recipes.build(config, with_data=False)
    g_opt, d_opt = experiment.trackables["g_optimizer"], experiment.trackables["d_optimizer"]
    expected_d_lr = {"gan": 1e-4, "gan_fast_d": 1e-3, "wgan_gp": 1e-4}[method]
    assert float(d_opt.learning_rate) == pytest.approx(expected_d_lr)
    assert float(g_opt.learning_rate) == pytest.approx(1e-4)
    assert float(d_opt.beta_1) == (0.0 if method == "wgan_gp" else 0.5)
    before = flat(experiment.generators["generator"].trainable_variables)
    logs = experiment.step(tf.constant(data.sample_toy("ring", 32)))
    assert all(np.isfinite(float(v)) for v in logs.values())
    assert not np.allclose(before, flat(experiment.generators["generator"].trainable_variables))
    score = experiment.evaluate()
    assert set(score) == {"modes_covered", "of_modes", "high_quality"} and score["of_modes"] == 8


def test_unknown_ring_method_is_refused():
    with pytest.raises(ValueError, match="method must be one of"):
        recipes.build(recipes.defaults("toy", True, method="lsgan"), with_data=False)


def test_run_json_of_an_older_version_still_builds():
    old = {
        "model": "toy",
        "quick": True,
        "seed": 0,
        "steps": 40,
        "batch_size": 256,
        "latent_dim": 2,
    }
    experiment = recipes.build(old, with_data=False)
    assert experiment.generators["generator"].input_shape[-1] == 2


def perfect_generator(center):
    """A 'generator' that maps every noise vector exactly onto ``center``."""
    inputs = keras.Input((2,))
    dense = keras.layers.Dense(2, kernel_initializer="zeros", bias_initializer="zeros")
    model = keras.Model(inputs, dense(inputs))
    dense.bias.assign(center)
    return model


def test_ring_coverage_counts_one_mode_and_ignores_earlier_random_draws():
    g = perfect_generator(data.ring_centers()[3])
    first = recipes.ring_coverage(g, seed=0)
    assert first["modes"] == 1 and first["high_quality"] == 1.0
    assert first["per_mode"].tolist() == [0, 0, 0, recipes.RING_SAMPLES, 0, 0, 0, 0]
    tf.random.normal([7])  # whatever TensorFlow drew before, the judged noise is the same
    runtime.seed_everything(5)
    g2 = models.build_mlp(2, 2, hidden=(4,))
    a, b = (
        recipes.ring_coverage(g2, seed=1),
        (tf.random.uniform([3]), recipes.ring_coverage(g2, seed=1))[1],
    )
    np.testing.assert_array_equal(a["samples"], b["samples"])
