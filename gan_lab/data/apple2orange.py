"""apple2orange (CycleGAN's unpaired apples and oranges), and gan_lab's synthetic fruit
for quick mode. Domain X (A) = apples, domain Y (B) = oranges.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gan_lab.data.files import (
    download,
    extract_atomically,
    resolve_root,
    sha256_of,
)
from gan_lab.data.images import (
    IndexedBatches,
    element_seeds,
    list_images,
    normalize,
    quick_count,
    read_rgb,
    resize,
    stream_seed,
)
from gan_lab.errors import DataError, DatasetNotFoundError

APPLE2ORANGE_URL = "https://efrosgans.eecs.berkeley.edu/cyclegan/datasets/apple2orange.zip"
APPLE2ORANGE_SHA256 = "845a191e9af8926408ea597001cd03a452e3300a1f44a79fe329b3d59f6e3eb8"
APPLE2ORANGE_COUNTS = {"trainA": 995, "trainB": 1019, "testA": 266, "testB": 248}


@dataclass(frozen=True)
class UnpairedSet:
    """Images of two domains, not paired with each other.

    Attributes:
        a: uint8 (n_a, size, size, 3), domain X (apples).
        b: uint8 (n_b, size, size, 3), domain Y (oranges).
        source: one line naming dataset, split and origin; starts with ``SYNTHETIC`` for
            data gan_lab generated itself.
        synthetic: True for generated data.
    """

    a: np.ndarray
    b: np.ndarray
    source: str
    synthetic: bool


def validate_apple2orange(folder: Path) -> list[str]:
    """What is wrong with an apple2orange folder: missing domain folders or file counts
    other than 995/1019/266/248."""
    problems = []
    for name, expected in APPLE2ORANGE_COUNTS.items():
        try:
            found = len(list_images(folder / name))
        except DatasetNotFoundError:
            found = 0
        if found != expected:
            problems.append(f"{name} has {found} images, expected {expected}")
    return problems


def find_apple2orange(data_dir: str | Path | None = None, download_missing: bool = True) -> Path:
    """The folder holding ``trainA``, ``trainB``, ``testA``, ``testB``.

    Looks in ``data_dir`` (default: the data root) for ``apple2orange/``, for the domain
    folders directly in it, then for ``apple2orange.zip`` (sha256-checked, extracted),
    then downloads the archive.

    Raises:
        DatasetNotFoundError: nothing usable found or downloaded; says what was tried.
        DataError: an archive was found but fails its checksum or is incomplete.
    """
    root = resolve_root(data_dir)
    for folder in (root / "apple2orange", root):
        if any((folder / d).is_dir() for d in APPLE2ORANGE_COUNTS):
            return folder
    tried = [f"{root / 'apple2orange'}/{{trainA,trainB,testA,testB}}/ (not found)"]
    archive = root / "apple2orange.zip"
    if archive.is_file():
        if (got := sha256_of(archive)) != APPLE2ORANGE_SHA256:
            raise DataError(
                f"{archive} is not the CycleGAN apple2orange.zip: expected sha256 "
                f"{APPLE2ORANGE_SHA256}, got {got}. Delete or replace it."
            )
        return extract_atomically(archive, root, "apple2orange", validate_apple2orange)
    tried.append(f"{archive} (not found)")
    if download_missing:
        try:
            download(APPLE2ORANGE_URL, archive, APPLE2ORANGE_SHA256)
            return extract_atomically(archive, root, "apple2orange", validate_apple2orange)
        except OSError as e:
            tried.append(f"download {APPLE2ORANGE_URL} -> {type(e).__name__}: {e}")
    else:
        tried.append("download (not attempted: download_missing=False)")
    raise DatasetNotFoundError(
        "apple2orange is not available. Tried:\n  - "
        + "\n  - ".join(tried)
        + f"\nTo fix: place apple2orange.zip (sha256 {APPLE2ORANGE_SHA256[:12]}...) or its "
        f"extracted apple2orange/ folder (trainA, trainB, testA, testB) in {root}, or point "
        "GAN_LAB_DATA_DIR (or data_dir=) at the folder holding it, or run `make data` while "
        "online. To run offline on gan_lab's synthetic fruit instead, use quick mode "
        "(QUICK = True in a lesson, --quick on the command line)."
    )


def load_apple2orange(
    split: str = "train",
    image_size: int | None = None,
    *,
    quick: bool,
    data_dir: str | Path | None = None,
    seed: int = 0,
    count: int | None = None,
) -> UnpairedSet:
    """Apples (X) and oranges (Y): real ones in full mode, synthetic ones in quick mode.

    Args:
        split: ``"train"`` or ``"test"``.
        image_size: size images are resized to (default 256 in full mode, 64 in quick mode).
        quick: quick mode (synthetic data) or full mode (real data). Required: the caller
            decides (a notebook's parameters cell, a run's settings), never the environment.
        data_dir: where the real dataset is looked for and cached (full mode only).
        seed: seed of the synthetic fruit (quick mode only).
        count: how many synthetic apples, and as many oranges (quick mode only; the lesson's
            ``synthetic_train`` or ``synthetic_test`` setting).

    Raises:
        DatasetNotFoundError: a domain folder is missing or empty (named).
        DataError: an image is unreadable (named).
    """
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test'. Received: split={split!r}")
    size = image_size or (64 if quick else 256)
    if quick:
        n = quick_count(count)
        offset = 0 if split == "train" else 100_000
        data = UnpairedSet(
            synthetic_fruit(n, "apple", seed + offset, size),
            synthetic_fruit(n, "orange", seed + offset + 1, size),
            f"SYNTHETIC apples and oranges generated by gan_lab (quick mode, "
            f"{split}, {n} per domain, seed {seed}) -- not apple2orange",
            True,
        )
    else:
        folder = find_apple2orange(data_dir)
        domains = [
            np.stack([resize(read_rgb(p), size) for p in list_images(folder / f"{split}{d}")])
            for d in "AB"
        ]
        data = UnpairedSet(
            domains[0], domains[1], f"apple2orange {split} split (real, {folder})", False
        )
    print(f"gan_lab data: {data.source}: {len(data.a)} apples, {len(data.b)} oranges at {size} px")
    return data


def unpaired_dataset(
    images_a: np.ndarray,
    images_b: np.ndarray,
    batch_size: int = 1,
    augment: bool = True,
    seed: int = 0,
):
    """Unpaired (x, y) batches in [-1, 1] (``IndexedBatches``): each domain shuffled on
    its own, then zipped.

    An epoch lasts as long as the larger domain (the smaller one keeps going into its next
    shuffle, as in junyanz's loader). Scaling runs once on the in-memory tensors; the
    jitter (resize to 286/256, random crop, mirror; independently per domain) per image.
    Example ``k`` of the run (batch ``k // batch_size``) is a pure function of ``seed`` and
    ``k`` (``images.IndexedBatches``), so a resumed or distributed run sees the same.
    """
    import tensorflow as tf

    if batch_size < 1:
        raise ValueError(f"batch_size must be positive. Received: batch_size={batch_size}")
    size = images_a.shape[1]
    big = int(round(size * 286 / 256))

    def jitter(image, seed):
        crop_seed, flip_seed = tf.unstack(tf.random.experimental.stateless_split(seed, 2))
        image = tf.image.resize(image, [big, big], method="bilinear")
        image = tf.image.stateless_random_crop(image, [size, size, 3], seed=crop_seed)
        return tf.image.stateless_random_flip_left_right(image, seed=flip_seed)

    domains = [
        (tf.constant(normalize(images)), domain_seed)
        for images, domain_seed in ((images_a, seed), (images_b, seed + 1))
    ]

    def pick(images, domain_seed, k):  # example k of this domain's endless shuffled stream
        n = tf.cast(tf.shape(images)[0], tf.int64)
        order = tf.random.experimental.stateless_shuffle(
            tf.range(n), seed=stream_seed(domain_seed, "order", k // n)
        )
        return tf.gather(images, order[k % n])

    def load(batch, indices, positions):
        k = batch * batch_size + positions
        out = []
        for images, domain_seed in domains:
            picked = tf.map_fn(
                lambda i, images=images, domain_seed=domain_seed: pick(images, domain_seed, i),
                k,
                fn_output_signature=tf.TensorSpec(images.shape[1:]),
            )
            if augment:
                seeds = element_seeds(domain_seed, "augment", batch, positions)
                picked = tf.map_fn(
                    lambda args: jitter(*args),
                    (picked, seeds),
                    fn_output_signature=tf.TensorSpec(images.shape[1:]),
                )
            out.append(picked)
        return tuple(out)

    n = max(len(images_a), len(images_b))
    return IndexedBatches(n, batch_size, load, seed=seed, shuffle=False)


# --------------------------------------------------------------------------- synthetic fruit


def synthetic_fruit(n: int, kind: str, seed: int = 0, size: int = 64) -> np.ndarray:
    """Generate ``n`` pictures of one fruit on varied backgrounds, deterministically.

    Apples: round, red or green-red, with a dark stem, a leaf sometimes, and a highlight.
    Oranges: rounder, orange, with a dimpled peel and a small navel. Both lie on a random
    plain, gradient or two-tone background, at random positions and sizes.

    Returns:
        uint8 (n, size, size, 3).
    """
    if kind not in ("apple", "orange"):
        raise ValueError(f"kind must be 'apple' or 'orange'. Received: kind={kind!r}")
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size] / size
    out = np.empty((n, size, size, 3), np.uint8)
    for i in range(n):
        top, bottom = rng.uniform(60, 250, 3), rng.uniform(60, 250, 3)
        image = (
            top + (bottom - top) * yy[..., None]
            if rng.random() < 0.7
            else np.tile(top, (size, size, 1))
        )
        cx, cy = rng.uniform(0.35, 0.65, 2)
        r = rng.uniform(0.22, 0.36)
        squash = rng.uniform(0.9, 1.0) if kind == "orange" else rng.uniform(0.82, 0.95)
        dx, dy = (xx - cx) / r, (yy - cy) / (r * squash)
        if kind == "apple":
            dy = dy + 0.12 * np.exp(-(dx**2) / 0.05) * (dy < 0)  # the dip at the stem
        dist = np.sqrt(dx**2 + dy**2)
        body = dist < 1.0
        if kind == "apple":
            base = rng.choice([[180, 20, 25], [150, 10, 20], [120, 170, 40], [200, 60, 30]])
            colour = np.array(base, float) + rng.normal(0, 12, 3)
            streaks = 9 * np.sin(24 * np.arctan2(dy, dx) + rng.uniform(0, 6))[..., None]
            fruit = colour + streaks
        else:
            colour = np.array([245, 140, 20], float) + rng.normal(0, 10, 3)
            dimples = rng.normal(0, 1, (size, size))
            dimples = 14 * (dimples - np.roll(dimples, 1, 0))[..., None]  # peel texture
            fruit = colour + dimples
        light = np.clip(1.15 - 0.55 * np.sqrt((dx + 0.35) ** 2 + (dy + 0.35) ** 2), 0.4, 1.3)
        fruit = fruit * light[..., None]
        highlight = np.exp(-((dx + 0.35) ** 2 + (dy + 0.4) ** 2) / 0.02)[..., None] * 120
        image = np.where(body[..., None], fruit + highlight, image)
        if kind == "apple":  # stem
            stem = (np.abs(xx - cx - 0.01) < 0.012) & (yy > cy - r * 1.25) & (yy < cy - r * 0.75)
            image[stem] = [70, 45, 20]
            if rng.random() < 0.5:  # leaf
                leaf = ((xx - cx - 0.07) / 0.06) ** 2 + ((yy - cy + r * 1.05) / 0.025) ** 2 < 1
                image[leaf] = [60, 140, 40]
        else:  # navel
            navel = ((xx - cx) ** 2 + (yy - cy + r * 0.8) ** 2) < (0.015) ** 2
            image[navel] = [150, 100, 30]
        image = image + rng.normal(0, 4, image.shape)
        out[i] = np.clip(image, 0, 255).astype(np.uint8)
    return out
