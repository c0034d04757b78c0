"""Train steps: one function per kind of GAN, plugged into ``training.Trainer``.

A ``make_*_step`` returns a plain Python function ``step(batch) -> dict of scalar
losses``; the Trainer compiles it with ``tf.function``. Steps read the batch size from
the batch (never from a global) and pass ``training=True`` explicitly.
"""

from __future__ import annotations

from collections.abc import Callable

import keras
import tensorflow as tf

from gan_lab import losses


def make_gan_step(
    generator: keras.Model,
    discriminator: keras.Model,
    g_optimizer: keras.optimizers.Optimizer,
    d_optimizer: keras.optimizers.Optimizer,
    label_smoothing: float = 0.0,
) -> Callable[[tf.Tensor], dict]:
    """The unconditional GAN step (DCGAN, toy GANs): update D and G from one real batch.

    Both networks see the same generated batch; each tape differentiates its own loss
    with respect to its own network's variables only. That is all "freezing D while
    training G" means here.

    Args:
        generator: maps noise (batch, latent_dim) to samples.
        discriminator: maps samples to logits (batch, 1).
        g_optimizer, d_optimizer: one optimizer per network.
        label_smoothing: one-sided label smoothing for D's real targets (default 0).

    Returns:
        ``step(real) -> {"d_loss", "g_loss", "d_real", "d_fake"}``, where ``d_real`` and
        ``d_fake`` are the mean probabilities D assigns to real and generated samples.
    """
    latent_dim = generator.input_shape[-1]

    def step(real):
        noise = tf.random.normal([tf.shape(real)[0], latent_dim])
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            fake = generator(noise, training=True)
            real_logits = discriminator(real, training=True)
            fake_logits = discriminator(fake, training=True)
            g_loss = losses.generator_loss(fake_logits)
            d_loss = losses.discriminator_loss(real_logits, fake_logits, label_smoothing)
        g_grads = g_tape.gradient(g_loss, generator.trainable_variables)
        d_grads = d_tape.gradient(d_loss, discriminator.trainable_variables)
        g_optimizer.apply_gradients(zip(g_grads, generator.trainable_variables))
        d_optimizer.apply_gradients(zip(d_grads, discriminator.trainable_variables))
        return {
            "d_loss": d_loss,
            "g_loss": g_loss,
            "d_real": tf.reduce_mean(tf.sigmoid(tf.cast(real_logits, tf.float32))),
            "d_fake": tf.reduce_mean(tf.sigmoid(tf.cast(fake_logits, tf.float32))),
        }

    return step
