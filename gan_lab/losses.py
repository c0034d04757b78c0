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
