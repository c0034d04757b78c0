"""Each lesson's final numbers, measured one way for the notebooks, ``gan-lab train``
(``summary.json``) and the tests: which samples are drawn and how, which judge reads them,
and the trivial baseline each result must beat.

Like ``recipes``, it imports TensorFlow only when something is measured.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gan_lab import errors

if TYPE_CHECKING:
    import keras
    import numpy as np

RING_SAMPLES = 2500  # samples of a lesson 1 generator judged (VEEGAN's protocol)


# --------------------------------------------------------------------------- using a generator


def infer(config: dict, generator: keras.Model, inputs) -> np.ndarray:
    """Run ``generator`` of a run of ``config`` in that lesson's inference protocol: Pix2Pix
    as the paper's test phase (``models.pix2pix_translate``), the others in inference mode
    (``training=False``: CycleGAN's instance norm and DCGAN's generator have no dropout, and
    DCGAN's batch norm uses its moving statistics)."""
    import keras
    import numpy as np

    from gan_lab import models

    if config["model"] == "pix2pix":
        return models.pix2pix_translate(generator, inputs)
    batches = [generator(inputs[i : i + 32], training=False) for i in range(0, len(inputs), 32)]
    return np.concatenate([keras.ops.convert_to_numpy(b) for b in batches]).astype(np.float32)


# --------------------------------------------------------------------------- lesson 1: the ring


def ring_coverage(generator: keras.Model, seed: int) -> dict:
    """Lesson 1's final number: ``metrics.mode_coverage`` of ``RING_SAMPLES`` samples of
    ``generator`` on the ring of 8 Gaussians, from noise fixed by ``seed`` (NumPy's, so
    the same noise whatever TensorFlow drew before).

    Returns:
        ``{"modes", "high_quality", "per_mode", "samples"}``: covered modes (of 8), share
        of high-quality samples, high-quality samples per mode, and the samples judged.
    """
    import numpy as np

    from gan_lab import data, metrics

    noise = np.random.default_rng(seed).standard_normal((RING_SAMPLES, generator.input_shape[-1]))
    samples = np.asarray(generator(noise.astype(np.float32), training=False), np.float32)
    return {
        **metrics.mode_coverage(samples, data.ring_centers(), data.RING_STD),
        "samples": samples,
    }


# --------------------------------------------------------------------------- lesson 2: DCGAN


def dcgan_samples(generator: keras.Model, c: dict) -> tuple[np.ndarray, np.ndarray | None]:
    """The ``eval_samples`` digits lesson 2 scores: ``generator`` (inference mode) on noise
    seeded by ``seed + 1``, as (n, 28, 28, 1) float32 in [-1, 1], and the digits asked for
    (None for an unconditional generator): a conditional one is asked for 0, 1, ..., 9,
    0, 1, ... in turn, so every class gets ``eval_samples // 10`` of them."""
    import numpy as np
    import tensorflow as tf

    from gan_lab import data

    z = tf.random.normal([c["eval_samples"], c["latent_dim"]], seed=c["seed"] + 1)
    if not c["conditional"]:
        return np.asarray(generator.predict(z, verbose=0, batch_size=500), np.float32), None
    n = c["eval_samples"] // data.NUM_DIGITS * data.NUM_DIGITS
    asked = np.arange(n) % data.NUM_DIGITS
    inputs = [z[:n], np.eye(data.NUM_DIGITS, dtype=np.float32)[asked]]
    return np.asarray(generator.predict(inputs, verbose=0, batch_size=500), np.float32), asked


def dcgan_scores(
    generator: keras.Model, untrained: keras.Model, c: dict, train, test
) -> tuple[dict, keras.Model]:
    """Lesson 2's final number, for the notebook and ``summary.json`` alike.

    Trains the judge (``judges.train_digit_classifier``, ``judge_epochs`` epochs, seeded
    by ``seed``) on the labelled training digits ``train``, and scores ``dcgan_samples``
    against the test digits ``test`` with ``metrics.digit_scores`` (confident share and
    Fréchet distance on the judge's features, with the real-vs-real floor), and, as the
    reference a trained generator must beat, ``untrained``'s (a freshly built one). A
    conditional generator is also scored by ``metrics.asked_digit_accuracy``: how often
    the judge reads the digit it was asked for (chance: 1 in 10).

    Returns:
        ``(scores, judge)``: the scores dict (``metrics.digit_scores``'s keys, plus
        ``confident_share_untrained``, ``classes_covered_untrained`` and
        ``frechet_untrained``; conditional: ``metrics.asked_digit_accuracy``'s keys and
        ``asked_digit_accuracy_untrained``)
        and the trained classifier.
    """
    from gan_lab import judges, metrics

    judge, _ = judges.train_digit_classifier(
        train.images, train.labels, epochs=c["judge_epochs"], seed=c["seed"]
    )
    scores, baseline = {}, {}
    for network, result in ((generator, scores), (untrained, baseline)):
        images, asked = dcgan_samples(network, c)
        result.update(metrics.digit_scores(judge, images, test.images))
        if asked is not None:
            result.update(metrics.asked_digit_accuracy(judge, images, asked))
    scores["confident_share_untrained"] = baseline["confident_share_generated"]
    scores["classes_covered_untrained"] = baseline["classes_covered"]
    scores["frechet_untrained"] = baseline["frechet_generated"]
    if "asked_digit_accuracy" in baseline:
        scores["asked_digit_accuracy_untrained"] = baseline["asked_digit_accuracy"]
    return scores, judge


# --------------------------------------------------------------------------- lesson 3: Pix2Pix


def pix2pix_scores(generator: keras.Model, test) -> dict[str, float]:
    """Lesson 3's number: L1, PSNR and SSIM of the generator's photos against the real
    ones of the test split ``test`` (``data.PairSet``; ``metrics.image_scores``, on the
    [0, 1] scale), under the paper's inference protocol (``models.pix2pix_translate``:
    each image alone, batch statistics of that image, dropout on, fixed dropout seed)."""
    from gan_lab import data, metrics, models

    x, y = data.normalize(test.inputs), data.normalize(test.targets)
    return metrics.image_scores(models.pix2pix_translate(generator, x), y)


def pix2pix_fcn_scores(photos, c: dict, train, test) -> dict[str, float]:
    """Lesson 3's FCN-score (Isola et al. 2017, section 4.2): how well a segmenter trained
    on real photos reads the test label maps back from ``photos``, beside the real photos'
    score and the floor.

    Trains the judge once (``judges.train_facade_segmenter`` on ``train``'s photos and
    label maps, ``segmenter_epochs`` epochs at ``segmenter_size`` px, or the images' size
    if smaller, seeded by ``seed``) and scores with ``metrics.fcn_scores``: ``photos``
    (the generator's, under ``models.pix2pix_translate``), the real test photos (the
    segmenter's accuracy on the photos it was made for: not a strict ceiling, since a
    generated photo shows nothing its label map leaves out) and the mean
    training photo for every label map (the floor: a photo that ignores its label map).

    Args:
        photos: (n, size, size, 3) generated photos in [-1, 1], one per test label map.
        c: the run's settings.
        train, test: ``data.PairSet`` of the training and test splits.

    Returns:
        ``{"fcn_pixel_acc", "fcn_class_acc", "fcn_iou"}`` of ``photos``, and the same keys
        with ``_real`` and ``_mean_photo`` appended; each in [0, 1], 1 best.
    """
    import numpy as np

    from gan_lab import data, judges, metrics

    size = min(c["segmenter_size"], train.targets.shape[1])
    segmenter = judges.train_facade_segmenter(
        train.targets,
        train.inputs,
        epochs=c["segmenter_epochs"],
        image_size=size,
        seed=c["seed"],
    )
    mean_photo = np.broadcast_to(data.normalize(train.targets).mean(axis=0), test.targets.shape)
    scores = {}
    for suffix, guess in (("", photos), ("_real", test.targets), ("_mean_photo", mean_photo)):
        s = metrics.fcn_scores(segmenter, guess, test.inputs)
        scores.update({f"fcn_{key}{suffix}": s[key] for key in ("pixel_acc", "class_acc", "iou")})
    return scores


def pix2pix_baseline(guess, photos) -> float:
    """The test L1 (``metrics.image_scores``' scale) of a guess that ignores the label map,
    e.g. the mean training photo or a flat grey image: what a generator must beat."""
    from gan_lab import metrics

    return metrics.image_scores(guess, photos)["l1"]


# ----------------------------------------------------------- FID and KID (lessons 3, 4)


def inception_report(real_images, fake_images, quick: bool) -> dict:
    """FID and KID on InceptionV3 features (``inception.inception_scores``), the numbers
    papers report, when Keras' ImageNet weights are at hand (downloaded in full mode only;
    quick mode uses them if they are already cached). Without them, ``fid`` and ``kid``
    are None and ``inception_missing`` says which file to place where; random weights are
    never used."""
    from gan_lab import inception

    try:
        extractor = inception.build_inception(download_missing=not quick)
    except errors.DatasetNotFoundError as e:
        return {"fid": None, "kid": None, "inception_missing": str(e)}
    scores = inception.inception_scores(real_images, fake_images, extractor, progress=False)
    return {key: scores[key] for key in ("fid", "kid", "kid_std", "kid_subset_size")}


def cyclegan_inception(c: dict, g: keras.Model, f: keras.Model, test) -> dict:
    """Lesson 4's FID and KID (``inception_report``) in both directions: G(test apples)
    against the real test oranges (``*_apples_to_oranges``) and F(test oranges) against the
    real test apples (``*_oranges_to_apples``); or ``inception_missing`` without the weights."""
    from gan_lab import data

    x, y = data.normalize(test.a), data.normalize(test.b)
    scores = {}
    for direction, real, fake in [
        ("apples_to_oranges", test.b, infer(c, g, x)),
        ("oranges_to_apples", test.a, infer(c, f, y)),
    ]:
        report = inception_report(real, fake, c["quick"])
        if report["fid"] is None:
            return {"inception_missing": report["inception_missing"]}
        scores.update({f"{key}_{direction}": value for key, value in report.items()})
    return scores
