"""Digits: real MNIST (Keras' mnist.npz or the idx files) and gan_lab's synthetic digits."""

from __future__ import annotations

import gzip
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gan_lab.data.files import download, keras_cache, resolve_root, sha256_of
from gan_lab.data.images import IndexedBatches, normalize, quick_count, stream_seed
from gan_lab.errors import DataError, DatasetNotFoundError

MNIST_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
MNIST_SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"
_IDX_PREFIX = {"train": "train", "test": "t10k"}
NUM_DIGITS = 10  # MNIST's classes, 0-9 (a conditional DCGAN's labels)


@dataclass(frozen=True)
class ImageSet:
    """Images with labels and a human-readable account of where they came from.

    Attributes:
        images: uint8 array (n, height, width, channels), values 0..255.
        labels: int64 array (n,), or None.
        source: one line naming the dataset, split and origin; starts with
            ``SYNTHETIC`` for data gan_lab generated itself.
        synthetic: True for generated data.
    """

    images: np.ndarray
    labels: np.ndarray | None
    source: str
    synthetic: bool


def read_idx(path: Path) -> np.ndarray:
    """Read an idx file (the original MNIST format), gzipped or not (detected from content).

    Returns:
        uint8 array of the shape stored in the header.

    Raises:
        DataError: naming ``path``, if the file is not a complete uint8 idx file.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
        if raw[:2] == b"\x1f\x8b":  # gzip magic, whatever the file is called
            raw = gzip.decompress(raw)
    except (OSError, EOFError, gzip.BadGzipFile) as e:
        raise DataError(
            f"Cannot read idx file {path}: {e}. Delete it and place a fresh copy."
        ) from e
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise DataError(
            f"{path} is not a uint8 idx file (bad magic number {raw[:4].hex() or 'empty'}). "
            "Delete it and place a fresh copy."
        )
    ndim = raw[3]
    header = 4 + 4 * ndim
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    expected = header + int(np.prod(shape))
    if ndim == 0 or len(raw) != expected:
        raise DataError(
            f"{path} is truncated or corrupt: header says shape {shape} "
            f"({expected} bytes), file has {len(raw)} bytes. Delete it and place a fresh copy."
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)


def read_mnist_npz(path: Path, split: str, sha256: str | None = MNIST_SHA256):
    """Read one split of Keras' ``mnist.npz``, checking its sha256 first.

    Returns:
        (images uint8 (n, 28, 28), labels uint8 (n,)).

    Raises:
        DataError: naming ``path``, on a checksum mismatch or an unreadable file.
    """
    path = Path(path)
    if sha256 is not None and (got := sha256_of(path)) != sha256:
        raise DataError(
            f"{path} is not Keras' mnist.npz: expected sha256 {sha256}, got {got}. "
            "Delete or replace it (run `make data`, or place the original file there)."
        )
    try:
        with np.load(path) as npz:
            return npz[f"x_{split}"], npz[f"y_{split}"]
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as e:
        raise DataError(
            f"Cannot read {path} as mnist.npz ({e}). Delete it and place a fresh copy."
        ) from e


def _check_split(split: str) -> str:
    if split not in _IDX_PREFIX:
        raise ValueError(f"split must be 'train' or 'test'. Received: split={split!r}")
    return split


def _find_idx(folder: Path, prefix: str, kind: str) -> Path | None:
    ndim = 3 if kind == "images" else 1
    for name in (
        f"{prefix}-{kind}-idx{ndim}-ubyte.gz",
        f"{prefix}-{kind}-idx{ndim}-ubyte",
        f"{prefix}-{kind}.idx{ndim}-ubyte",
    ):
        if (folder / name).is_file():
            return folder / name
    return None


def mnist_arrays(
    split: str = "train", data_dir: str | Path | None = None, download_missing: bool = True
) -> ImageSet:
    """Real MNIST as arrays, from a placed file or a verified download.

    Looks in ``data_dir`` (default: the data root) and its ``mnist/`` subfolder for
    Keras' ``mnist.npz``, then for the idx files of the split, then in Keras' own cache
    (``~/.keras/datasets/mnist.npz``, used when its sha256 is right: the same file);
    failing all, downloads ``mnist.npz`` (sha256-checked, with progress) into
    ``<data_dir>/mnist/``.

    Args:
        split: ``"train"`` (60,000 images) or ``"test"`` (10,000).
        data_dir: folder to look in and cache to; default ``runtime.data_root()``.
        download_missing: whether to try downloading (default True).

    Returns:
        An ImageSet of uint8 images (n, 28, 28, 1) and labels (n,).

    Raises:
        DatasetNotFoundError: nothing usable found or downloaded; says what was tried.
        DataError: a file was found but is corrupt or fails its checksum.
    """
    _check_split(split)
    root = resolve_root(data_dir)
    folders = [root, root / "mnist"]
    tried = []
    for folder in folders:
        npz = folder / "mnist.npz"
        if npz.is_file():
            x, y = read_mnist_npz(npz, split)
            return _mnist_set(x, y, f"MNIST {split} split (real, {npz})")
        tried.append(f"{npz} (not found)")
    prefix = _IDX_PREFIX[split]
    for folder in folders:
        images, labels = _find_idx(folder, prefix, "images"), _find_idx(folder, prefix, "labels")
        if images and labels:
            x, y = read_idx(images), read_idx(labels)
            if x.ndim != 3 or x.shape[1:] != (28, 28) or y.shape != (len(x),):
                raise DataError(
                    f"{images} / {labels} hold shapes {x.shape} / {y.shape}, "
                    "not MNIST images (n, 28, 28) with n labels."
                )
            return _mnist_set(x, y, f"MNIST {split} split (real, {images.parent})")
        if images or labels:
            missing = "labels" if images else "images"
            tried.append(f"{images or labels} found, but its {missing} file is missing in {folder}")
        else:
            tried.append(f"{folder}/{prefix}-images-idx3-ubyte.gz and labels (not found)")
    cached = keras_cache("datasets", "mnist.npz")
    if cached.is_file() and sha256_of(cached) == MNIST_SHA256:
        x, y = read_mnist_npz(cached, split, sha256=None)  # checked just now
        return _mnist_set(x, y, f"MNIST {split} split (real, Keras' cache {cached})")
    tried.append(f"{cached} (Keras' cache: {'another file' if cached.is_file() else 'not found'})")
    target = root / "mnist" / "mnist.npz"
    if download_missing:
        try:
            download(MNIST_URL, target, MNIST_SHA256)
            x, y = read_mnist_npz(target, split)
            return _mnist_set(x, y, f"MNIST {split} split (real, downloaded to {target})")
        except OSError as e:
            tried.append(f"download {MNIST_URL} -> {type(e).__name__}: {e}")
    else:
        tried.append("download (not attempted: download_missing=False)")
    raise DatasetNotFoundError(
        f"Real MNIST ({split} split) is not available. Tried:\n  - "
        + "\n  - ".join(tried)
        + f"\nTo fix: place Keras' mnist.npz (sha256 {MNIST_SHA256[:12]}...) or the idx files "
        f"({prefix}-images-idx3-ubyte.gz, {prefix}-labels-idx1-ubyte.gz) in {root / 'mnist'}, "
        "or point GAN_LAB_DATA_DIR (or data_dir=) at the folder holding them, or run "
        "`make data` while online. To run offline on gan_lab's synthetic digits instead, "
        "use quick mode (QUICK = True in a lesson, --quick on the command line)."
    )


def _mnist_set(x: np.ndarray, y: np.ndarray, source: str) -> ImageSet:
    return ImageSet(x[..., None].astype(np.uint8), y.astype(np.int64), source, synthetic=False)


def load_digits(
    split: str = "train",
    *,
    quick: bool,
    data_dir: str | Path | None = None,
    seed: int = 0,
    count: int | None = None,
) -> ImageSet:
    """MNIST in full mode, gan_lab's synthetic digits in quick mode, as arrays.

    Args:
        split: ``"train"`` or ``"test"``.
        quick: quick mode (synthetic data) or full mode (real data). Required: the caller
            decides (a notebook's parameters cell, a run's settings), never the environment.
        data_dir: where real MNIST is looked for (full mode only).
        seed: seed of the synthetic digits (quick mode only).
        count: how many synthetic digits (quick mode only; the lesson's ``synthetic_train``
            or ``synthetic_test`` setting).
    """
    _check_split(split)
    if quick:
        n = quick_count(count)
        images, labels = synthetic_digits(n, seed=seed + (0 if split == "train" else 10_000))
        data = ImageSet(
            images,
            labels,
            f"SYNTHETIC digit-like images generated by gan_lab "
            f"(quick mode, {split}, {n} images, seed {seed}) -- not MNIST",
            True,
        )
    else:
        data = mnist_arrays(split, data_dir)
    print(f"gan_lab data: {data.source}: {data.images.shape[0]} images of {data.images.shape[1:]}")
    return data


def to_dataset(
    images: np.ndarray,
    batch_size: int,
    shuffle: bool = True,
    seed: int = 0,
    labels: np.ndarray | None = None,
    noise_dim: int | None = None,
):
    """``IndexedBatches`` of float32 image batches in [-1, 1] (with ``labels``: (images,
    labels) pairs; with ``noise_dim``: (images, noise) pairs; with both: (images, noise,
    labels), a conditional GAN's batches), reshuffled every epoch.

    Scaling runs once on the in-memory tensor, not per epoch. Batch ``b`` is a pure function
    of ``seed`` and ``b`` (``images.IndexedBatches``: an epoch drops the last
    ``len(images) % batch_size`` images, a different few each epoch), so a resumed or
    distributed run sees the same batches as one uninterrupted run on one device.
    ``noise_dim`` adds the generator's noise to each batch, drawn from ``(seed, b)``:
    ``steps.make_gan_step`` then uses it instead of its own generator, and a batch split
    across replicas keeps the noise of its examples."""
    import tensorflow as tf

    if batch_size < 1:
        raise ValueError(f"batch_size must be positive. Received: batch_size={batch_size}")
    scaled = tf.constant(normalize(images))
    labels = None if labels is None else tf.constant(labels)

    def load(batch, indices, positions):
        real = tf.gather(scaled, indices)
        if noise_dim is not None:
            noise = tf.random.stateless_normal(
                [batch_size, noise_dim], seed=stream_seed(seed, "noise", batch)
            )
            noise = tf.gather(noise, positions)
            return (real, noise) if labels is None else (real, noise, tf.gather(labels, indices))
        return real if labels is None else (real, tf.gather(labels, indices))

    return IndexedBatches(len(images), batch_size, load, seed=seed, shuffle=shuffle)


def _arc(cx, cy, rx, ry, start, stop, n=24):
    t = np.radians(np.linspace(start, stop, n))
    return np.stack([cx + rx * np.cos(t), cy + ry * np.sin(t)], axis=1)


def _line(*points):
    return np.array(points, dtype=float)


# Strokes of each digit in a unit box (x right, y down; angle 90 points down).
_DIGIT_STROKES = {
    0: [_arc(0.5, 0.5, 0.2, 0.32, 0, 360)],
    1: [_line((0.4, 0.3), (0.54, 0.17), (0.54, 0.83))],
    2: [np.concatenate([_arc(0.5, 0.34, 0.2, 0.17, 190, 400), _line((0.28, 0.83), (0.74, 0.83))])],
    3: [_arc(0.48, 0.33, 0.19, 0.16, 200, 450), _arc(0.48, 0.66, 0.22, 0.18, 270, 515)],
    4: [_line((0.62, 0.83), (0.62, 0.17), (0.27, 0.62), (0.77, 0.62))],
    5: [
        np.concatenate(
            [_line((0.72, 0.17), (0.34, 0.17), (0.31, 0.47)), _arc(0.49, 0.63, 0.21, 0.2, 225, 505)]
        )
    ],
    6: [np.concatenate([_line((0.66, 0.17), (0.42, 0.38)), _arc(0.5, 0.64, 0.2, 0.19, 200, 560)])],
    7: [_line((0.27, 0.17), (0.73, 0.17), (0.43, 0.83))],
    8: [_arc(0.5, 0.32, 0.17, 0.15, 0, 360), _arc(0.5, 0.66, 0.21, 0.18, 0, 360)],
    9: [np.concatenate([_arc(0.5, 0.36, 0.2, 0.19, 0, 360), _line((0.7, 0.36), (0.6, 0.83))])],
}


def synthetic_digits(n: int, seed: int = 0, size: int = 28):
    """Generate ``n`` handwriting-like digit images, deterministically for ``seed``.

    Each digit is drawn from a stroke template under a random affine warp (rotation,
    scale, shear, shift), wobbling strokes and a random pen width, at 4x resolution
    and down-sampled with anti-aliasing, so the images look like MNIST without being
    MNIST. Used by quick mode; never by full mode.

    Returns:
        (images uint8 (n, size, size, 1), labels int64 (n,) balanced over 0..9).
    """
    from PIL import Image, ImageDraw

    if n < 1:
        raise ValueError(f"n must be positive. Received: n={n}")
    rng = np.random.default_rng(seed)
    big = size * 4
    labels = np.arange(n) % 10
    rng.shuffle(labels)
    images = np.empty((n, size, size, 1), np.uint8)
    for i, digit in enumerate(labels):
        angle = np.radians(rng.uniform(-14, 14))
        scale = rng.uniform(0.8, 1.05)
        shear = rng.uniform(-0.25, 0.25)
        warp = scale * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
        warp = warp @ np.array([[1.0, shear], [0.0, 1.0]])
        shift = rng.uniform(-0.04, 0.04, size=2)
        width = int(big * rng.uniform(0.09, 0.13))
        ink = int(rng.uniform(190, 255))
        canvas = Image.new("L", (big, big), 0)
        draw = ImageDraw.Draw(canvas)
        for stroke in _DIGIT_STROKES[int(digit)]:
            pts = stroke + rng.normal(0, 0.012, size=stroke.shape)
            pts = (pts - 0.5) @ warp.T + 0.5 + shift
            xy = [tuple(p) for p in pts * big]
            draw.line(xy, fill=ink, width=width, joint="curve")
            for x, y in (xy[0], xy[-1]):  # round pen ends
                r = width / 2
                draw.ellipse((x - r, y - r, x + r, y + r), fill=ink)
        images[i, ..., 0] = np.asarray(canvas.resize((size, size), Image.LANCZOS))
    return images, labels.astype(np.int64)
