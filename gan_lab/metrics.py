"""Numbers that tell a learner whether training worked."""

from __future__ import annotations

import keras
import numpy as np
from keras import layers

from gan_lab import data


def build_digit_classifier(num_classes: int = 10, name: str = "digit_classifier") -> keras.Model:
    """A small CNN that classifies 28x28 digits, used to judge generated digits.

    [Conv 3x3 => ReLU => MaxPool] x2 => Dropout => Dense softmax, ~35k parameters;
    it reaches about 99% accuracy on MNIST test digits after a few epochs.

    Returns:
        Model mapping images (batch, 28, 28, 1) in [-1, 1] to class probabilities.
    """
    f32 = "float32"  # a judge must not change with the precision of the models it judges
    image = keras.Input((28, 28, 1))
    x = layers.Conv2D(32, 3, activation="relu", dtype=f32)(image)  # (batch, 26, 26, 32)
    x = layers.MaxPooling2D(dtype=f32)(x)  # (batch, 13, 13, 32)
    x = layers.Conv2D(64, 3, activation="relu", dtype=f32)(x)  # (batch, 11, 11, 64)
    x = layers.MaxPooling2D(dtype=f32)(x)  # (batch, 5, 5, 64)
    x = layers.Flatten(dtype=f32)(x)
    x = layers.Dropout(0.5, dtype=f32)(x)
    probs = layers.Dense(num_classes, activation="softmax", dtype=f32)(x)
    model = keras.Model(image, probs, name=name)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def train_digit_classifier(
    images: np.ndarray,
    labels: np.ndarray,
    epochs: int = 3,
    batch_size: int = 128,
    seed: int = 0,
    verbose: int = 0,
):
    """Train ``build_digit_classifier`` on uint8 digits, holding out a tenth.

    Returns:
        ``(model, (held_images, held_labels))``: the trained classifier and the tenth of
        the data (at least one image) it never saw, to measure it on.
    """
    keras.utils.set_random_seed(seed)
    x = data.normalize(images)
    order = np.random.default_rng(seed).permutation(len(x))
    held = max(1, len(x) // 10)
    test, train = order[:held], order[held:]
    model = build_digit_classifier()
    model.fit(x[train], labels[train], epochs=epochs, batch_size=batch_size, verbose=verbose)
    return model, (images[test], labels[test])


def accuracy(model: keras.Model, images: np.ndarray, labels: np.ndarray) -> float:
    """Share of ``images`` that ``model`` classifies as ``labels``."""
    predicted = np.argmax(model.predict(data.normalize(images), verbose=0), axis=1)
    return float(np.mean(predicted == np.asarray(labels)))


def confident_share(probabilities: np.ndarray, threshold: float = 0.9) -> float:
    """Share of samples whose most likely class has probability at least ``threshold``.

    A classifier trained on real digits is confident on real digits; on generated
    images it is confident only when they look like a clear digit. 1.0 is best.
    """
    probabilities = np.asarray(probabilities)
    if probabilities.ndim != 2:
        raise ValueError(f"probabilities must be (n, classes). Received: {probabilities.shape}")
    if not 0.0 < threshold <= 1.0:
        raise ValueError(f"threshold must be in (0, 1]. Received: threshold={threshold}")
    return float(np.mean(probabilities.max(axis=1) >= threshold))


def class_coverage(probabilities: np.ndarray, threshold: float = 0.9) -> np.ndarray:
    """Count of confidently recognised samples per class (mode collapse shows as zeros)."""
    probabilities = np.asarray(probabilities)
    confident = probabilities.max(axis=1) >= threshold
    return np.bincount(probabilities.argmax(axis=1)[confident], minlength=probabilities.shape[1])


def wasserstein_1d(a: np.ndarray, b: np.ndarray) -> float:
    """The 1-D Wasserstein-1 (earth mover's) distance between two samples.

    The area between the two empirical quantile functions: how far, on average, mass
    must move to turn one sample into the other. 0 for identical distributions; for two
    Gaussians of equal spread it equals the distance between their means.
    """
    a, b = np.sort(np.ravel(a)).astype(np.float64), np.sort(np.ravel(b)).astype(np.float64)
    if a.size == 0 or b.size == 0:
        raise ValueError(f"Both samples must be non-empty. Received sizes {a.size} and {b.size}")
    # Evaluate both quantile functions on the union of their breakpoints.
    levels = np.union1d(np.arange(1, a.size + 1) / a.size, np.arange(1, b.size + 1) / b.size)
    widths = np.diff(np.concatenate([[0.0], levels]))
    qa = a[np.minimum(np.ceil(levels * a.size - 1e-9).astype(int) - 1, a.size - 1)]
    qb = b[np.minimum(np.ceil(levels * b.size - 1e-9).astype(int) - 1, b.size - 1)]
    return float(np.sum(widths * np.abs(qa - qb)))


def mode_coverage(
    samples: np.ndarray, centers: np.ndarray, std: float, n_std: float = 3.0, min_count: int = 20
) -> dict:
    """How many modes of a Gaussian mixture the samples cover, and how many are good.

    A sample is *high quality* if it lies within ``n_std`` standard deviations of its
    nearest mode; a mode is *covered* if at least ``min_count`` high-quality samples lie
    at it (VEEGAN's criterion: 20 of 2,500 samples).

    Returns:
        ``{"modes": covered modes, "high_quality": share of high-quality samples,
        "per_mode": high-quality samples at each mode}``.

    Reference:
        Srivastava et al., "VEEGAN", 2017; Metz et al., "Unrolled GANs", 2017.
    """
    samples, centers = np.asarray(samples, np.float64), np.asarray(centers, np.float64)
    if samples.ndim != 2 or centers.ndim != 2 or samples.shape[1] != centers.shape[1]:
        raise ValueError(
            f"samples (n, d) and centers (modes, d) must agree in d. "
            f"Received: {samples.shape} and {centers.shape}"
        )
    distances = np.linalg.norm(samples[:, None, :] - centers[None], axis=-1)
    nearest = distances.argmin(axis=1)
    good = distances[np.arange(len(samples)), nearest] <= n_std * std
    per_mode = np.bincount(nearest[good], minlength=len(centers))
    return {
        "modes": int((per_mode >= min_count).sum()),
        "high_quality": float(good.mean()),
        "per_mode": per_mode,
    }


def image_scores(predictions, targets) -> dict[str, float]:
    """L1, PSNR and SSIM between predicted and target images, averaged over images.

    Both in [-1, 1] (float) or uint8; scores are computed on the [0, 1] scale: L1 is the
    mean absolute difference (0 best), PSNR in dB (higher is better, inf for identical
    images), SSIM in [-1, 1] (1 for identical images).
    """
    import tensorflow as tf

    def unit(images):
        images = np.asarray(images)
        if images.dtype == np.uint8:
            return images.astype(np.float32) / 255.0
        return (images.astype(np.float32) + 1.0) / 2.0

    p, t = unit(predictions), unit(targets)
    if p.shape != t.shape or p.ndim != 4:
        raise ValueError(
            f"predictions and targets must be (n, h, w, c) of one shape. "
            f"Received: {p.shape} and {t.shape}"
        )
    return {
        "l1": float(np.mean(np.abs(p - t))),
        "psnr": float(np.mean(tf.image.psnr(p, t, max_val=1.0))),
        "ssim": float(np.mean(tf.image.ssim(p, t, max_val=1.0))),
    }


def build_domain_classifier(image_size: int, name: str = "domain_classifier") -> keras.Model:
    """A small CNN telling two image domains apart (e.g. apples 0, oranges 1).

    [Conv 3x3 s2 => ReLU] x4 (16, 32, 64, 64 filters) => global average pool => Dense
    sigmoid. Used to check whether translated images land in the other domain.
    """
    image = keras.Input((image_size, image_size, 3))
    x = image
    f32 = "float32"  # a judge must not change with the precision of the models it judges
    for filters in (16, 32, 64, 64):
        x = layers.Conv2D(filters, 3, strides=2, padding="same", activation="relu", dtype=f32)(x)
    x = layers.GlobalAveragePooling2D(dtype=f32)(x)
    prob = layers.Dense(1, activation="sigmoid", dtype=f32)(x)  # P(domain 1)
    model = keras.Model(image, prob, name=name)
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3), loss="binary_crossentropy", metrics=["accuracy"]
    )
    return model


def train_domain_classifier(
    images_0: np.ndarray,
    images_1: np.ndarray,
    epochs: int = 10,
    batch_size: int = 32,
    seed: int = 0,
) -> keras.Model:
    """Train ``build_domain_classifier`` on uint8 images of domain 0 and domain 1
    (with random horizontal flips)."""
    keras.utils.set_random_seed(seed)
    x = np.concatenate([data.normalize(images_0), data.normalize(images_1)])
    y = np.concatenate([np.zeros(len(images_0)), np.ones(len(images_1))]).astype(np.float32)
    flipped = np.concatenate([x, x[:, :, ::-1]])
    model = build_domain_classifier(x.shape[1])
    model.fit(
        flipped,
        np.concatenate([y, y]),
        epochs=epochs,
        batch_size=batch_size,
        shuffle=True,
        verbose=0,
    )
    return model


def domain_share(classifier: keras.Model, images, domain: int) -> float:
    """Share of ``images`` (uint8 or [-1, 1]) that ``classifier`` assigns to ``domain``."""
    images = np.asarray(images)
    x = data.normalize(images) if images.dtype == np.uint8 else images.astype(np.float32)
    p = classifier.predict(x, verbose=0)[:, 0]
    return float(np.mean((p >= 0.5) == bool(domain)))
