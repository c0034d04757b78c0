"""Behavioural tests: short seeded toy runs through the real Trainer."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from gan_lab import data, metrics, models, runtime, steps, training


def run_toy_1d(tmp_path, g_learning_rate=1e-3, n_steps=600):
    runtime.seed_everything(0)
    g = models.build_mlp(8, 1, hidden=(32, 32))
    d = models.build_mlp(1, 1, hidden=(32, 32))
    g_opt = keras.optimizers.Adam(g_learning_rate, beta_1=0.5)
    d_opt = keras.optimizers.Adam(1e-3, beta_1=0.5)
    held_out = data.sample_toy("gaussian", 4000, seed=1)
    noise = tf.random.normal([4000, 8], seed=2)

    def distance():
        fake = g(noise, training=False).numpy()
        return metrics.wasserstein_1d(fake, held_out)

    before = distance()
    parts = {"g": g, "d": d, "g_opt": g_opt, "d_opt": d_opt}
    trainer = training.Trainer(
        steps.make_gan_step(g, d, g_opt, d_opt),
        tmp_path / "run",
        parts,
        sample_every=n_steps,
        log_every=n_steps,
        checkpoint_every=n_steps,
    )
    trainer.fit(data.toy_dataset("gaussian", batch_size=256, seed=0), steps=n_steps, progress=False)
    return before, distance()


@pytest.mark.slow
def test_short_1d_run_moves_generator_onto_the_data(tmp_path):
    before, after = run_toy_1d(tmp_path)
    assert before > 2.0  # the untrained generator sits near 0, the data near 3
    assert after < 0.35 * before


@pytest.mark.slow
def test_frozen_generator_does_not_learn(tmp_path):
    # The same run with the generator's learning rate at 0: if the first test passed
    # without the generator being updated, this one would show no difference.
    before, after = run_toy_1d(tmp_path, g_learning_rate=0.0, n_steps=200)
    # Exact by construction: Adam with lr 0 subtracts 0 * (a finite step) = 0, so the
    # weights, and the same noise through them, stay bit for bit the same.
    assert after == before


def test_wgan_gp_step_updates_both_and_reports_finite_values():
    runtime.seed_everything(0)
    g, c = models.build_mlp(4, 2, hidden=(16,)), models.build_mlp(2, 1, hidden=(16,))
    g_opt, c_opt = keras.optimizers.Adam(1e-3), keras.optimizers.Adam(1e-3)
    step = tf.function(steps.make_wgan_gp_step(g, c, g_opt, c_opt, gp_weight=10.0, n_critic=3))
    g_before = [w.numpy().copy() for w in g.weights]
    batches = data.toy_dataset("ring", n=600, batch_size=64, batches_per_step=3)
    logs = step(next(iter(batches)))  # (64, 3, 2): one real batch per critic update
    assert set(logs) == {"d_loss", "g_loss", "d_gp", "w_estimate"}
    assert all(np.isfinite(float(v)) for v in logs.values())
    assert int(c_opt.iterations) == 3 and int(g_opt.iterations) == 1
    # Adam's first step moves entries by ~lr = 1e-3 >> allclose's 1e-5 |w| + 1e-8.
    assert all(not np.allclose(a, w.numpy()) for a, w in zip(g_before, g.weights))
    with pytest.raises(ValueError, match="n_critic=0"):
        steps.make_wgan_gp_step(g, c, g_opt, c_opt, gp_weight=10.0, n_critic=0)
