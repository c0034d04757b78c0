"""GAN losses as pure functions of discriminator logits.

All losses take logits (no sigmoid applied) and use
``tf.nn.sigmoid_cross_entropy_with_logits``, which is stable for large |logit|.
"""

from __future__ import annotations

import tensorflow as tf


def bce_with_logits(labels, logits) -> tf.Tensor:
    """Mean binary cross-entropy between ``labels`` (broadcast) and ``logits``."""
    logits = tf.cast(logits, tf.float32)
    labels = tf.broadcast_to(tf.cast(labels, tf.float32), tf.shape(logits))
    return tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=labels, logits=logits))


def discriminator_loss(real_logits, fake_logits, label_smoothing: float = 0.0) -> tf.Tensor:
    """The discriminator's loss: classify real as 1 and generated as 0.

    ``-log D(x) - log(1 - D(G(z)))``, averaged over each batch and summed, as in the
    TensorFlow DCGAN tutorial.

    Args:
        real_logits: discriminator logits on real samples.
        fake_logits: discriminator logits on generated samples.
        label_smoothing: one-sided label smoothing: real targets become
            ``1 - label_smoothing`` (default 0; 0.1 is common). Fake targets stay 0.

    Reference:
        Goodfellow et al. 2014; Salimans et al., "Improved Techniques for Training GANs",
        2016 (one-sided label smoothing).
    """
    if not 0.0 <= label_smoothing < 1.0:
        raise ValueError(f"label_smoothing must be in [0, 1). Received: {label_smoothing}")
    return bce_with_logits(1.0 - label_smoothing, real_logits) + bce_with_logits(0.0, fake_logits)


def generator_loss(fake_logits) -> tf.Tensor:
    """The non-saturating generator loss ``-log D(G(z))``.

    The minimax form ``log(1 - D(G(z)))`` has almost no gradient early on, when the
    discriminator confidently rejects every fake; ``-log D(G(z))`` has the same fixed
    point and strong gradients exactly then.
    """
    return bce_with_logits(1.0, fake_logits)


def wasserstein_critic_loss(real_scores, fake_scores) -> tf.Tensor:
    """The WGAN critic's loss ``E[f(G(z))] - E[f(x)]``: score real high, fakes low."""
    return tf.reduce_mean(tf.cast(fake_scores, tf.float32)) - tf.reduce_mean(
        tf.cast(real_scores, tf.float32)
    )


def wasserstein_generator_loss(fake_scores) -> tf.Tensor:
    """The WGAN generator's loss ``-E[f(G(z))]``."""
    return -tf.reduce_mean(tf.cast(fake_scores, tf.float32))


def gradient_penalty(critic, real, fake, seed=None, rng: tf.random.Generator | None = None):
    """WGAN-GP's penalty ``E[(||grad_x f(x_hat)||_2 - 1)^2]`` at random interpolates.

    ``x_hat = eps * real + (1 - eps) * fake`` with one ``eps ~ U[0, 1]`` per sample; the
    norm is taken per sample over every non-batch axis (taking it over the wrong axes is
    a known bug of published implementations).

    Args:
        critic: callable mapping samples to scores (batch, 1).
        real, fake: tensors of the same shape (batch, ...).
        seed: optional op seed of ``eps``.
        rng: optional ``tf.random.Generator`` to draw ``eps`` from (a checkpointed one
            makes resumed runs draw what an uninterrupted run would); overrides ``seed``.

    Reference:
        Gulrajani et al., "Improved Training of Wasserstein GANs", 2017.
    """
    real, fake = tf.cast(real, tf.float32), tf.cast(fake, tf.float32)
    shape = tf.concat([tf.shape(real)[:1], tf.ones([tf.rank(real) - 1], tf.int32)], axis=0)
    if rng is not None:
        eps = rng.uniform(shape, 0.0, 1.0)
    else:
        eps = tf.random.uniform(shape, 0.0, 1.0, seed=seed)
    x_hat = eps * real + (1.0 - eps) * fake
    with tf.GradientTape() as tape:
        tape.watch(x_hat)
        scores = critic(x_hat, training=True)
    grads = tf.reshape(tape.gradient(scores, x_hat), [tf.shape(real)[0], -1])
    norms = tf.sqrt(tf.reduce_sum(tf.square(grads), axis=1) + 1e-12)
    return tf.reduce_mean(tf.square(norms - 1.0))


def l1(a, b) -> tf.Tensor:
    """Mean absolute difference between two tensors (the pix2pix and CycleGAN L1 terms)."""
    return tf.reduce_mean(tf.abs(tf.cast(a, tf.float32) - tf.cast(b, tf.float32)))


def pix2pix_generator_loss(
    fake_logits, generated, target, l1_weight: float, gan_weight: float
) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """The pix2pix generator's loss: ``gan_weight * GAN + l1_weight * L1(target, generated)``.

    The GAN term (non-saturating, on the PatchGAN's logits) asks for outputs the
    discriminator takes for real photos; the L1 term asks for outputs close to the
    target pixel by pixel. ``gan_weight=0`` is the paper's L1-only ablation.

    Args:
        fake_logits: D's logits for (input, generated) pairs (unused when ``gan_weight`` is 0).
        generated, target: the generator's output and the real photo, in [-1, 1].
        l1_weight: weight lambda of the L1 term (the paper: 100).
        gan_weight: weight of the GAN term (the paper: 1).

    Returns:
        (total, gan term, l1 term), each a scalar; the terms unweighted.

    Reference:
        Isola et al. 2017, eq. 4 (lambda = 100).
    """
    gan = generator_loss(fake_logits) if gan_weight else tf.constant(0.0)
    l1_term = l1(target, generated)
    return gan_weight * gan + l1_weight * l1_term, gan, l1_term


def lsgan_generator_loss(fake_scores) -> tf.Tensor:
    """Least-squares GAN generator loss ``E[(D(G(x)) - 1)^2]`` (CycleGAN's default)."""
    return tf.reduce_mean(tf.square(tf.cast(fake_scores, tf.float32) - 1.0))


def lsgan_discriminator_loss(real_scores, fake_scores) -> tf.Tensor:
    """Least-squares discriminator loss, halved as in CycleGAN:
    ``0.5 * (E[(D(y) - 1)^2] + E[D(G(x))^2])``.

    Reference:
        Mao et al., "Least Squares GANs", 2017; Zhu et al. 2017 (the halving).
    """
    real = tf.reduce_mean(tf.square(tf.cast(real_scores, tf.float32) - 1.0))
    fake = tf.reduce_mean(tf.square(tf.cast(fake_scores, tf.float32)))
    return 0.5 * (real + fake)


def halved_discriminator_loss(real_logits, fake_logits) -> tf.Tensor:
    """The cross-entropy discriminator loss, halved (CycleGAN with ``adversarial="bce"``)."""
    return 0.5 * discriminator_loss(real_logits, fake_logits)


# CycleGAN's adversarial losses by name: (generator loss, discriminator loss).
ADVERSARIAL_LOSSES = {
    "lsgan": (lsgan_generator_loss, lsgan_discriminator_loss),
    "bce": (generator_loss, halved_discriminator_loss),
}
