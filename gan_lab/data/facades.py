"""CMP Facades in the pix2pix layout, and gan_lab's synthetic facades for quick mode.

Each pix2pix file is one 512x256 image: the photo on the left, its label map on the
right. The label map is the generator's input, the photo its target.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gan_lab.data.files import (
    download,
    extract_atomically,
    resolve_root,
)
from gan_lab.data.images import (
    IndexedBatches,
    element_seeds,
    list_images,
    normalize,
    quick_count,
    random_seed_pair,
    read_rgb,
    resize,
)
from gan_lab.errors import DataError, DatasetNotFoundError

FACADES_URL = "http://efrosgans.eecs.berkeley.edu/pix2pix/datasets/facades.tar.gz"
FACADES_COUNTS = {"train": 400, "val": 100, "test": 106}

# The label colours of the CMP Facade Database (12 classes, as rendered in pix2pix's files).
CMP_PALETTE = {
    "background": (0, 0, 215),
    "facade": (0, 50, 245),
    "window": (0, 125, 255),
    "door": (0, 190, 255),
    "cornice": (20, 240, 250),
    "sill": (90, 250, 170),
    "balcony": (175, 250, 80),
    "blind": (250, 245, 30),
    "deco": (250, 170, 0),
    "molding": (250, 90, 10),
    "pillar": (235, 25, 0),
    "shop": (175, 0, 0),
}


@dataclass(frozen=True)
class PairSet:
    """Paired images for image-to-image translation.

    Attributes:
        inputs: uint8 (n, size, size, 3), the generator's inputs (facades: label maps).
        targets: uint8 (n, size, size, 3), what it should produce (facades: photos).
        names: the file (or synthetic sample) each pair came from.
        source: one line naming dataset, split and origin; starts with ``SYNTHETIC`` for
            data gan_lab generated itself.
        synthetic: True for generated data.
    """

    inputs: np.ndarray
    targets: np.ndarray
    names: list
    source: str
    synthetic: bool


def split_pair(image: np.ndarray, path) -> tuple[np.ndarray, np.ndarray]:
    """Split a pix2pix file (photo | label map) into (label map, photo).

    Raises:
        DataError: naming ``path`` if the image is not two equal square halves side by side.
    """
    height, width = image.shape[:2]
    if width != 2 * height:
        raise DataError(
            f"{path} is {width}x{height}; a pix2pix facade file is two equal square halves "
            f"side by side (width = 2 x height, e.g. 512x256: photo | label map)."
        )
    return image[:, height:], image[:, :height]


def validate_facades(folder: Path) -> list[str]:
    """What is wrong with a facades folder, compared with the canonical archive: missing
    splits, file counts other than 400/100/106, images that are not 512x256."""
    from PIL import Image

    problems = []
    for split, expected in FACADES_COUNTS.items():
        try:
            files = list_images(folder / split)
        except DatasetNotFoundError:
            problems.append(f"split {split!r} is missing")
            continue
        if len(files) != expected:
            problems.append(f"{split} has {len(files)} images, expected {expected}")
        for path in files:
            try:
                with Image.open(path) as image:
                    size = image.size
            except OSError:
                problems.append(f"{path} is unreadable")
                continue
            if size != (512, 256):
                problems.append(f"{path} is {size[0]}x{size[1]}, expected 512x256")
    return problems


def find_facades(data_dir: str | Path | None = None, download_missing: bool = True) -> Path:
    """The folder holding the facades splits (``train/``, ``val/``, ``test/``).

    Looks in ``data_dir`` (default: the data root) for ``facades/<split>/``, then for
    split folders directly in it, then for ``facades.tar.gz`` (extracted and validated),
    then downloads the archive.

    Raises:
        DatasetNotFoundError: nothing usable found or downloaded; says what was tried.
        DataError: an archive was found or downloaded but is corrupt or incomplete.
    """
    root = resolve_root(data_dir)
    for folder in (root / "facades", root):
        if any((folder / split).is_dir() for split in FACADES_COUNTS):
            return folder
    tried = [f"{root / 'facades'}/{{train,val,test}}/ (not found)"]
    for archive in (root / "facades.tar.gz", root / "facades" / "facades.tar.gz"):
        if archive.is_file():
            return extract_atomically(archive, root, "facades", validate_facades)
        tried.append(f"{archive} (not found)")
    if download_missing:
        archive = root / "facades.tar.gz"
        try:
            download(FACADES_URL, archive)
        except OSError as e:
            tried.append(f"download {FACADES_URL} -> {type(e).__name__}: {e}")
        else:
            try:
                return extract_atomically(archive, root, "facades", validate_facades)
            except DataError:
                archive.unlink(missing_ok=True)  # our own download: remove it so a retry refetches
                raise
    else:
        tried.append("download (not attempted: download_missing=False)")
    raise DatasetNotFoundError(
        "The CMP facades (pix2pix format) are not available. Tried:\n  - "
        + "\n  - ".join(tried)
        + f"\nTo fix: place facades.tar.gz, or its extracted facades/ folder with train/, val/ "
        f"and test/ (512x256 photo|label files), in {root}, or point GAN_LAB_DATA_DIR (or "
        "data_dir=) at the folder holding them, or run `make data` while online. To run "
        "offline on gan_lab's synthetic facades instead, use quick mode (QUICK = True in a "
        "lesson, --quick on the command line)."
    )


def facades_pairs(
    split: str,
    data_dir: str | Path | None = None,
    image_size: int = 256,
    download_missing: bool = True,
) -> PairSet:
    """Read one split of the real facades into memory, as (label map, photo) pairs.

    Raises:
        DatasetNotFoundError: the split is missing (the splits found are listed).
        DataError: a file is unreadable or not two equal halves; the file is named.
    """
    folder = find_facades(data_dir, download_missing)
    if not (folder / split).is_dir():
        found = sorted(s for s in FACADES_COUNTS if (folder / s).is_dir())
        raise DatasetNotFoundError(
            f"The facades split {split!r} is missing in {folder} (found: {', '.join(found)}). "
            "gan_lab does not substitute another split; choose one of those found, or place "
            f"the missing one at {folder / split}."
        )
    files = list_images(folder / split)
    inputs, targets = [], []
    for path in files:
        label_map, photo = split_pair(read_rgb(path), path)
        inputs.append(resize(label_map, image_size, nearest=True))
        targets.append(resize(photo, image_size))
    note = ""
    if len(files) != FACADES_COUNTS[split]:
        note = f"; NOTE {len(files)} files, the canonical split has {FACADES_COUNTS[split]}"
    return PairSet(
        np.stack(inputs),
        np.stack(targets),
        [p.name for p in files],
        f"CMP facades {split} split (real, {folder / split}){note}",
        False,
    )


def load_facades(
    split: str = "train",
    image_size: int | None = None,
    *,
    quick: bool,
    data_dir: str | Path | None = None,
    seed: int = 0,
    count: int | None = None,
) -> PairSet:
    """Facades as (label map, photo) pairs: real ones in full mode, synthetic in quick mode.

    Args:
        split: ``"train"``, ``"val"`` or ``"test"``.
        image_size: size of both images (default 256 in full mode, 64 in quick mode).
        quick: quick mode (synthetic data) or full mode (real data). Required: the caller
            decides (a notebook's parameters cell, a run's settings), never the environment.
        data_dir: where the real facades are looked for and cached (full mode only).
        seed: seed of the synthetic facades (quick mode only).
        count: how many synthetic pairs (quick mode only; the lesson's ``synthetic_train``
            or ``synthetic_test`` setting).
    """
    if split not in FACADES_COUNTS:
        raise ValueError(f"split must be one of {list(FACADES_COUNTS)}. Received: split={split!r}")
    size = image_size or (64 if quick else 256)
    if quick:
        n = quick_count(count)
        offset = {"train": 0, "val": 50_000, "test": 100_000}[split]
        inputs, targets = synthetic_facades(n, seed=seed + offset, size=size)
        pairs = PairSet(
            inputs,
            targets,
            [f"synthetic-{i}" for i in range(n)],
            f"SYNTHETIC facades generated by gan_lab (quick mode, {split}, {n} pairs, "
            f"seed {seed}) -- not the CMP facades",
            True,
        )
    else:
        pairs = facades_pairs(split, data_dir, size)
    print(f"gan_lab data: {pairs.source}: {len(pairs.inputs)} pairs of {pairs.inputs.shape[1:]}")
    return pairs


# --------------------------------------------------------------------------- pipeline


def jitter(label_map, photo, size: int, seed=None):
    """Pix2pix's random jitter of one (label map, photo) pair: resize both to 286/256 of
    ``size``, take one random ``size`` crop, mirror half the time; the crop and the mirror
    are the same for both, so they stay aligned.

    The photo is resized bilinearly, as the paper's code does (phillipi/pix2pix
    ``donkey_folder.lua``: torch ``image.scale``, bilinear by default); bilinear values
    stay within the input's range, where bicubic (junyanz's ``get_transform``) overshoots
    at edges. The label map is resized with nearest neighbour, so its colours stay exactly
    the CMP palette (a blend at a region border would be a colour of no class).

    Args:
        label_map, photo: (size, size, channels) float tensors.
        size: the crop size, the images' size.
        seed: shape [2], a stateless, reproducible draw; None draws a seed from
            TensorFlow's global generator.
    """
    import tensorflow as tf

    if seed is None:
        seed = random_seed_pair()
    crop_seed, flip_seed = tf.unstack(tf.random.experimental.stateless_split(seed, 2))
    big = int(round(size * 286 / 256))
    stacked = tf.concat(  # crop and mirror both with one draw
        [
            tf.image.resize(label_map, [big, big], method="nearest"),
            tf.image.resize(photo, [big, big], method="bilinear"),
        ],
        axis=-1,
    )
    stacked = tf.image.stateless_random_crop(
        stacked, [size, size, tf.shape(stacked)[-1]], seed=crop_seed
    )
    stacked = tf.image.stateless_random_flip_left_right(stacked, seed=flip_seed)
    channels = tf.shape(label_map)[-1]
    return stacked[..., :channels], stacked[..., channels:]


def pair_dataset(
    pairs: PairSet, batch_size: int = 1, augment: bool = True, shuffle: bool = True, seed: int = 0
):
    """``IndexedBatches`` of (input, target) float32 batches in [-1, 1].

    Scaling runs once on the in-memory tensors; the random jitter (``augment``) runs per
    pair, seeded by ``seed``, the batch number and the pair's place in the batch, so every
    epoch sees fresh crops and flips, and a resumed or distributed run the same ones
    (``images.IndexedBatches``; an epoch drops the last ``n % batch_size`` pairs).
    """
    import tensorflow as tf

    if batch_size < 1:
        raise ValueError(f"batch_size must be positive. Received: batch_size={batch_size}")
    size = pairs.inputs.shape[1]
    inputs, targets = tf.constant(normalize(pairs.inputs)), tf.constant(normalize(pairs.targets))

    def load(batch, indices, positions):
        x, y = tf.gather(inputs, indices), tf.gather(targets, indices)
        if not augment:
            return x, y
        seeds = element_seeds(seed, "augment", batch, positions)
        return tf.map_fn(
            lambda args: jitter(args[0], args[1], size, args[2]),
            (x, y, seeds),
            fn_output_signature=(tf.TensorSpec(x.shape[1:]), tf.TensorSpec(y.shape[1:])),
        )

    return IndexedBatches(len(pairs.inputs), batch_size, load, seed=seed, shuffle=shuffle)


# --------------------------------------------------------------------------- synthetic facades


def synthetic_facades(n: int, seed: int = 0, size: int = 64):
    """Generate ``n`` facade label maps in the CMP palette with a photo-like rendering each.

    Each facade has a sky strip, a wall, floors of windows with sills (some with blinds or
    balconies), a cornice, and a ground floor with a shop front or a door between windows.
    The "photo" paints each class with a randomly drawn material (wall colour, glass,
    shutters, iron) plus shading and noise. Deterministic for ``seed``.

    Returns:
        (label maps uint8 (n, size, size, 3), photos uint8 (n, size, size, 3)).
    """
    if n < 1 or size < 16:
        raise ValueError(f"Need n >= 1 and size >= 16. Received: n={n}, size={size}")
    rng = np.random.default_rng(seed)
    labels = np.empty((n, size, size, 3), np.uint8)
    photos = np.empty((n, size, size, 3), np.uint8)
    for i in range(n):
        classes = _facade_layout(rng, 2 * size)
        labels[i] = resize(_paint_labels(classes), size, nearest=True)
        photos[i] = resize(_paint_photo(classes, rng), size)
    return labels, photos


_CLASS_IDS = {name: k for k, name in enumerate(CMP_PALETTE)}


def _facade_layout(rng, s: int) -> np.ndarray:
    """A class-index map (s, s) of one random facade."""
    c = _CLASS_IDS
    grid = np.full((s, s), c["facade"], np.int8)
    sky = int(s * rng.uniform(0.0, 0.12))
    grid[:sky] = c["background"]
    if rng.random() < 0.5:  # a neighbouring building or sky at one side
        side = int(s * rng.uniform(0.03, 0.1))
        grid[:, :side] = c["background"] if rng.random() < 0.5 else c["pillar"]
    grid[sky : sky + max(2, s // 40)] = c["cornice"]
    ground = int(s * rng.uniform(0.18, 0.26))
    top, bottom = sky + s // 20, s - ground
    floors = rng.integers(3, 6)
    cols = rng.integers(3, 7)
    floor_h = (bottom - top) / floors
    col_w = s / cols
    win_w, win_h = rng.uniform(0.35, 0.6) * col_w, rng.uniform(0.45, 0.65) * floor_h
    blinds, balcony_rows = rng.random() < 0.4, rng.random(floors) < 0.3
    for f in range(floors):
        y0 = int(top + f * floor_h + 0.18 * floor_h)
        y1 = int(y0 + win_h)
        if f > 0 and rng.random() < 0.5:
            grid[int(top + f * floor_h) - 1 : int(top + f * floor_h) + 1] = c["molding"]
        for k in range(cols):
            x0 = int(k * col_w + (col_w - win_w) / 2)
            x1 = int(x0 + win_w)
            grid[y0:y1, x0:x1] = c["window"]
            grid[y1 : y1 + max(1, s // 64) + 1, x0 - 1 : x1 + 1] = c["sill"]
            if blinds:
                bw = max(2, int(0.25 * win_w))
                grid[y0:y1, max(0, x0 - bw) : x0] = c["blind"]
                grid[y0:y1, x1 : x1 + bw] = c["blind"]
            if balcony_rows[f]:
                grid[y1 - int(0.3 * win_h) : y1 + 2, x0 - 3 : x1 + 3] = c["balcony"]
        if rng.random() < 0.15:
            grid[int(top + f * floor_h) + 1 : int(top + f * floor_h) + 3, s // 3 : 2 * s // 3] = c[
                "deco"
            ]
    if rng.random() < 0.6:  # shop front
        grid[bottom + 3 : s, :] = c["shop"]
        for x in np.linspace(0, s - 4, rng.integers(3, 6)).astype(int):
            grid[bottom + 3 : s, x : x + 4] = c["pillar"]
    else:  # door with windows
        door_x = int(rng.uniform(0.3, 0.6) * s)
        grid[bottom + ground // 4 : s, door_x : door_x + max(6, s // 10)] = c["door"]
        for x in (door_x - s // 5, door_x + s // 5):
            if 0 < x < s - s // 10:
                grid[bottom + ground // 4 : s - ground // 4, x : x + s // 10] = c["window"]
    return grid


def _paint_labels(classes: np.ndarray) -> np.ndarray:
    palette = np.array(list(CMP_PALETTE.values()), np.uint8)
    return palette[classes]


def label_classes(label_maps) -> np.ndarray:
    """Class indices (the order of ``CMP_PALETTE``, 0-11) of facade label maps: each pixel
    gets the class of the nearest palette colour (Euclidean distance in RGB).

    The pix2pix files are JPEGs, so their colours are only near the palette: inside a
    region within about 10 of it (measured on the 400 training maps: mean 10, 96% within
    27, half the distance between the two closest palette colours), at region borders
    blurred and bled by the compression (mean 45), where the nearest colour is a guess.

    Args:
        label_maps: uint8 RGB label maps, (..., 3).

    Returns:
        int32 class indices, the label maps' shape without the last axis.
    """
    label_maps = np.asarray(label_maps)
    if label_maps.shape[-1:] != (3,):
        raise ValueError(f"label_maps must be RGB, (..., 3). Received: {label_maps.shape}")
    palette = np.array(list(CMP_PALETTE.values()), np.int32)
    pixels = label_maps.reshape(-1, 1, 3).astype(np.int32)
    nearest = np.empty(len(pixels), np.int32)
    for start in range(0, len(pixels), 1 << 16):  # 12 distances a pixel, in bounded memory
        chunk = pixels[start : start + (1 << 16)]
        nearest[start : start + len(chunk)] = ((chunk - palette) ** 2).sum(-1).argmin(-1)
    return nearest.reshape(label_maps.shape[:-1])


def _paint_photo(classes: np.ndarray, rng) -> np.ndarray:
    """Render a class map as a plausible photo: a random material per class, plus light."""
    s = classes.shape[0]
    wall = rng.uniform([150, 130, 100], [240, 225, 200])
    materials = {
        "background": rng.uniform([150, 180, 210], [200, 215, 240]),
        "facade": wall,
        "window": rng.uniform([25, 30, 40], [80, 90, 110]),
        "door": rng.uniform([60, 35, 20], [120, 80, 50]),
        "cornice": np.clip(wall * 1.1, 0, 255),
        "sill": np.clip(wall * 1.15 + 20, 0, 255),
        "balcony": rng.uniform([30, 30, 30], [70, 70, 70]),
        "blind": rng.uniform([40, 70, 40], [130, 120, 90]),
        "deco": np.clip(wall * 0.85, 0, 255),
        "molding": np.clip(wall * 0.9, 0, 255),
        "pillar": np.clip(wall * 0.8, 0, 255),
        "shop": rng.uniform([20, 25, 30], [60, 60, 70]),
    }
    colours = np.array([materials[name] for name in CMP_PALETTE])
    photo = colours[classes]
    shade = np.linspace(1.08, 0.85, s)[:, None, None] * rng.uniform(0.85, 1.1)
    glass = (classes == _CLASS_IDS["window"]) | (classes == _CLASS_IDS["shop"])
    reflection = np.linspace(0, 40, s)[None, :, None] * glass[..., None]  # light on the glass
    photo = photo * shade + reflection + rng.normal(0, 6, photo.shape)
    return np.clip(photo, 0, 255).astype(np.uint8)
