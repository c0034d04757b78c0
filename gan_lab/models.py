"""Keras model builders. Each ``build_*`` returns a functional ``keras.Model``.

Defaults reproduce the reference architectures exactly (parameter counts in the
docstrings are checked by the tests).
"""

from __future__ import annotations

import weakref

import keras
import numpy as np
from keras import layers


def build_dcgan_generator(
    latent_dim: int = 100,
    width: int = 64,
    channels: int = 1,
    name: str = "generator",
    num_classes: int = 0,
) -> keras.Model:
    """The DCGAN generator of the TensorFlow DCGAN tutorial, for 28x28 images.

    Dense => BN => LeakyReLU => reshape 7x7 => [ConvT 5x5 => BN => LeakyReLU] x2 =>
    ConvT 5x5 => tanh. The first transposed convolution has stride 1 (7x7x256 =>
    7x7x128, no upsampling), the next two stride 2 (=> 14x14x64 => 28x28x1). No biases:
    every layer but the last is followed by batch norm, whose offset makes a bias
    redundant (the last is bias-free as in the tutorial).

    This is the tutorial's network, not the DCGAN paper's: the paper (section 3) uses
    ReLU in the generator where the tutorial uses LeakyReLU (Keras' default slope 0.3),
    initialises all weights from N(0, 0.02) (section 4) where this uses Keras' defaults,
    and generates 64x64 images from a 4x4x1024 projection.

    Args:
        latent_dim: size of the noise vector z (default 100).
        width: channels of the last hidden layer; the layers before have 2x and 4x
            (default 64, giving 256/128/64 as in the tutorial).
        channels: channels of the generated image (default 1).
        name: model name.
        num_classes: 0 (default) for the unconditional generator; above 0, the
            conditional one of Mirza and Osindero: a second input, the one-hot label
            (batch, num_classes), is concatenated with z before the dense layer
            (2,456,384 parameters for 10 classes).

    Returns:
        Model mapping z (batch, latent_dim) (with ``num_classes``: ``[z, one_hot]``) to
        images (batch, 28, 28, channels) in [-1, 1]; 2,330,944 parameters with the defaults.

    Reference:
        TensorFlow tutorial "Deep Convolutional Generative Adversarial Network"
        (``make_generator_model``); Radford, Metz and Chintala, "Unsupervised
        Representation Learning with Deep Convolutional Generative Adversarial Networks",
        2015, section 3 (the architecture guidelines it follows); Mirza and Osindero,
        "Conditional Generative Adversarial Nets", 2014 (``num_classes``).
    """
    _check_positive(latent_dim=latent_dim, width=width, channels=channels)
    _check_classes(num_classes)
    z = keras.Input((latent_dim,), name="z")
    inputs, x = z, z
    if num_classes:
        label = keras.Input((num_classes,), name="label")  # one-hot
        inputs, x = [z, label], layers.Concatenate()([z, label])  # (batch, 110)
    x = layers.Dense(7 * 7 * 4 * width, use_bias=False)(x)  # (batch, 12544)
    x = batch_norm()(x)
    x = layers.LeakyReLU(0.3)(x)
    x = layers.Reshape((7, 7, 4 * width))(x)  # (batch, 7, 7, 256)
    x = layers.Conv2DTranspose(2 * width, 5, strides=1, padding="same", use_bias=False)(x)
    x = batch_norm()(x)
    x = layers.LeakyReLU(0.3)(x)  # (batch, 7, 7, 128)
    x = layers.Conv2DTranspose(width, 5, strides=2, padding="same", use_bias=False)(x)
    x = batch_norm()(x)
    x = layers.LeakyReLU(0.3)(x)  # (batch, 14, 14, 64)
    image = layers.Conv2DTranspose(
        channels, 5, strides=2, padding="same", use_bias=False, activation="tanh", dtype="float32"
    )(x)  # (batch, 28, 28, 1)
    return keras.Model(inputs, image, name=name)


def build_dcgan_discriminator(
    width: int = 64,
    channels: int = 1,
    dropout: float = 0.3,
    name: str = "discriminator",
    num_classes: int = 0,
) -> keras.Model:
    """The DCGAN discriminator of the TensorFlow DCGAN tutorial, for 28x28 images.

    [Conv 5x5 stride 2 => Dropout => LeakyReLU] x2 => Dense(1). No sigmoid: the model
    returns a logit, and the losses apply the sigmoid in a numerically stable way.

    The tutorial applies dropout after the LeakyReLU; before it is the same function
    (LeakyReLU(m * x) = m * LeakyReLU(x) for a dropout mask m >= 0, same masks, same
    weights). In this order no LeakyReLU reads a convolution's output while training, which
    TensorFlow's oneDNN graph optimizer (remapper) would otherwise try to fuse: it deletes
    the conv+bias node that the LeakyReLU's gradient still reads and logs "remapper failed:
    ... LeakyReluGrad exist for missing node .../BiasAdd" (CPUs where oneDNN is on).

    This is the tutorial's network, not the DCGAN paper's: the paper (sections 3 and 4)
    uses batch norm in every discriminator layer but the input layer, LeakyReLU with slope
    0.2 and N(0, 0.02) initial weights; the tutorial uses no batch norm but dropout, Keras'
    default slope 0.3 and Keras' default initialisers.

    Args:
        width: channels of the first conv; the second has 2x (default 64).
        channels: channels of the input image (default 1).
        dropout: dropout rate after each conv (default 0.3).
        name: model name.
        num_classes: 0 (default) for the unconditional discriminator; above 0, the
            conditional one: a second input, the one-hot label (batch, num_classes), is
            broadcast over the image as ``num_classes`` extra channels (228,865
            parameters for 10 classes).

    Returns:
        Model mapping images (batch, 28, 28, channels) (with ``num_classes``: ``[images,
        one_hot]``) to logits (batch, 1); 212,865 parameters with the defaults.

    Reference:
        TensorFlow tutorial "Deep Convolutional Generative Adversarial Network"
        (``make_discriminator_model``); Mirza and Osindero 2014 (``num_classes``).
    """
    _check_positive(width=width, channels=channels)
    _check_classes(num_classes)
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout must be in [0, 1). Received: dropout={dropout}")
    image = keras.Input((28, 28, channels), name="image")
    inputs, x = image, image
    if num_classes:
        label = keras.Input((num_classes,), name="label")  # one-hot
        planes = layers.Reshape((1, 1, num_classes))(label)  # (batch, 1, 1, 10)
        planes = layers.UpSampling2D(28)(planes)  # (batch, 28, 28, 10): the label everywhere
        inputs, x = [image, label], layers.Concatenate()([image, planes])  # (batch, 28, 28, 11)
    x = layers.Conv2D(width, 5, strides=2, padding="same")(x)  # (batch, 14, 14, 64)
    x = globally_seeded_dropout(dropout)(x)
    x = layers.LeakyReLU(0.3)(x)
    x = layers.Conv2D(2 * width, 5, strides=2, padding="same")(x)  # (batch, 7, 7, 128)
    x = globally_seeded_dropout(dropout)(x)
    x = layers.LeakyReLU(0.3)(x)
    x = layers.Flatten()(x)  # (batch, 6272)
    logit = layers.Dense(1, dtype="float32")(x)  # (batch, 1)
    return keras.Model(inputs, logit, name=name)


def batch_norm() -> layers.BatchNormalization:
    """``BatchNormalization``; built inside the scope of a ``tf.distribute`` strategy with
    several replicas, it is ``synchronized``: its statistics are those of the global batch
    (all-reduced sums), as on one device, so training does not depend on the split. (Keras
    computes the synchronized variance as E[x^2] - E[x]^2, one-device batch norm as
    E[(x - mean)^2]: the same up to float32 rounding.) Same variables either way, so
    checkpoints move freely between one device and several."""
    return layers.BatchNormalization(synchronized=_replicas() > 1)


@keras.saving.register_keras_serializable(package="gan_lab")
class GlobalBatchDropout(layers.Dropout):
    """``Dropout`` whose mask, inside a replica of a ``tf.distribute`` strategy, is this
    replica's rows of the mask one device would draw for the global batch (same seed,
    global shape), so examples keep their masks however the batch is split. Elsewhere it
    is plain ``Dropout``.

    Exact under ``MultiWorkerMirroredStrategy`` with one device per worker, which advances
    each worker's Keras seed once per call as one device does. With several replicas in
    one process (``MirroredStrategy``) Keras advances the shared seed once per replica, so
    the masks follow another (still seeded) sequence than on one device."""

    def call(self, inputs, training=False):
        import tensorflow as tf

        context = tf.distribute.get_replica_context()
        replicas = context.num_replicas_in_sync if context is not None else 1
        if not training or self.rate == 0 or replicas == 1:
            return super().call(inputs, training=training)
        local = tf.shape(inputs)[0]
        shape = tf.concat([[replicas * local], tf.shape(inputs)[1:]], 0)
        mask = keras.random.dropout(
            tf.ones(shape, inputs.dtype), self.rate, seed=self.seed_generator
        )
        first = context.replica_id_in_sync_group * local
        return inputs * mask[first : first + local]


def globally_seeded_dropout(rate: float) -> layers.Dropout:
    """``Dropout(rate)``, or ``GlobalBatchDropout(rate)`` when built inside the scope of a
    strategy with several replicas (models rebuilt for export use plain Keras layers)."""
    return GlobalBatchDropout(rate) if _replicas() > 1 else layers.Dropout(rate)


def _replicas() -> int:
    """Replicas of the strategy whose scope the model is built in (1 outside any scope)."""
    import tensorflow as tf

    return int(tf.distribute.get_strategy().num_replicas_in_sync)


def _check_positive(**values: int) -> None:
    for key, value in values.items():
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"{key} must be a positive integer. Received: {key}={value!r}")


def _check_classes(num_classes: int) -> None:
    if not isinstance(num_classes, int) or num_classes < 0:
        raise ValueError(
            f"num_classes must be 0 (unconditional) or a positive integer. "
            f"Received: num_classes={num_classes!r}"
        )


def build_mlp(
    input_dim: int,
    output_dim: int,
    hidden: tuple[int, ...] = (64, 64),
    output_activation: str | None = None,
    name: str = "mlp",
) -> keras.Model:
    """A small fully connected network, the generator and discriminator of the toy GANs.

    [Dense => LeakyReLU(0.2)] per hidden layer => Dense(output_dim). As a generator:
    ``input_dim`` = noise size, ``output_dim`` = data dimension, linear output. As a
    discriminator or critic: ``input_dim`` = data dimension, ``output_dim`` = 1 (a logit).

    Args:
        input_dim: size of the input vector.
        output_dim: size of the output vector.
        hidden: units of each hidden layer (default (64, 64)).
        output_activation: activation of the last layer (default None: linear).
        name: model name.

    Returns:
        Model mapping (batch, input_dim) to (batch, output_dim).
    """
    _check_positive(input_dim=input_dim, output_dim=output_dim)
    _check_positive(**{f"hidden[{i}]": units for i, units in enumerate(hidden)})
    inputs = keras.Input((input_dim,))
    x = inputs
    for units in hidden:
        x = layers.Dense(units)(x)  # (batch, units)
        x = layers.LeakyReLU(0.2)(x)
    outputs = layers.Dense(output_dim, activation=output_activation, dtype="float32")(x)
    return keras.Model(inputs, outputs, name=name)


# --------------------------------------------------------------------------- image-to-image


def _normalization(norm: str):
    """A fresh normalization layer by name: batch, instance (= GroupNorm with one channel
    per group, no affine, as junyanz) or none."""
    choices = {
        "batch": batch_norm,
        # float32 even under mixed precision: GroupNormalization's statistics can overflow
        # in float16 (keras#22586); BatchNormalization upcasts internally.
        "instance": lambda: layers.GroupNormalization(
            groups=-1, center=False, scale=False, epsilon=1e-5, dtype="float32"
        ),
        "none": lambda: None,
    }
    if norm not in choices:
        raise ValueError(f"norm must be one of {sorted(choices)}. Received: norm={norm!r}")
    return choices[norm]()


def _init():
    return keras.initializers.RandomNormal(0.0, 0.02)  # the pix2pix / CycleGAN papers


def _down(x, filters: int, norm: str, use_bias: bool, name: str | None = None):
    """Conv 4x4 stride 2 => norm => LeakyReLU(0.2) (named ``name``): halves height and width."""
    layer = _normalization(norm)
    x = layers.Conv2D(
        filters, 4, strides=2, padding="same", use_bias=use_bias, kernel_initializer=_init()
    )(x)
    if layer is not None:
        x = layer(x)
    return layers.LeakyReLU(0.2, name=name)(x)


def _up(x, filters: int, norm: str, dropout: float, use_bias: bool):
    """ConvTranspose 4x4 stride 2 => norm => [Dropout] => ReLU: doubles height and width."""
    layer = _normalization(norm)
    x = layers.Conv2DTranspose(
        filters, 4, strides=2, padding="same", use_bias=use_bias, kernel_initializer=_init()
    )(x)
    if layer is not None:
        x = layer(x)
    if dropout:
        x = globally_seeded_dropout(dropout)(x)
    return layers.ReLU()(x)


def build_unet_generator(
    image_size: int = 256,
    channels: int = 3,
    base_filters: int = 64,
    max_filters: int = 512,
    norm: str = "batch",
    dropout: float = 0.5,
    depth: int | None = None,
    bottleneck_norm: bool = False,
    name: str = "unet_generator",
) -> keras.Model:
    """The pix2pix U-Net generator: an encoder-decoder with skip connections.

    log2(image_size) down-blocks [Conv 4x4 s2 => norm => LeakyReLU(0.2)] (the first and
    the innermost without norm) take the image to 1x1; as many up-blocks minus one
    [ConvT 4x4 s2 => norm => Dropout on the first three => ReLU] come back, each
    concatenated with the encoder output of the same size; a last ConvT 4x4 s2 => tanh
    makes the image. The layout is the TF pix2pix tutorial's, except for the bottleneck.

    The innermost (bottleneck) block has no normalization, as in the original code
    (phillipi/pix2pix ``defineG_unet``: e8's SpatialBatchNormalization is commented out)
    and junyanz's ``UnetSkipConnectionBlock`` (innermost: ``[downrelu, downconv]``, no
    norm). Normalizing it is a defect: at 1x1 and batch 1, batch norm in training mode
    (and instance norm always) subtracts the value itself, so the bottleneck outputs its
    learned offset whatever the input and carries no information.

    Args:
        image_size: height = width of input and output, a power of 2 >= 8 (default 256:
            8 down, 7 up).
        channels: image channels in and out (default 3).
        base_filters: filters of the first block; doubling per block (default 64).
        max_filters: cap on filters per block (default 512).
        norm: "batch" (default, as pix2pix), "instance" or "none".
        dropout: rate on the first three up-blocks (default 0.5).
        depth: down-blocks (default log2(image_size), down to 1x1). Keras-GAN's CycleGAN
            (eriklindernoren/Keras-GAN) uses a U-Net of depth 4 at 128 px, 32 base filters.
        bottleneck_norm: normalize the innermost block too, as the TF pix2pix tutorial
            does (default False; True only to show the defect described above).
        name: model name.

    Returns:
        Model mapping (batch, size, size, channels) in [-1, 1] to the same shape in
        [-1, 1]. The innermost activation is the layer named ``"bottleneck"``.
        54,423,811 parameters with the defaults: the TF pix2pix tutorial's 54,425,859
        minus the 4 x 512 = 2,048 of its bottleneck batch norm (scale, offset, moving
        mean and variance); with ``bottleneck_norm=True`` exactly the tutorial's.

    Reference:
        Isola et al., "Image-to-Image Translation with Conditional Adversarial Networks",
        CVPR 2017; Ronneberger et al., "U-Net", 2015. LeakyReLU slope 0.2 as in the paper
        (the TF tutorial's 0.3 is the Keras default); parameter counts are unaffected.
    """
    _check_positive(
        image_size=image_size, channels=channels, base_filters=base_filters, max_filters=max_filters
    )
    full_depth = int(round(np.log2(image_size)))
    if image_size < 8 or 2**full_depth != image_size:
        raise ValueError(f"image_size must be a power of 2, at least 8. Received: {image_size}")
    depth = full_depth if depth is None else depth
    if not isinstance(depth, int) or not 1 <= depth <= full_depth:
        raise ValueError(
            f"depth must be in [1, {full_depth}] at {image_size} px. Received: {depth!r}"
        )
    image = keras.Input((image_size, image_size, channels), name="image")
    filters = [min(base_filters * 2**i, max_filters) for i in range(depth)]
    bias = norm == "instance"  # batch norm's offset makes a bias redundant
    x, skips = image, []
    for i, f in enumerate(filters):  # 256 -> 128 -> ... -> 1
        innermost = i == depth - 1
        plain = i == 0 or (innermost and not bottleneck_norm)
        x = _down(x, f, "none" if plain else norm, bias, "bottleneck" if innermost else None)
        skips.append(x)  # (batch, size / 2^(i+1), size / 2^(i+1), f)
    for i, (f, skip) in enumerate(zip(filters[-2::-1], skips[-2::-1])):  # 1 -> 2 -> ... -> size/2
        x = _up(x, f, norm, dropout if i < 3 else 0.0, bias)
        x = layers.Concatenate()([x, skip])  # (batch, s, s, 2f)
    output = layers.Conv2DTranspose(
        channels,
        4,
        strides=2,
        padding="same",
        activation="tanh",
        kernel_initializer=_init(),
        dtype="float32",
    )(x)
    return keras.Model(image, output, name=name)  # (batch, size, size, channels)


def pix2pix_translate(generator: keras.Model, images, seed: int = 0) -> np.ndarray:
    """Pix2pix's inference protocol, the one used for every Pix2Pix result in gan_lab.

    Each image runs alone (a batch of 1) in training mode, as the paper's test phase:
    batch norm normalizes with the statistics of that single image and dropout stays on
    (Isola et al. 2017, section 3.3: "At inference time, we run the generator net in
    exactly the same manner as during the training phase"). It has no side effects: the
    model runs through Keras' ``stateless_call``, so its batch-norm moving statistics and
    its dropout seed generators (both saved in checkpoints) are left as they were, and
    drawing progress frames with it does not change training. The dropout masks are
    drawn from ``seed`` alone, the same for every image, so an output depends only on
    its image, the weights and ``seed``.

    For an exported ``generator.keras`` the same numbers come from
    ``pix2pix_translate(keras.saving.load_model(path), images)``; without gan_lab,
    ``model(x[None], training=True)`` per image is the same protocol with other dropout
    draws (and it updates the loaded model's moving statistics, which it never uses).

    Args:
        generator: a pix2pix generator (any Keras model of images works).
        images: (n, h, w, c) float in [-1, 1].
        seed: seed of the dropout masks (default 0).

    Returns:
        float32 array (n, h, w, c) in [-1, 1].
    """
    images = np.asarray(images, dtype=np.float32)
    if images.ndim != 4:
        raise ValueError(f"images must be (n, h, w, c). Received shape {images.shape}")
    trainable = [v.value for v in generator.trainable_variables]
    state, k = [], 0
    for v in generator.non_trainable_variables:
        if v.path.endswith("seed_generator_state"):  # dropout: seed pair (seed, k)
            state.append(keras.ops.convert_to_tensor([seed, k], dtype=v.dtype))
            k += 1
        else:
            state.append(v.value)
    if k < sum(isinstance(layer, layers.Dropout) for layer in generator.layers):
        raise RuntimeError(  # Keras renamed its seed state: this function needs updating
            f"{generator.name}: found {k} dropout seed states for its Dropout layers."
        )
    run = _stateless_runs.get(generator)
    if run is None:
        run = _stateless_runs[generator] = _compile_stateless(generator)
    outputs = [np.asarray(run(trainable, state, image[None]))[0] for image in images]
    return np.stack(outputs).astype(np.float32) if outputs else images.copy()


_stateless_runs: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _compile_stateless(generator: keras.Model):
    """``generator.stateless_call(..., training=True)`` compiled once per model (about 10x
    faster than eager per image). The model is held by a weak reference, so the cache does
    not keep it alive."""
    import tensorflow as tf

    model = weakref.ref(generator)

    @tf.function(reduce_retracing=True)
    def run(trainable, state, image):
        return model().stateless_call(trainable, state, image, training=True)[0]

    return run


def build_patchgan_discriminator(
    channels: int = 3,
    conditional: bool = True,
    norm: str = "batch",
    base_filters: int = 64,
    image_size: int | None = None,
    name: str = "patchgan_discriminator",
) -> keras.Model:
    """The 70x70 PatchGAN: a grid of real/fake logits, one per overlapping image patch.

    [Conv 4x4 s2 => norm => LeakyReLU(0.2)] x3 (the first without norm) => Conv 4x4 s1
    (8x base filters) => norm => LeakyReLU => Conv 4x4 s1 => 1 logit per patch. Each logit
    sees a 70x70 receptive field. With batch norm the convolutions have no bias (the TF
    pix2pix tutorial); with instance norm they have one (junyanz ``n_layers=3``).

    Args:
        channels: channels of one image (default 3).
        conditional: judge (input, target) pairs concatenated on channels, as pix2pix
            does (default True); False judges single images, as CycleGAN does.
        norm: "batch" (default, pix2pix), "instance" (CycleGAN) or "none".
        base_filters: filters of the first conv (default 64).
        image_size: fixed input size, or None (default) for any size.
        name: model name.

    Returns:
        Model mapping (batch, h, w, channels) -- or a list [input, target] when
        conditional -- to logits (batch, h/8 - 2, w/8 - 2, 1): 30x30 at 256 px.
        2,770,433 parameters with the defaults; 2,764,737 with conditional=False,
        norm="instance".
    """
    _check_positive(channels=channels, base_filters=base_filters)
    shape = (image_size, image_size, channels)
    inputs = [keras.Input(shape, name="input_image"), keras.Input(shape, name="target_image")]
    if conditional:
        x = layers.Concatenate()(inputs)  # (batch, 256, 256, 2 * channels)
    else:
        inputs = inputs[1]
        x = inputs
    bias = norm == "instance"
    x = _down(x, base_filters, "none", bias)  # (batch, 128, 128, 64)
    x = _down(x, 2 * base_filters, norm, bias)  # (batch, 64, 64, 128)
    x = _down(x, 4 * base_filters, norm, bias)  # (batch, 32, 32, 256)
    x = layers.ZeroPadding2D()(x)  # (batch, 34, 34, 256)
    x = layers.Conv2D(8 * base_filters, 4, use_bias=bias, kernel_initializer=_init())(x)
    layer = _normalization(norm)
    if layer is not None:
        x = layer(x)  # (batch, 31, 31, 512)
    x = layers.LeakyReLU(0.2)(x)
    x = layers.ZeroPadding2D()(x)  # (batch, 33, 33, 512)
    logits = layers.Conv2D(1, 4, kernel_initializer=_init(), dtype="float32")(
        x
    )  # (batch, 30, 30, 1)
    return keras.Model(inputs, logits, name=name)


@keras.saving.register_keras_serializable(package="gan_lab")
class ReflectionPadding2D(layers.Layer):
    """Pad height and width by mirroring the border (PyTorch's ``nn.ReflectionPad2d``).

    Zero padding darkens the borders of generated images; reflection padding, used by
    the CycleGAN ResNet generator, avoids that.

    Args:
        padding: pixels added on each side (default 1).
    """

    def __init__(self, padding: int = 1, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(padding, int) or padding < 0:
            raise ValueError(f"padding must be a non-negative integer. Received: {padding!r}")
        self.padding = padding

    def call(self, x):
        p = self.padding
        return keras.ops.pad(x, [[0, 0], [p, p], [p, p], [0, 0]], mode="reflect")

    def compute_output_shape(self, input_shape):
        b, h, w, c = input_shape
        grow = lambda n: None if n is None else n + 2 * self.padding
        return (b, grow(h), grow(w), c)

    def get_config(self):
        return {**super().get_config(), "padding": self.padding}


def _reflect_builtin(x, p: int):
    """Reflection padding from Keras' own layers only (one-row/column crops, concatenated),
    for models that must load with plain Keras. Needs a fixed input size."""
    for axis in (1, 2):
        n = x.shape[axis]

        def line(t, i, axis=axis, n=n):  # row or column i of t alone
            crop = ((i, n - 1 - i), (0, 0)) if axis == 1 else ((0, 0), (i, n - 1 - i))
            return layers.Cropping2D(crop)(t)

        before = [line(x, i) for i in range(p, 0, -1)]
        after = [line(x, i) for i in range(n - 2, n - 2 - p, -1)]
        x = layers.Concatenate(axis=axis)([*before, x, *after])
    return x


def _pad(x, p: int, portable: bool):
    return _reflect_builtin(x, p) if portable else ReflectionPadding2D(p)(x)


def _conv_norm_relu(x, filters: int, kernel: int, strides: int = 1, transpose: bool = False):
    conv = layers.Conv2DTranspose if transpose else layers.Conv2D
    x = conv(
        filters,
        kernel,
        strides=strides,
        padding="same" if strides > 1 else "valid",
        kernel_initializer=_init(),
    )(x)
    x = _normalization("instance")(x)
    return layers.ReLU()(x)


def build_resnet_generator(
    image_size: int | None = None,
    channels: int = 3,
    base_filters: int = 64,
    n_blocks: int = 9,
    name: str = "resnet_generator",
    portable: bool = False,
) -> keras.Model:
    """The CycleGAN ResNet generator (junyanz ``resnet_9blocks`` / ``resnet_6blocks``).

    ReflectionPad 3 => Conv 7x7 => IN => ReLU; two [Conv 3x3 s2 => IN => ReLU] down;
    ``n_blocks`` residual blocks [ReflectionPad 1 => Conv 3x3 => IN => ReLU =>
    ReflectionPad 1 => Conv 3x3 => IN] + skip; two [ConvT 3x3 s2 => IN => ReLU] up;
    ReflectionPad 3 => Conv 7x7 => tanh. Instance norm without affine parameters.

    Args:
        image_size: fixed input size, or None (default) for any size divisible by 4.
        channels: image channels in and out (default 3).
        base_filters: ngf, filters of the first conv (default 64).
        n_blocks: residual blocks: 9 for 256 px (default), 6 for 128 px (the paper).
        name: model name.
        portable: build the reflection padding from Keras' own layers instead of
            ``ReflectionPadding2D``, so a saved ``.keras`` file loads without gan_lab
            (same weights, same outputs; needs ``image_size``; slower to train).

    Returns:
        Model mapping (batch, h, w, channels) in [-1, 1] to the same shape in [-1, 1];
        11,378,179 parameters with the defaults.

    Reference:
        Zhu et al., "Unpaired Image-to-Image Translation using Cycle-Consistent
        Adversarial Networks", ICCV 2017; Johnson et al. 2016 (the architecture).
    """
    _check_positive(channels=channels, base_filters=base_filters, n_blocks=n_blocks)
    if portable and not image_size:
        raise ValueError("portable=True needs a fixed image_size.")
    image = keras.Input((image_size, image_size, channels), name="image")
    x = _pad(image, 3, portable)
    x = _conv_norm_relu(x, base_filters, 7)  # (batch, 256, 256, 64)
    x = _conv_norm_relu(x, 2 * base_filters, 3, strides=2)  # (batch, 128, 128, 128)
    x = _conv_norm_relu(x, 4 * base_filters, 3, strides=2)  # (batch, 64, 64, 256)
    for _ in range(n_blocks):
        y = _pad(x, 1, portable)
        y = _conv_norm_relu(y, 4 * base_filters, 3)
        y = _pad(y, 1, portable)
        y = layers.Conv2D(4 * base_filters, 3, kernel_initializer=_init())(y)
        y = _normalization("instance")(y)
        x = layers.Add()([x, y])  # (batch, 64, 64, 256)
    x = _conv_norm_relu(x, 2 * base_filters, 3, strides=2, transpose=True)  # (batch, 128, 128, 128)
    x = _conv_norm_relu(x, base_filters, 3, strides=2, transpose=True)  # (batch, 256, 256, 64)
    x = _pad(x, 3, portable)
    output = layers.Conv2D(
        channels, 7, activation="tanh", kernel_initializer=_init(), dtype="float32"
    )(x)  # (batch, 256, 256, 3)
    return keras.Model(image, output, name=name)
