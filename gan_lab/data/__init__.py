"""Datasets: the real ones (downloaded with checksums, or placed by the user) and the
small synthetic ones that quick mode generates offline.

Every loader returns images scaled to [-1, 1]. Synthetic data is never substituted for
real data: quick mode is chosen explicitly (``quick=True``), and its data says so in
``source``, in every printout and in every figure title. The training pipelines are
``IndexedBatches``: a pure function of the batch number, so a run resumes at any step.

Modules: ``files`` (checksums, downloads, Keras' cache), ``images`` (reading image files,
``IndexedBatches``),
``digits`` (MNIST and synthetic digits), ``facades`` (CMP facades and synthetic
facades), ``apple2orange`` (apples and oranges, real and synthetic), ``toy`` (toy
distributions). Their public names are available from here.
"""

from gan_lab.data.apple2orange import (
    APPLE2ORANGE_COUNTS,
    UnpairedSet,
    find_apple2orange,
    load_apple2orange,
    synthetic_fruit,
    unpaired_dataset,
)
from gan_lab.data.digits import (
    MNIST_SHA256,
    MNIST_URL,
    NUM_DIGITS,
    ImageSet,
    load_digits,
    mnist_arrays,
    read_idx,
    read_mnist_npz,
    synthetic_digits,
    to_dataset,
)
from gan_lab.data.facades import (
    CMP_PALETTE,
    FACADES_COUNTS,
    PairSet,
    facades_pairs,
    find_facades,
    jitter,
    label_classes,
    load_facades,
    pair_dataset,
    split_pair,
    synthetic_facades,
    validate_facades,
)
from gan_lab.data.files import download, sha256_of
from gan_lab.data.images import IndexedBatches, list_images, normalize, read_rgb
from gan_lab.data.toy import (
    RING_STD,
    TOY_DISTRIBUTIONS,
    ring_centers,
    sample_toy,
    toy_dataset,
    toy_density,
)
from gan_lab.errors import DataError, DatasetNotFoundError

__all__ = [
    "APPLE2ORANGE_COUNTS",
    "UnpairedSet",
    "find_apple2orange",
    "load_apple2orange",
    "synthetic_fruit",
    "unpaired_dataset",
    "CMP_PALETTE",
    "FACADES_COUNTS",
    "PairSet",
    "facades_pairs",
    "find_facades",
    "jitter",
    "label_classes",
    "list_images",
    "load_facades",
    "pair_dataset",
    "read_rgb",
    "split_pair",
    "synthetic_facades",
    "validate_facades",
    "MNIST_SHA256",
    "MNIST_URL",
    "NUM_DIGITS",
    "RING_STD",
    "TOY_DISTRIBUTIONS",
    "DataError",
    "DatasetNotFoundError",
    "ImageSet",
    "IndexedBatches",
    "download",
    "load_digits",
    "mnist_arrays",
    "normalize",
    "read_idx",
    "read_mnist_npz",
    "ring_centers",
    "sample_toy",
    "sha256_of",
    "synthetic_digits",
    "to_dataset",
    "toy_dataset",
    "toy_density",
]
