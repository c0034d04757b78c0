"""Image files and pixels: reading files one by one with errors that name the file, and
scaling pixels to the models' range [-1, 1].

Conversions (documented, applied silently): grayscale and palette images are expanded to
RGB; an alpha channel is dropped (RGBA -> RGB); 16-bit images are scaled to 8 bits.
Files whose suffix is not an image suffix are ignored when listing a folder.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from gan_lab.errors import DataError, DatasetNotFoundError

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp"}
MAX_PIXELS = 40_000_000  # refuse absurdly large images instead of exhausting memory


def normalize(images: np.ndarray) -> np.ndarray:
    """uint8 images 0..255 to float32 in [-1, 1] (the range of the generators' tanh)."""
    images = np.asarray(images)
    if images.dtype != np.uint8:
        raise ValueError(f"normalize expects uint8 images. Received dtype: {images.dtype}")
    return images.astype(np.float32) / 127.5 - 1.0


def list_images(folder: Path) -> list[Path]:
    """The image files of ``folder``, sorted by name (numbers in order: 2 before 10).

    Raises:
        DatasetNotFoundError: the folder is missing or holds no image file.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise DatasetNotFoundError(f"Image folder {folder} does not exist.")
    files = [p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()]
    if not files:
        raise DatasetNotFoundError(
            f"Image folder {folder} holds no image files ({', '.join(sorted(IMAGE_SUFFIXES))})."
        )
    return sorted(files, key=lambda p: (len(p.stem), p.stem) if p.stem.isdigit() else (0, p.stem))


def read_rgb(path: Path) -> np.ndarray:
    """Read an image file as uint8 RGB (h, w, 3), converting grayscale, palette, RGBA and
    16-bit images.

    Raises:
        DataError: naming ``path``, if it cannot be decoded or is too large.
    """
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    try:
        with Image.open(path) as image:
            if image.width * image.height > MAX_PIXELS:
                raise DataError(
                    f"{path} is {image.width}x{image.height} pixels, more than gan_lab reads "
                    f"({MAX_PIXELS:,}). Resize it first."
                )
            image.load()
            if image.mode in ("I;16", "I;16B", "I;16L", "I"):
                array = np.asarray(image, dtype=np.float64)
                top = 65535.0 if image.mode.startswith("I;16") or array.max() > 255 else 255.0
                array = np.round(array / top * 255.0).astype(np.uint8)
                return np.repeat(array[..., None], 3, axis=-1)
            return np.asarray(image.convert("RGB"), dtype=np.uint8)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
        if isinstance(e, DataError):
            raise
        raise DataError(f"{path} cannot be read as an image ({e}). Remove or replace it.") from e


def resize(image: np.ndarray, size: int, nearest: bool = False) -> np.ndarray:
    """Resize a uint8 (h, w, 3) image to (size, size, 3): area averaging, or nearest
    neighbour for label maps (so no new colours appear)."""
    from PIL import Image

    if image.shape[:2] == (size, size):
        return image
    method = Image.NEAREST if nearest else Image.BOX if image.shape[0] > size else Image.BICUBIC
    return np.asarray(Image.fromarray(image).resize((size, size), method))


# --------------------------------------------------------------------------- tf.data


def index_dataset(n: int, shuffle: bool, seed: int):
    """Indices 0..n-1, reshuffled every epoch (seeded) when ``shuffle``.

    The pipelines shuffle indices and gather images from one in-memory tensor, rather
    than shuffling the images themselves: the shuffle buffer then holds integers instead
    of a second copy of the dataset.
    """
    import tensorflow as tf

    ds = tf.data.Dataset.range(n)
    return ds.shuffle(n, seed=seed, reshuffle_each_iteration=True) if shuffle else ds


def with_random_seeds(ds, seed: int):
    """Zip each element with a fresh seed (shape [2]) for stateless random ops.

    Random augmentation drawn this way is a deterministic function of ``seed`` and the
    element's position, unlike stateful ops (``tf.random.uniform``) inside ``map``, so a
    resumed run that replays the pipeline sees the same crops and flips.
    """
    import tensorflow as tf

    seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2)
    return tf.data.Dataset.zip(ds, seeds)


def random_seed_pair():
    """A seed for stateless random ops, drawn from TensorFlow's global generator."""
    import tensorflow as tf

    return tf.random.get_global_generator().uniform_full_int([2], tf.int64)
