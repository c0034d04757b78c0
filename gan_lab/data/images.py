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


STREAMS = {"order": 0, "augment": 1, "noise": 2}  # one seed stream per kind of draw


def stream_seed(seed, stream: str, counter):
    """The seed (shape [2]) of draw number ``counter`` of ``stream`` for a pipeline seeded by
    ``seed``: a pure function of the three, so a batch's randomness does not depend on
    what was drawn before it (resume) or on which device builds it (scale-out)."""
    import tensorflow as tf

    base = tf.stack([tf.cast(seed, tf.int64), tf.constant(STREAMS[stream], tf.int64)])
    return tf.random.experimental.stateless_fold_in(base, tf.cast(counter, tf.int64))


def element_seeds(seed, stream: str, batch, positions):
    """One seed per element of global batch ``batch`` at ``positions`` (k,) -> (k, 2)."""
    import tensorflow as tf

    first = stream_seed(seed, stream, batch)
    return tf.map_fn(
        lambda p: tf.random.experimental.stateless_fold_in(first, p),
        tf.cast(positions, tf.int64),
        fn_output_signature=tf.TensorSpec([2], tf.int64),
    )


class IndexedBatches:
    """A batched pipeline that is a pure function of the batch number: resumable at any
    step, and splittable across replicas, without replaying what came before.

    Epoch ``e`` visits the ``n`` examples in the order of a permutation seeded by
    ``(seed, e)`` (or in order, without ``shuffle``), ``batch_size`` at a time; the last
    ``n % batch_size`` examples of each epoch are left out, so every step sees a full
    batch (and a global batch splits evenly). ``load(batch, indices, positions)`` turns
    global batch number ``batch`` (int64), the example ``indices`` of (a piece of) it and
    their ``positions`` in it into the tensors of a batch; it draws its randomness from
    ``stream_seed``/``element_seeds`` keyed by ``batch`` and ``positions``.

    Iterating over it (or ``epoch()``) gives one epoch; ``from_batch`` gives the endless
    pipeline from any batch on, which ``training.Trainer`` uses to resume and, under a
    ``tf.distribute`` strategy, to let each worker build only its replicas' pieces.

    Args:
        n: number of examples.
        batch_size: examples per (global) batch, in [1, n].
        load: ``(batch, indices, positions) -> batch tensors``, traced by ``tf.data``.
        seed: seed of the epochs' orders (and of ``load``'s draws).
        shuffle: visit each epoch in a new seeded order (default True) or in order.

    Raises:
        ValueError: fewer than ``batch_size`` examples.
    """

    def __init__(self, n: int, batch_size: int, load, *, seed: int, shuffle: bool = True):
        if batch_size < 1 or n < batch_size:
            raise ValueError(
                f"batch_size must be in [1, {n}] (the number of examples). Received: {batch_size}"
            )
        self.n, self.batch_size, self.seed, self.shuffle = n, batch_size, seed, shuffle
        self.batches_per_epoch = n // batch_size
        self._load = load

    def _epoch_rows(self, epoch):
        """The example indices of epoch ``epoch``'s batches, one row per batch."""
        import tensorflow as tf

        order = tf.range(self.n, dtype=tf.int64)
        if self.shuffle:
            order = tf.random.experimental.stateless_shuffle(
                order, seed=stream_seed(self.seed, "order", epoch)
            )
        rows = order[: self.batches_per_epoch * self.batch_size]
        return tf.data.Dataset.from_tensor_slices(
            tf.reshape(rows, [self.batches_per_epoch, self.batch_size])
        )

    def from_batch(self, start: int = 0, pieces: int = 1, keep=None):
        """The endless pipeline from global batch ``start`` on, each batch cut into
        ``pieces`` equal pieces of which those in ``keep`` (default all) are yielded, in
        order.

        Raises:
            ValueError: ``pieces`` does not divide the batch size.
        """
        import tensorflow as tf

        if pieces < 1 or self.batch_size % pieces:
            raise ValueError(
                f"A batch of {self.batch_size} cannot be split into {pieces} equal pieces."
            )
        size = self.batch_size // pieces
        endless = 2**62
        first_epoch, offset = divmod(int(start), self.batches_per_epoch)
        rows = tf.data.Dataset.range(first_epoch, endless).flat_map(self._epoch_rows)
        numbered = tf.data.Dataset.zip(tf.data.Dataset.range(start, endless), rows.skip(offset))
        kept = tf.constant(list(range(pieces) if keep is None else keep), tf.int64)

        def cut(batch, row):  # the kept pieces of one global batch, in order
            return tf.data.Dataset.from_tensor_slices(kept).map(
                lambda r: (
                    batch,
                    row[r * size : (r + 1) * size],
                    r * size + tf.range(size, dtype=tf.int64),
                )
            )

        pipeline = numbered.flat_map(cut)
        pipeline = pipeline.map(self._load, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
        return pipeline.prefetch(tf.data.AUTOTUNE)

    def epoch(self):
        """The first epoch, as a ``tf.data.Dataset`` of known length."""
        import tensorflow as tf

        first = self.from_batch(0).take(self.batches_per_epoch)
        return first.apply(tf.data.experimental.assert_cardinality(self.batches_per_epoch))

    def __iter__(self):
        return iter(self.epoch())

    def __len__(self) -> int:
        return self.batches_per_epoch


def random_seed_pair():
    """A seed for stateless random ops, drawn from TensorFlow's global generator."""
    import tensorflow as tf

    return tf.random.get_global_generator().uniform_full_int([2], tf.int64)


def quick_count(count: int | None) -> int:
    """``count``, the number of synthetic examples a quick-mode loader draws; the lessons'
    values are settings (``recipes.defaults``: ``synthetic_train``, ``synthetic_test``)."""
    if count is None:
        raise ValueError(
            "quick mode draws synthetic data and needs its size: pass count= (the lessons "
            "use recipes.defaults' synthetic_train and synthetic_test)"
        )
    return count
