"""Scores: numbers that tell a learner whether training worked.

Image scores (L1, PSNR, SSIM), the Fréchet and kernel distances between feature sets (FID
and KID on ``inception`` features), mode coverage of the toy ring, and each lesson's final
numbers (``digit_scores``, ``fcn_scores``, ``cyclegan_scores``) computed with the ``judges``.
"""

from __future__ import annotations

import keras
import numpy as np

from gan_lab import data, judges


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
        "classes_covered_real", "frechet_generated", "frechet_real_floor", "frechet_samples"}``.

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
    fake_p, fake_f = judges.digit_outputs(classifier, generated)
    real_p, real_f = judges.digit_outputs(classifier, real)
    fake_f, a, b = fake_f[:half], real_f[:half], real_f[half : 2 * half]
    return {
        "confident_share_generated": confident_share(fake_p, threshold),
        "confident_share_real": confident_share(real_p, threshold),
        "classes_covered": int((class_coverage(fake_p, threshold) > 0).sum()),
        "classes_covered_real": int((class_coverage(real_p, threshold) > 0).sum()),
        "frechet_generated": frechet_distance(fake_f, a),
        "frechet_real_floor": frechet_distance(b, a),
        "frechet_samples": half,
    }


def asked_digit_accuracy(classifier, generated, asked, batch_size: int = 500) -> dict:
    """A conditional generator's number: how often the judge reads the digit asked for.

    Args:
        classifier: a trained ``judges.build_digit_classifier`` model, or any callable
            ``(images in [-1, 1], training=False) -> (batch, classes)`` probabilities.
        generated: (n, 28, 28, 1) generated images, uint8 or in [-1, 1].
        asked: (n,) the class each image was generated for; ask for every class equally
            often, so that the overall share weighs each class alike.
        batch_size: images per call of ``classifier`` (default 500).

    Returns:
        ``{"asked_digit_accuracy": share of images whose most likely class is the one
        asked for, "asked_digit_accuracy_per_class": that share for each class (None for a
        class never asked for), "asked_digit_chance": 1 / classes, the share of a
        generator that ignores the label}``.

    Raises:
        ValueError: not one asked class per image.
    """
    generated, asked = np.asarray(generated), np.asarray(asked)
    if asked.shape != (len(generated),) or len(generated) == 0:
        raise ValueError(
            f"Need one asked class per image. Received: {len(generated)} images, asked "
            f"{asked.shape}"
        )
    x = data.normalize(generated) if generated.dtype == np.uint8 else generated.astype("float32")
    batches = [
        classifier(x[i : i + batch_size], training=False) for i in range(0, len(x), batch_size)
    ]
    probabilities = np.concatenate([np.asarray(p) for p in batches])
    hits = probabilities.argmax(axis=1) == asked
    classes = probabilities.shape[1]
    return {
        "asked_digit_accuracy": float(hits.mean()),
        "asked_digit_accuracy_per_class": [
            float(hits[asked == k].mean()) if (asked == k).any() else None for k in range(classes)
        ],
        "asked_digit_chance": 1 / classes,
    }


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


def segmentation_scores(predicted, truth, num_classes: int) -> dict[str, float | int]:
    """Per-pixel accuracy, mean per-class accuracy and mean class IoU of class maps.

    The three numbers of the FCN-score (Isola et al. 2017, section 4.2, Table 1), from
    one confusion matrix summed over all pixels of all images, as the pix2pix evaluation
    code does (``scripts/eval_cityscapes``). A class's accuracy is the share of its true
    pixels predicted as it; its IoU is |predicted and true| / |predicted or true|. The
    means are over the classes present in ``truth`` only: a class absent from the ground
    truth has no accuracy, and its IoU would be 0 or undefined whatever the images, so it
    is left out (pix2pix's code counts an absent but predicted class as IoU 0).

    Args:
        predicted, truth: integer class maps of one shape, e.g. (n, h, w), in
            [0, num_classes).
        num_classes: the number of classes.

    Returns:
        ``{"pixel_acc", "class_acc", "iou"}`` in [0, 1] (1 best), and ``"classes"``: how
        many classes are present in ``truth``.

    Raises:
        ValueError: shapes differ, or a class is outside [0, num_classes).
    """
    predicted, truth = np.asarray(predicted), np.asarray(truth)
    if predicted.shape != truth.shape or truth.size == 0:
        raise ValueError(
            f"predicted and truth must be non-empty class maps of one shape. "
            f"Received: {predicted.shape} and {truth.shape}"
        )
    for name, classes in (("predicted", predicted), ("truth", truth)):
        if classes.min() < 0 or classes.max() >= num_classes:
            raise ValueError(
                f"{name} has classes outside [0, {num_classes}). Received: "
                f"{classes.min()}..{classes.max()}"
            )
    pairs = truth.astype(np.int64).ravel() * num_classes + predicted.ravel()
    confusion = np.bincount(pairs, minlength=num_classes**2).reshape(num_classes, num_classes)
    hits, true, said = np.diag(confusion), confusion.sum(axis=1), confusion.sum(axis=0)
    present = true > 0
    return {
        "pixel_acc": float(hits.sum() / confusion.sum()),
        "class_acc": float(np.mean(hits[present] / true[present])),
        "iou": float(np.mean(hits[present] / (true + said - hits)[present])),
        "classes": int(present.sum()),
    }


def fcn_scores(segmenter, photos, label_maps, batch_size: int = 64) -> dict[str, float | int]:
    """The FCN-score of facade photos: how well a segmenter trained on real photos reads
    each photo's label map back from it (Isola et al. 2017, section 4.2).

    A photo that shows windows where its label map has windows is read back right; a blurry
    or off-layout one is not. Real test photos give the segmenter's own accuracy (not a
    strict ceiling: a generated photo shows nothing its label map leaves out), a photo that
    ignores the label map the floor. Photos and label maps are
    brought to the segmenter's size (``judges.segmenter_inputs`` and
    ``judges.segmenter_targets``: area averaging, palette decoding and nearest neighbour).

    Args:
        segmenter: a trained ``judges.build_facade_segmenter`` model, or any callable
            ``(photos in [-1, 1], training=False) -> (batch, s, s, classes)`` scores.
        photos: (n, h, h, 3) photos, uint8 or [-1, 1].
        label_maps: (n, h', h', 3) uint8 RGB label maps in the CMP palette, the truth.
        batch_size: photos per call (default 64).

    Returns:
        ``segmentation_scores``' ``{"pixel_acc", "class_acc", "iou", "classes"}``.

    Raises:
        ValueError: different numbers of photos and label maps.
    """
    if len(photos) != len(label_maps):
        raise ValueError(
            f"Need one label map per photo. Received: {len(photos)} photos, "
            f"{len(label_maps)} label maps"
        )
    size = segmenter.input.shape[1] if hasattr(segmenter, "input") else photos.shape[1]
    x = judges.segmenter_inputs(photos, size)
    truth = judges.segmenter_targets(label_maps, size)
    batches = (x[i : i + batch_size] for i in range(0, len(x), batch_size))
    scores = np.concatenate([np.asarray(segmenter(b, training=False)) for b in batches])
    return segmentation_scores(scores.argmax(-1), truth, scores.shape[-1])


def cyclegan_scores(g, f, images_x, images_y, classifier, batch_size: int = 16) -> dict:
    """Lesson 4's numbers (CycleGAN): whether G and F translate into the other domain, and
    how exactly the cycle brings each image back.

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


def _identity(images, training=False):
    return images


def _swap(images, training=False):  # each image replaced by another of its batch
    return np.roll(images, 1, axis=0)


def cyclegan_baselines(images_x, images_y, classifier, batch_size: int = 16) -> dict:
    """What two do-nothing translators score under ``cyclegan_scores``: the identity map
    (translates nothing, so its share per direction is the floor a CycleGAN must beat) and
    a map that swaps each image for another (forgets the content, so its reconstruction
    error is the one a cycle that keeps nothing reaches).

    Returns:
        ``{"real_accuracy", "x_to_y_identity", "y_to_x_identity",
        "reconstruction_l1_swapped"}``; ``real_accuracy`` is ``cyclegan_scores``' (the
        judge's accuracy on the real images, whatever the translator).
    """
    identity = cyclegan_scores(_identity, _identity, images_x, images_y, classifier, batch_size)
    swapped = cyclegan_scores(_swap, _swap, images_x, images_y, classifier, batch_size)
    return {
        "real_accuracy": identity["real_accuracy"],
        "x_to_y_identity": identity["x_to_y"],
        "y_to_x_identity": identity["y_to_x"],
        "reconstruction_l1_swapped": swapped["reconstruction_l1"],
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
