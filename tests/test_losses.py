"""Loss values against hand computations. The losses run in float32 on a handful of
values: each result is within a few ulps (u = 6e-8 relative) of the exact value, so
rel=1e-6 (~16 u) holds on any CPU, and rel=1e-5 where a hand value sums several logs
(each a few u). Values exact in binary (0.5, 0.3125, 50, -3) use pytest.approx's default
(rel=1e-6) and would pass ==. A wrong formula is off by far more (a missing mean halves a
term; a swapped label flips log terms)."""

import math

import numpy as np
import pytest

from gan_lab import losses


def test_zero_logits_cost_log2_per_term():
    zeros = np.zeros((4, 1), np.float32)
    assert float(losses.generator_loss(zeros)) == pytest.approx(math.log(2), rel=1e-6)
    assert float(losses.discriminator_loss(zeros, zeros)) == pytest.approx(
        2 * math.log(2), rel=1e-6
    )


def test_discriminator_loss_matches_hand_computation():
    real, fake = np.array([[2.0], [-1.0]], np.float32), np.array([[0.5], [-3.0]], np.float32)
    sig = lambda x: 1 / (1 + math.exp(-x))
    expected_real = -(math.log(sig(2.0)) + math.log(sig(-1.0))) / 2
    expected_fake = -(math.log(1 - sig(0.5)) + math.log(1 - sig(-3.0))) / 2
    got = float(losses.discriminator_loss(real, fake))
    assert got == pytest.approx(expected_real + expected_fake, rel=1e-5)


def test_one_sided_label_smoothing_only_touches_real_targets():
    real, fake = np.array([[1.0]], np.float32), np.array([[-2.0]], np.float32)
    sig = lambda x: 1 / (1 + math.exp(-x))
    expected = -(0.9 * math.log(sig(1.0)) + 0.1 * math.log(1 - sig(1.0))) - math.log(1 - sig(-2.0))
    assert float(losses.discriminator_loss(real, fake, 0.1)) == pytest.approx(expected, rel=1e-5)


def test_generator_loss_is_non_saturating():
    # D confidently rejects the fakes: -log D(G(z)) is large, so gradients are strong.
    confident_reject = np.full((3, 1), -20.0, np.float32)
    # softplus(20) = 20 + 2e-9: rel 1e-3 is about non-saturation, not rounding.
    assert float(losses.generator_loss(confident_reject)) == pytest.approx(20.0, rel=1e-3)


def test_losses_are_stable_for_huge_logits():
    huge = np.array([[1e4], [-1e4]], np.float32)
    assert np.isfinite(float(losses.discriminator_loss(huge, huge)))


def test_label_smoothing_out_of_range_is_refused():
    with pytest.raises(ValueError, match="label_smoothing"):
        losses.discriminator_loss(np.zeros((1, 1)), np.zeros((1, 1)), 1.5)


def test_wasserstein_losses_hand_values():
    real, fake = np.array([[2.0], [4.0]], np.float32), np.array([[1.0], [-1.0]], np.float32)
    assert float(losses.wasserstein_critic_loss(real, fake)) == pytest.approx(0.0 - 3.0)
    assert float(losses.wasserstein_generator_loss(fake)) == pytest.approx(0.0)


def test_gradient_penalty_of_linear_critic_is_exact():
    import tensorflow as tf

    # f(x) = sum(w * x) over a (2, 3) input: its gradient is w everywhere.
    w = tf.constant([[3.0, 0.0, 0.0], [4.0, 0.0, 12.0]])  # ||w|| = 13
    critic = lambda x, training=True: tf.reduce_sum(x * w, axis=[1, 2])[:, None]
    real = tf.random.normal([4, 2, 3])
    gp = losses.gradient_penalty(critic, real, tf.zeros_like(real))
    # The per-sample norm runs over all non-batch axes: (13 - 1)^2 = 144. The gradient is w
    # exactly; the norm and square add a few u: rel 1e-4 is loose, while a norm over the
    # wrong axes gives another value altogether (rows of norm 5 and 12.6).
    assert float(gp) == pytest.approx(144.0, rel=1e-4)


def test_pix2pix_generator_loss_hand_values():
    fake_logits = np.zeros((1, 2, 2, 1), np.float32)  # GAN term log 2
    generated = np.zeros((1, 2, 2, 3), np.float32)
    target = np.full((1, 2, 2, 3), 0.5, np.float32)  # L1 term 0.5
    total, gan, l1 = losses.pix2pix_generator_loss(
        fake_logits, generated, target, l1_weight=100, gan_weight=1.0
    )
    assert float(gan) == pytest.approx(math.log(2), rel=1e-6)
    assert float(l1) == pytest.approx(0.5)
    assert float(total) == pytest.approx(math.log(2) + 50.0, rel=1e-6)
    total, gan, _ = losses.pix2pix_generator_loss(
        None, generated, target, l1_weight=100, gan_weight=0.0
    )
    assert float(total) == pytest.approx(50.0) and float(gan) == 0.0
