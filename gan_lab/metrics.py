"""Numbers that tell a learner whether training worked."""

from __future__ import annotations

import functools
import hashlib
import os
from pathlib import Path

import keras
import numpy as np
from keras import layers

from gan_lab import data, runtime
from gan_lab.errors import DataError, DatasetNotFoundError

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
    are what ``digit_features`` returns, for a Fréchet distance between digit sets.

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
    epochs: int = 3,
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
        epochs: passes over the training part (default 3).
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


def _judge_outputs(classifier: keras.Model, images, batch_size: int = 500):
    """(class probabilities, penultimate features as float64) of ``images`` (uint8 or
    [-1, 1]), from one forward pass."""
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


def digit_features(classifier: keras.Model, images, batch_size: int = 500) -> np.ndarray:
    """The classifier's penultimate (``"features"``) activations for ``images``.

    Args:
        classifier: a model from ``build_digit_classifier``.
        images: (n, 28, 28, 1), uint8 or float in [-1, 1].
        batch_size: images per forward pass (default 500).

    Returns:
        (n, 64) float64 features, for ``frechet_distance``.
    """
    return _judge_outputs(classifier, images, batch_size)[1]


def digit_scores(
    classifier: keras.Model, generated, real, threshold: float = 0.9
) -> dict[str, float | int]:
    """Lesson 2's final number: how digit-like and how real-like generated digits are.

    Two measures from one judge, a classifier trained on real labelled digits:

    * the **confident share**: the share of samples the judge gives one class with
      probability >= ``threshold`` (the Inception Score's idea, Salimans et al. 2016:
      a clear image has a peaked label distribution), and the classes those cover;
    * the **Fréchet distance** between Gaussians fitted to the judge's 64 penultimate
      features of generated and of real digits (the FID's idea, Heusel et al. 2017, with a
      digit judge instead of Inception). Its floor is the distance between two disjoint
      halves of the real digits at the same sample size: real digits themselves score that,
      not 0, because the estimate is biased upwards at finite n.

    ``real`` is split into halves A and B (its first and second half); the generated value
    is FD(first len(A) generated, A) and the floor FD(B, A), so both compare equal sizes.

    Args:
        classifier: a trained ``build_digit_classifier`` model.
        generated: (n, 28, 28, 1) generated images in [-1, 1], n >= len(real) // 2.
        real: (m, 28, 28, 1) real digits (uint8 or [-1, 1]) the judge did not train on,
            m >= 4.
        threshold: confidence that counts as recognised (default 0.9).

    Returns:
        ``{"confident_share_generated", "confident_share_real", "classes_covered",
        "frechet_generated", "frechet_real_floor", "frechet_samples"}``.

    Raises:
        ValueError: too few real digits, or fewer generated images than half of them.
    """
    generated, real = np.asarray(generated), np.asarray(real)
    half = len(real) // 2
    if half < 2 or len(generated) < half:
        raise ValueError(
            f"Need >= 4 real digits and >= half as many generated images. Received: "
            f"{len(real)} real, {len(generated)} generated"
        )
    fake_p, fake_f = _judge_outputs(classifier, generated)
    real_p, real_f = _judge_outputs(classifier, real)
    fake_f, a, b = fake_f[:half], real_f[:half], real_f[half : 2 * half]
    return {
        "confident_share_generated": confident_share(fake_p, threshold),
        "confident_share_real": confident_share(real_p, threshold),
        "classes_covered": int((class_coverage(fake_p, threshold) > 0).sum()),
        "frechet_generated": frechet_distance(fake_f, a),
        "frechet_real_floor": frechet_distance(b, a),
        "frechet_samples": half,
    }


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
    """Train ``build_domain_classifier`` on uint8 images of domain 0 and domain 1.

    Each epoch shows every image once as it is and once mirrored, in a seeded random
    order. Images are scaled batch by batch, so the 2,014 apple2orange training images
    at 256 px take 0.4 GB (uint8), not the 3 GB of a float copy with its mirror.
    """
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    images = np.concatenate([images_0, images_1])
    labels = np.concatenate([np.zeros(len(images_0)), np.ones(len(images_1))]).astype(np.float32)
    n = len(images)

    @tf.autograph.experimental.do_not_convert  # plain TensorFlow ops: nothing to convert
    def example(i):
        image = (tf.cast(tf.gather(images, i % n), tf.float32) - 127.5) / 127.5
        image = tf.cond(i >= n, lambda: image[:, ::-1], lambda: image)  # the mirrored copy
        return image, tf.gather(labels, i % n)[None]

    examples = (
        tf.data.Dataset.range(2 * n)
        .shuffle(2 * n, seed=seed, reshuffle_each_iteration=True)
        .map(example)
        .batch(batch_size)
        .prefetch(tf.data.AUTOTUNE)
    )
    model = build_domain_classifier(images.shape[1])
    model.fit(examples, epochs=epochs, shuffle=False, verbose=0)  # shuffled above
    return model


def domain_share(classifier: keras.Model, images, domain: int) -> float:
    """Share of ``images`` (uint8 or [-1, 1]) that ``classifier`` assigns to ``domain``."""
    images = np.asarray(images)
    x = data.normalize(images) if images.dtype == np.uint8 else images.astype(np.float32)
    p = classifier.predict(x, verbose=0)[:, 0]
    return float(np.mean((p >= 0.5) == bool(domain)))


def cyclegan_scores(g, f, images_x, images_y, classifier, batch_size: int = 16) -> dict:
    """Lesson 3's numbers: whether G and F translate into the other domain, and how
    exactly the cycle brings each image back. The notebook and ``gan-lab train``
    (summary.json) both report this function's result.

    Every image is translated once, in batches, in inference mode (``training=False``;
    CycleGAN's networks have instance norm and no dropout, so the mode changes nothing).
    The means are over all pixels and channels of all images of a domain (not means of
    per-batch means, which weigh a smaller last batch more).

    Args:
        g: G, X -> Y (apples to oranges); f: F, Y -> X. Keras models, or any callables
            ``(images, training=False) -> images`` in [-1, 1].
        images_x, images_y: test images of X and Y, (n, h, w, 3) uint8 or [-1, 1].
        classifier: a domain classifier (``train_domain_classifier``): P(domain Y) for
            images in [-1, 1], (batch, 1).
        batch_size: images per call (default 16).

    Returns:
        ``{"x_to_y": share of G(x) the classifier puts in Y, "y_to_x": share of F(y) it
        puts in X, "translated": the mean of the two (1.0 best), "real_accuracy": its
        accuracy on the real images, the mean over the two domains (the ceiling for the
        shares), "reconstruction_l1_x": mean |F(G(x)) - x|, "reconstruction_l1_y": mean
        |G(F(y)) - y|, "reconstruction_l1": the mean of the two (0 best), "images_x",
        "images_y": the counts}``; the L1s on the [0, 1] pixel scale (half the difference
        in [-1, 1]).
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1. Received: batch_size={batch_size}")

    def scaled(images):
        images = np.asarray(images)
        return data.normalize(images) if images.dtype == np.uint8 else images.astype(np.float32)

    def p_y(images):  # the classifier's P(domain Y)
        return np.asarray(classifier(images, training=False), np.float32)[:, 0]

    scores = {}
    for name, images, there, back, domain in (("x", images_x, g, f, 0), ("y", images_y, f, g, 1)):
        n = len(images)
        if n == 0:
            raise ValueError(f"images_{name} is empty: cyclegan_scores needs test images.")
        error, translated, recognised = 0.0, 0, 0
        for start in range(0, n, batch_size):
            real = scaled(images[start : start + batch_size])
            fake = np.asarray(there(real, training=False), np.float32)
            cycled = np.asarray(back(fake, training=False), np.float32)
            error += float(np.abs(cycled - real).sum(dtype=np.float64))
            translated += int(np.sum((p_y(fake) >= 0.5) != bool(domain)))
            recognised += int(np.sum((p_y(real) >= 0.5) == bool(domain)))
        scores[f"reconstruction_l1_{name}"] = error / (2.0 * n * real[0].size)
        scores[f"{name}_to_{'y' if name == 'x' else 'x'}"] = translated / n
        scores[f"real_{name}"] = recognised / n
    return {
        "x_to_y": scores["x_to_y"],
        "y_to_x": scores["y_to_x"],
        "translated": (scores["x_to_y"] + scores["y_to_x"]) / 2,
        "real_accuracy": (scores["real_x"] + scores["real_y"]) / 2,
        "reconstruction_l1_x": scores["reconstruction_l1_x"],
        "reconstruction_l1_y": scores["reconstruction_l1_y"],
        "reconstruction_l1": (scores["reconstruction_l1_x"] + scores["reconstruction_l1_y"]) / 2,
        "images_x": len(images_x),
        "images_y": len(images_y),
    }


# --------------------------------------------------------------------------- FID and KID


def _feature_matrix(features, name: str) -> np.ndarray:
    """``features`` as a finite float64 (n, d) array with n >= 2, or a ValueError."""
    x = np.asarray(features, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 2 or x.shape[1] < 1:
        raise ValueError(f"{name} must be (n, d) with n >= 2. Received shape: {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{name} holds NaN or infinite values ({(~np.isfinite(x)).sum()})")
    return x


def _covariance_factor(x: np.ndarray) -> np.ndarray:
    """A (d, k) matrix F with F @ F.T == the sample covariance of x (ddof 1), k <= min(n-1, d).

    With fewer samples than dimensions the centred data itself is the factor (exact, no
    decomposition); otherwise the eigenvectors of the covariance scaled by the square roots
    of its eigenvalues, tiny negative ones from round-off clipped to 0.
    """
    n, d = x.shape
    centred = x - x.mean(axis=0)
    if n <= d:
        return centred.T / np.sqrt(n - 1)
    eigenvalues, eigenvectors = np.linalg.eigh(centred.T @ centred / (n - 1))
    return eigenvectors * np.sqrt(np.clip(eigenvalues, 0.0, None))


def frechet_distance(features_a, features_b) -> float:
    """The Fréchet distance between Gaussians fitted to two feature sets (FID on Inception
    features).

    FID = |mu_a - mu_b|^2 + Tr(S_a + S_b - 2 (S_a S_b)^(1/2)), with the sample means mu and
    covariances S (ddof 1, as pytorch-fid and the TTUR code use): the squared 2-Wasserstein
    distance between N(mu_a, S_a) and N(mu_b, S_b). 0 for identical sets; lower is better.

    How the square root is computed (so it is real and finite for any inputs): write each
    covariance as S = F F^T with a real factor F (the centred features / sqrt(n - 1) when
    n <= d, else eigenvectors times the square roots of the eigenvalues clipped at 0). The
    eigenvalues of S_a S_b are those of (F_a^T F_b)(F_a^T F_b)^T, the squared singular
    values of F_a^T F_b, so Tr((S_a S_b)^(1/2)) is the sum of those singular values, which
    an SVD returns real and non-negative. This is exact also for singular covariances
    (n < d, where ``scipy.linalg.sqrtm`` of the product returns complex values or needs the
    eps * I offset pytorch-fid adds), and never takes a real part of a complex result. A
    value below 0 can come only from round-off (at most ~1e-12 of Tr(S_a) + Tr(S_b)) and is
    returned as 0.

    Args:
        features_a: (n_a, d) features of one image set, n_a >= 2.
        features_b: (n_b, d) features of the other, n_b >= 2.

    Returns:
        The distance, a float >= 0 (float64 arithmetic throughout).

    Raises:
        ValueError: the arrays are not (n >= 2, d) with one d, or hold NaN/inf.

    Reference:
        Heusel et al., "GANs Trained by a Two Time-Scale Update Rule Converge to a Local
        Nash Equilibrium", NeurIPS 2017 (section "FID"); Dowson and Landau 1982 for the
        closed form. FID is biased upwards at small n (Bińkowski et al. 2018, appendix D):
        compare values only at equal sample sizes.
    """
    a, b = _feature_matrix(features_a, "features_a"), _feature_matrix(features_b, "features_b")
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"features_a and features_b differ in d. Received: {a.shape}, {b.shape}")
    factor_a, factor_b = _covariance_factor(a), _covariance_factor(b)
    trace_sqrt = np.linalg.svd(factor_a.T @ factor_b, compute_uv=False).sum()
    mean_term = np.sum((a.mean(axis=0) - b.mean(axis=0)) ** 2)
    value = mean_term + np.sum(factor_a**2) + np.sum(factor_b**2) - 2.0 * trace_sqrt
    return float(max(value, 0.0))


def kernel_distance(
    features_a,
    features_b,
    subsets: int = 100,
    subset_size: int = 1000,
    rng: int | np.random.Generator = 0,
) -> tuple[float, float]:
    """The kernel distance between two feature sets (KID on Inception features).

    The unbiased estimator of the squared maximum mean discrepancy with the cubic
    polynomial kernel k(x, y) = (x.y / d + 1)^3, averaged over ``subsets`` random subsets
    of ``m = min(subset_size, n_a, n_b)`` features of each set (drawn without
    replacement, a new draw per subset):

        MMD^2_u = sum_{i != j} k(a_i, a_j) / (m (m - 1)) + sum_{i != j} k(b_i, b_j) / (m (m - 1))
                  - 2 sum_{i, j} k(a_i, b_j) / m^2.

    Its expectation is the true MMD^2 at any sample size (unlike FID's), so it is the
    number to compare between small test sets; it can be slightly negative when the two
    distributions are close. Papers often quote it x 100 or x 1000.

    Args:
        features_a: (n_a, d) features of one image set, n_a >= 2.
        features_b: (n_b, d) features of the other, n_b >= 2.
        subsets: number of random subsets, default 100 (torch-fidelity's default).
        subset_size: features per subset, default 1000, capped at min(n_a, n_b).
        rng: seed or ``np.random.Generator`` for the subsets, default 0 (reproducible).

    Returns:
        ``(mean, std)`` over the subsets. ``std`` measures the spread of one subset's
        estimate; subsets overlap when n is small, so it is not a standard error (when
        ``m`` equals both set sizes, every subset is the whole set and ``std`` is 0).

    Raises:
        ValueError: bad shapes, NaN/inf, ``subsets < 1`` or ``subset_size < 2``.

    Reference:
        Bińkowski, Sutherland, Arbel and Gretton, "Demystifying MMD GANs", ICLR 2018
        (section 4, "KID"); their code, mbinkowski/MMD-GAN ``compute_scores.py``.
    """
    a, b = _feature_matrix(features_a, "features_a"), _feature_matrix(features_b, "features_b")
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"features_a and features_b differ in d. Received: {a.shape}, {b.shape}")
    if subsets < 1 or subset_size < 2:
        raise ValueError(
            f"Need subsets >= 1 and subset_size >= 2. Received: subsets={subsets}, "
            f"subset_size={subset_size}"
        )
    rng = np.random.default_rng(rng)
    d, m = a.shape[1], min(subset_size, len(a), len(b))
    estimates = np.empty(subsets)
    for s in range(subsets):
        x = a[rng.choice(len(a), m, replace=False)]
        y = b[rng.choice(len(b), m, replace=False)]
        k_xx, k_yy, k_xy = ((p @ q.T / d + 1.0) ** 3 for p, q in ((x, x), (y, y), (x, y)))
        within = (k_xx.sum() - np.trace(k_xx) + k_yy.sum() - np.trace(k_yy)) / (m * (m - 1))
        estimates[s] = within - 2.0 * k_xy.sum() / m**2
    return float(estimates.mean()), float(estimates.std())


# --------------------------------------------------------------------------- Inception features

INCEPTION_WEIGHTS = "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5"
INCEPTION_URL = (  # where keras.applications.InceptionV3 downloads it from
    "https://storage.googleapis.com/tensorflow/keras-applications/inception_v3/" + INCEPTION_WEIGHTS
)
INCEPTION_MD5 = "bcbd6486424b2319ff4ef7d526e38f63"  # Keras' own file_hash for this file
INCEPTION_SIZE = 299  # the input size InceptionV3 was trained at


def inception_weights_path(download_missing: bool = True) -> Path:
    """The ImageNet InceptionV3 weights (no top) in the Keras cache, downloaded if missing.

    The file is looked for where Keras keeps it, ``$KERAS_HOME/models/`` (default
    ``~/.keras/models/``), and checked against Keras' md5.

    Raises:
        DatasetNotFoundError: it is absent and cannot be downloaded (offline), or
            ``download_missing`` is False; the message says what to place where.
        DataError: the file there is not the right one (md5 mismatch).
    """
    home = Path(os.environ.get("KERAS_HOME") or "~/.keras").expanduser()
    path = home / "models" / INCEPTION_WEIGHTS
    how = (
        f"FID and KID need the ImageNet weights of InceptionV3: download {INCEPTION_URL} "
        f"(md5 {INCEPTION_MD5}) on a machine with internet access and place it at {path} "
        "(the Keras cache: $KERAS_HOME/models/, default ~/.keras/models/). gan_lab never "
        "computes FID/KID with random weights."
    )
    if not path.exists():
        if not download_missing:
            raise DatasetNotFoundError(f"{INCEPTION_WEIGHTS} is not in {path.parent}. {how}")
        try:
            data.download(INCEPTION_URL, path)
        except OSError as e:
            raise DatasetNotFoundError(
                f"{INCEPTION_WEIGHTS} is not in {path.parent} and could not be downloaded "
                f"({e}). {how}"
            ) from e
    digest = hashlib.md5(path.read_bytes()).hexdigest()
    if digest != INCEPTION_MD5:
        raise DataError(f"{path} has md5 {digest}, not {INCEPTION_MD5}: remove it. {how}")
    return path


def build_inception(weights: str | None = "imagenet", download_missing: bool = True):
    """InceptionV3 up to its 2048-d global average pool, in float32 (a judge must not
    change with the precision of the models it judges).

    Args:
        weights: "imagenet" (default; :func:`inception_weights_path` finds or downloads
            them, or raises) or None for random weights, which only tests should use.
        download_missing: passed to :func:`inception_weights_path`.

    Returns:
        Model mapping (batch, 299, 299, 3) float32 in [-1, 1] (``inception_v3.
        preprocess_input`` scaling) to (batch, 2048) float32 features.

    Raises:
        DatasetNotFoundError, DataError: from :func:`inception_weights_path`.
        ValueError: ``weights`` is neither "imagenet" nor None.

    Reference:
        Szegedy et al., "Rethinking the Inception Architecture for Computer Vision", 2016.
    """
    if weights not in ("imagenet", None):
        raise ValueError(f'weights must be "imagenet" or None. Received: weights={weights!r}')
    path = inception_weights_path(download_missing) if weights == "imagenet" else None
    if path is not None:
        return _imagenet_inception(str(path))
    with runtime.precision_policy("float32"):
        return keras.applications.InceptionV3(
            include_top=False, weights=None, input_shape=(299, 299, 3), pooling="avg"
        )


@functools.cache
def _imagenet_inception(path: str):
    """One ImageNet InceptionV3 per process and weights file (building it takes seconds)."""
    with runtime.precision_policy("float32"):
        model = keras.applications.InceptionV3(
            include_top=False, weights=None, input_shape=(299, 299, 3), pooling="avg"
        )
    model.load_weights(path)
    return model


def _inception_input(batch):
    """A batch of uint8 or [-1, 1] images (an array, or a list of any sizes), grayscale or
    RGB, as InceptionV3's input: (batch, 299, 299, 3) float32 in [-1, 1], resized bilinearly."""
    import tensorflow as tf

    def resized(x):  # (..., h, w[, 1|3]) uint8 or [-1, 1] -> (..., 299, 299, 3) 0..255
        x = x[..., None] if x.ndim == (2 if isinstance(batch, list) else 3) else x
        if x.dtype == np.uint8:
            x = x.astype(np.float32)
        else:  # within 1e-3 of [-1, 1] (checked): clip the round-off
            x = (np.clip(x.astype(np.float32), -1.0, 1.0) + 1.0) * 127.5
        x = tf.image.resize(x, (INCEPTION_SIZE, INCEPTION_SIZE), method="bilinear")
        return x if x.shape[-1] == 3 else tf.repeat(x, 3, axis=-1)

    if isinstance(batch, list):
        x = tf.stack([resized(np.asarray(image)) for image in batch])
    else:
        x = resized(np.asarray(batch))
    return keras.applications.inception_v3.preprocess_input(x)  # x / 127.5 - 1


def _check_images(images) -> None:
    """Raise ValueError unless ``images`` is a (n, h, w[, 1|3]) array or a list of
    (h, w[, 1|3]) arrays, each uint8 or float in [-1, 1]."""
    if not isinstance(images, list):
        shape = np.shape(images)
        if len(shape) not in (3, 4) or (len(shape) == 4 and shape[-1] not in (1, 3)):
            raise ValueError(
                f"inception_features: images must be (n, h, w), (n, h, w, 1) or "
                f"(n, h, w, 3). Received shape: {shape}"
            )
    for i, image in enumerate(images):
        x = np.asarray(image)
        if x.ndim not in (2, 3) or (x.ndim == 3 and x.shape[-1] not in (1, 3)):
            raise ValueError(
                f"inception_features: image {i} has shape {x.shape}, not (h, w), (h, w, 1) "
                "or (h, w, 3)"
            )
        if x.dtype != np.uint8 and not (
            np.all(np.isfinite(x)) and x.min() >= -1.001 and x.max() <= 1.001
        ):
            raise ValueError(
                f"inception_features: image {i} ({x.dtype}) is not within [-1, 1] (range "
                f"{x.min()}..{x.max()}); pass uint8 0..255 or floats in [-1, 1]"
            )


def inception_features(images, batch_size: int = 50, extractor=None, progress: bool = True):
    """The 2048-d InceptionV3 pool features of images, the input of FID and KID.

    Preprocessing (Keras' InceptionV3 protocol): uint8 0..255, or floats in [-1, 1] (the
    generators' range) taken as (x + 1) * 127.5; grayscale repeated to 3 channels; each
    image resized to 299x299 bilinearly (``tf.image.resize``, no antialiasing, as
    pytorch-fid's bilinear ``F.interpolate``); then ``inception_v3.preprocess_input``
    (x / 127.5 - 1). Computed in float32 batches whatever the precision policy.

    Args:
        images: (n, h, w[, 1|3]) array, or a list of (h, w[, 1|3]) arrays of any sizes.
        batch_size: images per forward pass, default 50.
        extractor: the model, by default ``build_inception()`` (ImageNet weights; raises if
            they cannot be had). Any callable from (batch, 299, 299, 3) float32 in [-1, 1]
            to (batch, d) features does, e.g. ``build_inception(weights=None)`` in tests.
        progress: show a tqdm progress bar (default True).

    Returns:
        (n, d) float32 features, d = 2048 for InceptionV3.

    Raises:
        DatasetNotFoundError: the ImageNet weights are absent and cannot be downloaded.
        ValueError: empty input, a bad shape or a float image outside [-1, 1].
    """
    from tqdm.auto import tqdm

    if len(images) == 0:
        raise ValueError("inception_features needs at least one image. Received: 0")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1. Received: batch_size={batch_size}")
    _check_images(images)
    extractor = build_inception() if extractor is None else extractor
    call = (
        functools.partial(extractor, training=False)
        if isinstance(extractor, keras.Layer)
        else extractor
    )
    features = []
    with tqdm(
        total=len(images), unit="img", desc="Inception features", disable=not progress
    ) as bar:
        for start in range(0, len(images), batch_size):
            batch = images[start : start + batch_size]
            batch = list(batch) if isinstance(images, list) else np.asarray(batch)
            features.append(np.asarray(call(_inception_input(batch)), dtype=np.float32))
            bar.update(len(batch))
    return np.concatenate(features)


def inception_scores(
    real_images,
    fake_images,
    extractor=None,
    batch_size: int = 50,
    kid_subsets: int = 100,
    kid_subset_size: int = 1000,
    seed: int = 0,
    progress: bool = True,
) -> dict:
    """FID and KID between two image sets on InceptionV3 features: the numbers papers and
    model zoos report (compare them only under the same protocol; see the README).

    Args:
        real_images, fake_images: as for :func:`inception_features`, at least 2 each.
        extractor: as for :func:`inception_features` (default: ImageNet InceptionV3).
        batch_size, progress: as for :func:`inception_features`.
        kid_subsets, kid_subset_size, seed: as for :func:`kernel_distance`.

    Returns:
        ``{"fid": float, "kid": float, "kid_std": float, "real_images": n_real,
        "fake_images": n_fake, "kid_subset_size": m}``; FID and KID as computed (papers
        often print KID x 100 or x 1000).

    Raises:
        DatasetNotFoundError: the ImageNet weights are absent and cannot be downloaded.
    """
    extractor = build_inception() if extractor is None else extractor
    real = inception_features(real_images, batch_size, extractor, progress)
    fake = inception_features(fake_images, batch_size, extractor, progress)
    kid, kid_std = kernel_distance(real, fake, kid_subsets, kid_subset_size, seed)
    return {
        "fid": frechet_distance(real, fake),
        "kid": kid,
        "kid_std": kid_std,
        "real_images": len(real),
        "fake_images": len(fake),
        "kid_subset_size": min(kid_subset_size, len(real), len(fake)),
    }
