"""Judges: small classifiers trained on real data to tell whether generated data is right.

The digit classifier judges generated digits (lesson 2's scores); the facade segmenter
reads label maps back from facade photos (lesson 3's FCN-score); the domain classifier
tells apples from oranges (lesson 4's scores). All are float32 whatever the precision of
the models they judge, and are seeded locally: training a judge never draws from, or
reseeds, the global random generators, so judging does not change what a lesson draws
afterwards.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import layers

from gan_lab import data

FEATURES_LAYER = "features"  # the digit classifier's penultimate layer, for Fréchet distances


def build_digit_classifier(
    num_classes: int = 10, seed: int = 0, name: str = "digit_classifier"
) -> keras.Model:
    """A small CNN that classifies 28x28 digits, used to judge generated digits.

    [Conv 3x3 => ReLU => MaxPool] x2 => Flatten => Dense 64 ReLU (``"features"``) =>
    Dropout 0.5 => Dense softmax, 121,930 parameters (the layout of Keras' classic MNIST
    CNN example, with a 64-unit instead of a 128-unit hidden layer). Trained for 3 epochs on
    9,000 real MNIST digits it classified 96% of 1,000 others correctly (measured; the
    60,000 training digits give it more to learn from). Its 64 penultimate ``"features"``
    are what ``digit_outputs`` returns with the probabilities, for a Fréchet distance
    between digit sets.

    Every initializer and the dropout have their own seed, derived from ``seed``: building
    and training the judge draws nothing from (and never reseeds) the global random
    generators, so judging a model does not change what the lesson draws afterwards.

    Args:
        num_classes: classes to predict (default 10).
        seed: seed of the initial weights and of the dropout masks (default 0).
        name: model name.

    Returns:
        A compiled model (Adam 1e-3, sparse cross-entropy) mapping images
        (batch, 28, 28, 1) in [-1, 1] to class probabilities (batch, num_classes).
    """
    f32 = "float32"  # a judge must not change with the precision of the models it judges

    def layer(kind, *args, index, **kwargs):
        init = keras.initializers.GlorotUniform(seed=seed * 100 + index)
        return kind(*args, kernel_initializer=init, dtype=f32, **kwargs)

    image = keras.Input((28, 28, 1))
    x = layer(layers.Conv2D, 32, 3, activation="relu", index=0)(image)  # (batch, 26, 26, 32)
    x = layers.MaxPooling2D(dtype=f32)(x)  # (batch, 13, 13, 32)
    x = layer(layers.Conv2D, 64, 3, activation="relu", index=1)(x)  # (batch, 11, 11, 64)
    x = layers.MaxPooling2D(dtype=f32)(x)  # (batch, 5, 5, 64)
    x = layers.Flatten(dtype=f32)(x)  # (batch, 1600)
    x = layer(layers.Dense, 64, activation="relu", index=2, name=FEATURES_LAYER)(x)  # (batch, 64)
    x = layers.Dropout(0.5, seed=seed * 100 + 3, dtype=f32)(x)
    probs = layer(layers.Dense, num_classes, activation="softmax", index=4)(x)
    model = keras.Model(image, probs, name=name)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def train_digit_classifier(
    images: np.ndarray,
    labels: np.ndarray,
    *,
    epochs: int,
    batch_size: int = 128,
    seed: int = 0,
    verbose: int = 0,
):
    """Train ``build_digit_classifier`` on uint8 digits, holding out a tenth.

    Deterministic for a given ``seed`` whatever the global random state, and leaves that
    state untouched: the weights and dropout are seeded locally, and the data is shuffled
    each epoch by a NumPy generator of its own (``fit`` itself does not shuffle).

    Args:
        images: (n, 28, 28, 1) uint8 digits.
        labels: (n,) integer classes.
        epochs: passes over the training part.
        batch_size: images per step (default 128).
        seed: seed of the split, the shuffles, the initial weights and dropout (default 0).
        verbose: Keras' ``fit`` verbosity (default 0: silent).

    Returns:
        ``(model, (held_images, held_labels))``: the trained classifier and the tenth of
        the data (at least one image) it never saw, to measure it on.
    """
    x = data.normalize(images)
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(x))
    held = max(1, len(x) // 10)
    test, train = order[:held], order[held:]
    model = build_digit_classifier(seed=seed)
    for _ in range(epochs):
        shuffled = rng.permutation(train)
        model.fit(
            x[shuffled],
            labels[shuffled],
            epochs=1,
            batch_size=batch_size,
            shuffle=False,
            verbose=verbose,
        )
    return model, (images[test], labels[test])


def digit_outputs(classifier: keras.Model, images, batch_size: int = 500):
    """(class probabilities (n, classes), penultimate features (n, 64) as float64) of
    ``images`` (uint8 or [-1, 1]), from one forward pass in inference mode."""
    images = np.asarray(images)
    x = data.normalize(images) if images.dtype == np.uint8 else images.astype(np.float32)
    both = keras.Model(
        classifier.input, [classifier.output, classifier.get_layer(FEATURES_LAYER).output]
    )
    # Called directly (inference mode), not through predict: a new model per call would make
    # predict trace a new graph each time.
    outputs = [both(x[i : i + batch_size], training=False) for i in range(0, len(x), batch_size)]
    probs = np.concatenate([np.asarray(p) for p, _ in outputs])
    features = np.concatenate([np.asarray(f, np.float64) for _, f in outputs])
    return probs, features


def build_domain_classifier(
    image_size: int, seed: int = 0, name: str = "domain_classifier"
) -> keras.Model:
    """A small CNN telling two image domains apart (e.g. apples 0, oranges 1).

    [Conv 3x3 s2 => ReLU] x4 (16, 32, 64, 64 filters) => global average pool => Dense
    sigmoid. Used to check whether translated images land in the other domain. Every
    initializer has its own seed derived from ``seed``, so building it draws nothing from
    the global random generators.

    Args:
        image_size: height = width of the images.
        seed: seed of the initial weights (default 0).
        name: model name.

    Returns:
        A compiled model (Adam 1e-3, binary cross-entropy) mapping images
        (batch, image_size, image_size, 3) in [-1, 1] to P(domain 1) (batch, 1).
    """
    f32 = "float32"  # a judge must not change with the precision of the models it judges
    image = keras.Input((image_size, image_size, 3))
    x = image
    for index, filters in enumerate((16, 32, 64, 64)):  # each halves height and width
        init = keras.initializers.GlorotUniform(seed=seed * 100 + index)
        x = layers.Conv2D(
            filters, 3, strides=2, padding="same", activation="relu",
            kernel_initializer=init, dtype=f32,
        )(x)  # fmt: skip
    x = layers.GlobalAveragePooling2D(dtype=f32)(x)  # (batch, 64)
    init = keras.initializers.GlorotUniform(seed=seed * 100 + 4)
    prob = layers.Dense(1, activation="sigmoid", kernel_initializer=init, dtype=f32)(x)
    model = keras.Model(image, prob, name=name)
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3), loss="binary_crossentropy", metrics=["accuracy"]
    )
    return model


def train_domain_classifier(
    images_0: np.ndarray,
    images_1: np.ndarray,
    *,
    epochs: int,
    batch_size: int = 32,
    seed: int = 0,
) -> keras.Model:
    """Train ``build_domain_classifier`` on uint8 images of domain 0 and domain 1.

    Each epoch shows every image once as it is and once mirrored, in an order drawn by a
    NumPy generator of its own: deterministic for a given ``seed`` whatever the global
    random state, which it leaves untouched. Images are scaled batch by batch, so the
    2,014 apple2orange training images at 256 px take 0.4 GB (uint8), not the 3 GB of a
    float copy with its mirror.

    Args:
        images_0, images_1: (n, size, size, 3) uint8 images of each domain.
        epochs: passes over the images (each image twice, plain and mirrored).
        batch_size: images per step (default 32).
        seed: seed of the initial weights and of the orders (default 0).

    Returns:
        The trained classifier.
    """
    import tensorflow as tf

    images = np.concatenate([images_0, images_1])
    labels = np.concatenate([np.zeros(len(images_0)), np.ones(len(images_1))]).astype(np.float32)
    n = len(images)

    @tf.autograph.experimental.do_not_convert  # plain TensorFlow ops: nothing to convert
    def example(i):
        image = (tf.cast(tf.gather(images, i % n), tf.float32) - 127.5) / 127.5
        image = tf.cond(i >= n, lambda: image[:, ::-1], lambda: image)  # the mirrored copy
        return image, tf.gather(labels, i % n)[None]

    rng = np.random.default_rng(seed)
    model = build_domain_classifier(images.shape[1], seed=seed)
    for _ in range(epochs):
        order = tf.data.Dataset.from_tensor_slices(rng.permutation(2 * n))
        examples = order.map(example).batch(batch_size).prefetch(tf.data.AUTOTUNE)
        model.fit(examples, epochs=1, shuffle=False, verbose=0)
    return model


def build_facade_segmenter(
    image_size: int = 64,
    num_classes: int = len(data.CMP_PALETTE),
    seed: int = 0,
    name: str = "facade_segmenter",
) -> keras.Model:
    """A small fully-convolutional network that reads the label map back from a facade photo.

    The judge of the FCN-score (Isola et al. 2017, section 4.2, after Long et al.'s FCN-8s):
    an encoder of Conv 3x3 => ReLU blocks, halving the size three times (16, 32, 64, 128
    filters), and, as in FCN-8s, a 1x1 class score from each scale, upsampled bilinearly to
    full size and summed, so the coarse scales say what a region is and the fine ones where
    its border runs. Softmax over the 12 CMP classes per pixel; 295,984 parameters. Every
    initializer has its own seed derived from ``seed``; float32 whatever the precision of
    the models it judges.

    Args:
        image_size: height = width of the photos, a multiple of 8 (default 64).
        num_classes: classes per pixel (default 12, ``data.CMP_PALETTE``).
        seed: seed of the initial weights (default 0).
        name: model name.

    Returns:
        A compiled model (Adam 1e-3, sparse cross-entropy per pixel) mapping photos
        (batch, image_size, image_size, 3) in [-1, 1] to class probabilities
        (batch, image_size, image_size, num_classes).

    Raises:
        ValueError: ``image_size`` is not a positive multiple of 8.
    """
    if image_size < 8 or image_size % 8:
        raise ValueError(f"image_size must be a multiple of 8. Received: image_size={image_size}")
    f32 = "float32"  # a judge must not change with the precision of the models it judges
    index = iter(range(100))

    def conv(filters, kernel, strides=1):
        init = keras.initializers.HeNormal(seed=seed * 100 + next(index))
        return layers.Conv2D(
            filters, kernel, strides=strides, padding="same", kernel_initializer=init, dtype=f32
        )

    def block(x, filters, strides=1):  # Conv 3x3 => BatchNorm => ReLU
        x = conv(filters, 3, strides)(x)
        x = layers.BatchNormalization(momentum=0.9, dtype=f32)(x)  # short runs: fast averages
        return layers.ReLU(dtype=f32)(x)

    photo = keras.Input((image_size, image_size, 3))
    x = block(photo, 16)  # (batch, s, s, 16)
    scales = [x]
    for filters in (32, 64, 128):
        x = block(x, filters, strides=2)  # halves: s/2, s/4, s/8
        x = block(x, filters)  # (batch, s/2**k, s/2**k, filters)
        scales.append(x)
    scores = []
    for k, features in enumerate(scales):  # 1x1 class scores at s, s/2, s/4, s/8
        score = conv(num_classes, 1)(features)
        if k:
            score = layers.UpSampling2D(2**k, interpolation="bilinear", dtype=f32)(score)
        scores.append(score)  # (batch, s, s, num_classes)
    logits = layers.Add(dtype=f32)(scores)
    probs = layers.Softmax(dtype=f32)(logits)  # (batch, s, s, num_classes)
    model = keras.Model(photo, probs, name=name)
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def segmenter_inputs(photos, image_size: int) -> np.ndarray:
    """Photos (n, h, h, 3), uint8 or [-1, 1], as float32 [-1, 1] at ``image_size``: scaled
    down by area averaging (a box filter, the same for real and generated photos)."""
    import tensorflow as tf

    photos = np.asarray(photos)
    x = data.normalize(photos) if photos.dtype == np.uint8 else photos.astype(np.float32)
    if x.shape[1:3] != (image_size, image_size):
        x = tf.image.resize(x, [image_size, image_size], method="area").numpy()
    return x


def segmenter_targets(label_maps, image_size: int) -> np.ndarray:
    """Class maps (n, image_size, image_size) int32 of uint8 RGB label maps (n, h, h, 3):
    decoded by the nearest palette colour (``data.label_classes``), then resized by nearest
    neighbour (a class is never blended)."""
    classes = data.label_classes(label_maps)
    size = classes.shape[1]
    if size != image_size:
        pick = ((np.arange(image_size) + 0.5) * size / image_size).astype(int)
        classes = classes[:, pick][:, :, pick]
    return classes


def train_facade_segmenter(
    photos: np.ndarray,
    label_maps: np.ndarray,
    *,
    epochs: int,
    image_size: int = 64,
    batch_size: int = 16,
    seed: int = 0,
) -> keras.Model:
    """Train ``build_facade_segmenter`` on real facade photos and their label maps.

    Each epoch shows every pair once as it is and once mirrored, in an order drawn by a
    NumPy generator of its own: deterministic for a given ``seed`` whatever the global
    random state, which it leaves untouched. Trained on the 400 real training facades at
    64 px for 10 epochs (8 minutes on a 2-core CPU shared with two other trainings;
    accuracy stopped rising after about 7), it read the 106 real test photos at 51%
    per-pixel accuracy, 29% class accuracy and 20% class IoU (the real photos' FCN-score),
    the mean training photo at 27%, 9% and 3% (its floor).

    Args:
        photos: (n, h, h, 3) uint8 photos (scaled to ``image_size`` by area averaging).
        label_maps: (n, h, h, 3) uint8 RGB label maps in the CMP palette (decoded by
            ``data.label_classes``, resized by nearest neighbour).
        epochs: passes over the pairs (each pair twice, plain and mirrored).
        image_size: the segmenter's size, a multiple of 8 (default 64).
        batch_size: pairs per step (default 16).
        seed: seed of the initial weights and of the orders (default 0).

    Returns:
        The trained segmenter.
    """
    x = segmenter_inputs(photos, image_size)
    y = segmenter_targets(label_maps, image_size)
    x, y = np.concatenate([x, x[:, :, ::-1]]), np.concatenate([y, y[:, :, ::-1]])
    rng = np.random.default_rng(seed)
    model = build_facade_segmenter(image_size, seed=seed)
    for _ in range(epochs):
        order = rng.permutation(len(x))
        model.fit(x[order], y[order], epochs=1, batch_size=batch_size, shuffle=False, verbose=0)
    return model
