"""Train steps: each updates its networks with finite losses, reads the batch size from the
batch, and reports the shared log keys."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from gan_lab import models, steps


@pytest.mark.parametrize("compiled", [True, False])
def test_one_step_updates_both_networks_with_finite_losses(compiled, tiny_gan, tiny_batches):
    step, parts = tiny_gan()
    fn = tf.function(step) if compiled else step
    g_before = [w.numpy().copy() for w in parts["generator"].trainable_weights]
    d_before = [w.numpy().copy() for w in parts["discriminator"].trainable_weights]
    logs = fn(next(iter(tiny_batches())))
    assert set(logs) == {"d_loss", "g_loss", "d_real", "d_fake"}
    assert all(np.isfinite(float(v)) for v in logs.values())
    # Adam's first step moves every entry with a gradient by ~lr = 1e-3, far above
    # allclose's tolerance (1e-5 |w| + 1e-8): "not allclose" means the step ran.
    for before, w in zip(g_before, parts["generator"].trainable_weights):
        assert not np.allclose(before, w.numpy())
    for before, w in zip(d_before, parts["discriminator"].trainable_weights):
        assert not np.allclose(before, w.numpy())


def test_step_takes_batch_size_from_the_batch(tiny_gan):
    step, _ = tiny_gan()
    # One trace with an unknown batch size (what reduce_retracing gives the Trainer after
    # a second batch size): a step that reads a fixed batch size fails here.
    fn = tf.function(step, input_signature=[tf.TensorSpec([None, 28, 28, 1], tf.float32)])
    for n in (3, 5):
        assert np.isfinite(float(fn(tf.zeros((n, 28, 28, 1)))["g_loss"]))


@pytest.mark.parametrize("gan_weight, compiled", [(1.0, True), (0.0, False)])
def test_pix2pix_step_updates_weights_with_finite_losses(gan_weight, compiled):
    keras.utils.set_random_seed(0)
    g = models.build_unet_generator(32, base_filters=8, max_filters=16)
    d = models.build_patchgan_discriminator(base_filters=8)
    g_opt, d_opt = keras.optimizers.Adam(2e-4, beta_1=0.5), keras.optimizers.Adam(2e-4, beta_1=0.5)
    step = steps.make_pix2pix_step(g, d, g_opt, d_opt, l1_weight=100.0, gan_weight=gan_weight)
    step = tf.function(step) if compiled else step  # compiling costs seconds: once is enough
    batch = (tf.random.uniform([2, 32, 32, 3], -1, 1), tf.random.uniform([2, 32, 32, 3], -1, 1))
    g_before = [w.numpy().copy() for w in g.trainable_weights]
    d_before = [w.numpy().copy() for w in d.trainable_weights]
    logs = step(batch)
    assert set(logs) == {"g_loss", "g_adv", "g_l1", "d_loss"}
    assert all(np.isfinite(float(v)) for v in logs.values())
    # Adam's first step: ~lr = 2e-4 per entry, >> allclose's 1e-5 |w| + 1e-8 for |w| < 1.
    assert all(not np.allclose(a, w.numpy()) for a, w in zip(g_before, g.trainable_weights))
    d_moved = [not np.allclose(a, w.numpy()) for a, w in zip(d_before, d.trainable_weights)]
    assert all(d_moved) if gan_weight else not any(d_moved)
