"""Keras model builders. Each ``build_*`` returns a functional ``keras.Model``.

Defaults reproduce the reference architectures exactly (parameter counts in the
docstrings are checked by the tests).
"""

from __future__ import annotations

import keras
from keras import layers


def build_dcgan_generator(
    latent_dim: int = 100, width: int = 64, channels: int = 1, name: str = "generator"
) -> keras.Model:
    """The DCGAN generator of the TensorFlow DCGAN tutorial, for 28x28 images.

    Dense => BN => LeakyReLU => reshape 7x7 => [ConvT 5x5 => BN => LeakyReLU] x2 =>
    ConvT 5x5 => tanh. No biases: every layer but the last is followed by batch norm,
    whose offset makes a bias redundant (the last is bias-free as in the tutorial).

    Args:
        latent_dim: size of the noise vector z (default 100).
        width: channels of the last hidden layer; the layers before have 2x and 4x
            (default 64, giving 256/128/64 as in the tutorial).
        channels: channels of the generated image (default 1).
        name: model name.

    Returns:
        Model mapping z (batch, latent_dim) to images (batch, 28, 28, channels) in
        [-1, 1]; 2,330,944 parameters with the defaults.

    Reference:
        Radford et al., "Unsupervised Representation Learning with Deep Convolutional
        GANs", 2016; TensorFlow tutorial "Deep Convolutional Generative Adversarial Network".
    """
    _check_positive(latent_dim=latent_dim, width=width, channels=channels)
    z = keras.Input((latent_dim,), name="z")
    x = layers.Dense(7 * 7 * 4 * width, use_bias=False)(z)  # (batch, 12544)
    x = layers.BatchNormalization()(x)
    x = layers.LeakyReLU(0.3)(x)
    x = layers.Reshape((7, 7, 4 * width))(x)  # (batch, 7, 7, 256)
    x = layers.Conv2DTranspose(2 * width, 5, strides=1, padding="same", use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    x = layers.LeakyReLU(0.3)(x)  # (batch, 7, 7, 128)
    x = layers.Conv2DTranspose(width, 5, strides=2, padding="same", use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    x = layers.LeakyReLU(0.3)(x)  # (batch, 14, 14, 64)
    image = layers.Conv2DTranspose(
        channels, 5, strides=2, padding="same", use_bias=False, activation="tanh", dtype="float32"
    )(x)  # (batch, 28, 28, 1)
    return keras.Model(z, image, name=name)


def build_dcgan_discriminator(
    width: int = 64, channels: int = 1, dropout: float = 0.3, name: str = "discriminator"
) -> keras.Model:
    """The DCGAN discriminator of the TensorFlow DCGAN tutorial, for 28x28 images.

    [Conv 5x5 stride 2 => LeakyReLU => Dropout] x2 => Dense(1). No sigmoid: the model
    returns a logit, and the losses apply the sigmoid in a numerically stable way.

    Args:
        width: channels of the first conv; the second has 2x (default 64).
        channels: channels of the input image (default 1).
        dropout: dropout rate after each conv (default 0.3).
        name: model name.

    Returns:
        Model mapping images (batch, 28, 28, channels) to logits (batch, 1);
        212,865 parameters with the defaults.
    """
    _check_positive(width=width, channels=channels)
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout must be in [0, 1). Received: dropout={dropout}")
    image = keras.Input((28, 28, channels), name="image")
    x = layers.Conv2D(width, 5, strides=2, padding="same")(image)  # (batch, 14, 14, 64)
    x = layers.LeakyReLU(0.3)(x)
    x = layers.Dropout(dropout)(x)
    x = layers.Conv2D(2 * width, 5, strides=2, padding="same")(x)  # (batch, 7, 7, 128)
    x = layers.LeakyReLU(0.3)(x)
    x = layers.Dropout(dropout)(x)
    x = layers.Flatten()(x)  # (batch, 6272)
    logit = layers.Dense(1, dtype="float32")(x)  # (batch, 1)
    return keras.Model(image, logit, name=name)


def _check_positive(**values: int) -> None:
    for key, value in values.items():
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"{key} must be a positive integer. Received: {key}={value!r}")
