"""InceptionV3 features, the input of FID and KID: the numbers papers and model zoos report.

The network is Keras' own ``keras.applications.InceptionV3`` with its ImageNet weights,
never random ones: when the weights are neither in Keras' cache nor downloadable, a
``DatasetNotFoundError`` says which file to place where.
"""

from __future__ import annotations

import functools

import keras
import numpy as np

from gan_lab import runtime
from gan_lab.data import files
from gan_lab.errors import DataError, DatasetNotFoundError
from gan_lab.metrics import frechet_distance, kernel_distance

INCEPTION_WEIGHTS = "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5"
INCEPTION_URL = (  # where keras.applications.InceptionV3 downloads it from
    "https://storage.googleapis.com/tensorflow/keras-applications/inception_v3/" + INCEPTION_WEIGHTS
)
INCEPTION_MD5 = "bcbd6486424b2319ff4ef7d526e38f63"  # Keras' own file_hash for this file
INCEPTION_SIZE = 299  # the input size InceptionV3 was trained at


def build_inception(download_missing: bool = True) -> keras.Model:
    """ImageNet InceptionV3 up to its 2048-d global average pool, in float32 (a judge must
    not change with the precision of the models it judges); one per process.

    The weights file is looked for where Keras keeps it, ``$KERAS_HOME/models/`` (default
    ``~/.keras/models/``), and checked against Keras' md5; if missing it is downloaded there
    (with its size and progress shown), where ``keras.applications.InceptionV3`` finds it.

    Args:
        download_missing: download the weights if they are missing (default True).

    Returns:
        Model mapping (batch, 299, 299, 3) float32 in [-1, 1] (``inception_v3.
        preprocess_input`` scaling) to (batch, 2048) float32 features.

    Raises:
        DatasetNotFoundError: the weights are absent and cannot be downloaded (offline),
            or ``download_missing`` is False; the message says what to place where.
        DataError: the file there is not the right one (md5 mismatch).

    Reference:
        Szegedy et al., "Rethinking the Inception Architecture for Computer Vision", 2016.
    """
    path = files.keras_cache("models", INCEPTION_WEIGHTS)
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
            files.download(INCEPTION_URL, path, md5=INCEPTION_MD5)
        except OSError as e:
            raise DatasetNotFoundError(
                f"{INCEPTION_WEIGHTS} is not in {path.parent} and could not be downloaded "
                f"({e}). {how}"
            ) from e
    digest = files.md5_of(path)
    if digest != INCEPTION_MD5:
        raise DataError(f"{path} has md5 {digest}, not {INCEPTION_MD5}: remove it. {how}")
    return _imagenet_inception()


@functools.cache
def _imagenet_inception() -> keras.Model:
    """Building it takes seconds: once per process."""
    return _inception_v3("imagenet")


def _inception_v3(weights: str | None) -> keras.Model:
    with runtime.precision_policy("float32"):
        return keras.applications.InceptionV3(
            include_top=False, weights=weights, input_shape=(299, 299, 3), pooling="avg"
        )


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
            to (batch, d) features does.
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
    model zoos report (compare them only under the same protocol; see docs/metrics.md).

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
