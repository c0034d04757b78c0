"""Run settings: quick mode, seeding, where files go, and which device trains.

Everything a lesson writes goes under one output root (``outputs/`` at the project
root, or ``GAN_LAB_OUTPUT_DIR``); datasets are cached under one data root (``data/``
at the project root, or ``GAN_LAB_DATA_DIR``). Nothing is written into the current
working directory.
"""

from __future__ import annotations

import contextlib
import datetime
import os
import random
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from gan_lab import errors

QUICK_ENV = "GAN_LAB_QUICK"
PRECISION_ENV = "GAN_LAB_PRECISION"
PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")
OUTPUT_ENV = "GAN_LAB_OUTPUT_DIR"
DATA_ENV = "GAN_LAB_DATA_DIR"

_PACKAGE_DIR = Path(__file__).resolve().parent


def is_quick() -> bool:
    """Whether quick mode is on (``GAN_LAB_QUICK`` set to 1/true/yes/on).

    Quick mode trains every lesson for a few minutes on a CPU, on small synthetic
    data that gan_lab generates itself.

    Raises:
        UsageError: if the variable holds something that is neither true nor false.
    """
    value = os.environ.get(QUICK_ENV, "").strip().lower()
    choices = {
        "": False,
        "0": False,
        "false": False,
        "no": False,
        "off": False,
        "1": True,
        "true": True,
        "yes": True,
        "on": True,
    }
    if value not in choices:
        raise errors.UsageError(
            f"{QUICK_ENV} must be 1 or 0 (or true/false). Received: {QUICK_ENV}={value!r}"
        )
    return choices[value]


def _project_root() -> Path | None:
    """The source checkout gan_lab is installed from (editable install), if any."""
    root = _PACKAGE_DIR.parent
    return root if (root / "pyproject.toml").is_file() else None


def _root(env: str, folder: str) -> Path:
    if os.environ.get(env):
        return Path(os.environ[env]).expanduser().resolve()
    project = _project_root()
    if project is not None:
        return project / folder
    return Path.home() / ".gan_lab" / folder


def output_root() -> Path:
    """The folder every output goes under: ``GAN_LAB_OUTPUT_DIR`` or ``<project>/outputs``."""
    return _root(OUTPUT_ENV, "outputs")


def data_root() -> Path:
    """The dataset cache: ``GAN_LAB_DATA_DIR`` or ``<project>/data``."""
    return _root(DATA_ENV, "data")


def new_run_dir(name: str) -> Path:
    """Create and return a fresh, timestamped run folder ``<output root>/<name>/<time>``.

    A new folder per run means re-running a lesson never overwrites an earlier run's
    checkpoints, frames or GIF.

    Args:
        name: the lesson or experiment name, e.g. ``"dcgan"``.

    Raises:
        NotAFolderError: if the output root exists but is not a folder.
    """
    root = output_root()
    if root.exists() and not root.is_dir():
        raise errors.NotAFolderError(
            f"The output root {root} is a file, not a folder. Move it away or point "
            f"{OUTPUT_ENV} at a folder."
        )
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    base = root / name / stamp
    run_dir, n = base, 1
    while run_dir.exists():
        n += 1
        run_dir = base.with_name(f"{stamp}-{n}")
    run_dir.mkdir(parents=True)
    return run_dir


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Write a file all or nothing: yield a hidden sibling of ``path`` (same suffix) to
    write to; once the block succeeds it replaces ``path`` in one rename, and if it fails
    it is removed, so a crash or a full disk never leaves a half-written ``path``.
    Folders are created."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.partial{path.suffix}")
    try:
        yield tmp
        fsync(tmp)  # the data on disk before the name points at it
        os.replace(tmp, path)
        fsync(path.parent)  # and the rename itself
    finally:
        tmp.unlink(missing_ok=True)


def fsync(path: str | Path) -> None:
    """Flush a file, or a folder's entries and its files, to disk, so that a rename after
    it (or of it) survives a power cut."""
    path = Path(path)
    for item in [*path.iterdir(), path] if path.is_dir() else [path]:
        fd = os.open(item, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def random_generator(seed: int | None = None):
    """A ``tf.random.Generator`` of one's own, to save in checkpoints: seeded with
    ``seed``, or split off TensorFlow's global generator (which ``seed_everything``
    seeds) when ``seed`` is None."""
    import tensorflow as tf

    if seed is None:
        return tf.random.get_global_generator().split(1)[0]
    return tf.random.Generator.from_seed(seed)


def seed_everything(seed: int) -> None:
    """Seed Python's, NumPy's and TensorFlow's random generators with one call.

    This includes TensorFlow's global ``tf.random.Generator``, from which the train steps
    and image pools split their own (checkpointed) generators.

    Args:
        seed: any non-negative integer.
    """
    import tensorflow as tf

    if not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer. Received: seed={seed!r}")
    random.seed(seed)
    np.random.seed(seed)
    tf.random.set_seed(seed)
    tf.random.set_global_generator(tf.random.Generator.from_seed(seed))


def enable_gpu_memory_growth() -> None:
    """Let TensorFlow take GPU memory as it needs it instead of all at once, so several
    lesson kernels can share one GPU in JupyterLab. Must run before the GPU is first used
    (later calls leave it as it is)."""
    import tensorflow as tf

    for gpu in tf.config.list_physical_devices("GPU"):
        try:
            tf.config.experimental.set_memory_growth(gpu, True)
        except RuntimeError:  # already initialised: growth must be set before first use
            pass


def describe_device() -> str:
    """A one-line report of the device training runs on (changes nothing)."""
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        names = [
            tf.config.experimental.get_device_details(g).get("device_name", g.name) for g in gpus
        ]
        return f"gan_lab: training on {len(gpus)} GPU(s): {', '.join(names)}"
    return (
        f"gan_lab: WARNING no GPU found, training runs on the CPU ({os.cpu_count()} cores). "
        "Quick mode is fine here; full-mode runs take hours instead of minutes."
    )


# oneDNN ISA caps (ONEDNN_MAX_CPU_ISA) under which oneDNN has no bf16 kernels: with one of
# these set, a bf16 matmul aborts the process ("could not create a primitive descriptor"),
# so "auto" must not choose bf16 even when the CPU itself has AVX512-BF16.
_ISAS_WITHOUT_BF16 = (
    "SSE41",
    "AVX",
    "AVX2",
    "AVX2_VNNI",
    "AVX2_VNNI_2",
    "AVX512_CORE",
    "AVX512_CORE_VNNI",
)


def _cpu_has_bf16() -> bool:
    if os.environ.get("ONEDNN_MAX_CPU_ISA", "").strip().upper() in _ISAS_WITHOUT_BF16:
        return False
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def default_precision() -> str:
    """The fastest correct precision for this machine.

    GPUs of compute capability 8.0 or newer (A100, L4, RTX 30xx...): mixed_bfloat16 (no
    loss scaling needed); 7.x (V100, T4): mixed_float16 with loss scaling; CPUs with
    AVX512-BF16 or AMX: mixed_bfloat16; anything else: float32.
    """
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        capability = tf.config.experimental.get_device_details(gpus[0]).get(
            "compute_capability", (0, 0)
        )
        return (
            "mixed_bfloat16"
            if capability >= (8, 0)
            else ("mixed_float16" if capability >= (7, 0) else "float32")
        )
    return "mixed_bfloat16" if _cpu_has_bf16() else "float32"


def set_precision(precision: str | None = None) -> str:
    """Set Keras' global dtype policy for the models built afterwards; return its name.

    Args:
        precision: ``"float32"``, ``"mixed_bfloat16"``, ``"mixed_float16"``, or ``"auto"``
            (``default_precision()``: float32 on CPUs without bf16 support, the fastest
            correct choice elsewhere). Default: ``GAN_LAB_PRECISION``, else ``"auto"``.
            Under the mixed policies layers compute in 16 bits and keep float32 weights;
            normalization statistics, the generators' last activation and every loss stay
            in float32. Use ``training.adam`` for optimizers: under mixed_float16 it adds
            loss scaling.

    Raises:
        UsageError: an unknown precision.
    """
    import keras

    precision = precision or os.environ.get(PRECISION_ENV, "auto")
    if precision == "auto":
        precision = default_precision()
    if precision not in PRECISIONS:
        raise errors.UsageError(
            f"precision must be 'auto' or one of {PRECISIONS}. Received: precision={precision!r}"
        )
    keras.mixed_precision.set_global_policy(precision)
    return precision


@contextlib.contextmanager
def precision_policy(precision: str) -> Iterator[None]:
    """Build models under Keras dtype policy ``precision`` inside the block only; the global
    policy is restored afterwards (``set_global_policy`` alone would leak into the caller)."""
    import keras

    before = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(precision)
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(before)


def setup(seed: int, precision: str | None = None, *, quick: bool) -> str:
    """Start a lesson: seed every generator, set the precision, and print the device,
    precision and mode in use. Returns the precision set.

    Args:
        seed: seed of Python's, NumPy's and TensorFlow's generators.
        precision: see ``set_precision``.
        quick: the lesson's mode, as its parameters cell (or a run's settings) says; only
            printed here: every loader is told the mode explicitly too.
    """
    seed_everything(seed)
    enable_gpu_memory_growth()
    precision = set_precision(precision)
    print(describe_device() + f" Precision: {precision}.")
    mode = "QUICK (small synthetic data)" if quick else "FULL (real datasets)"
    print(f"gan_lab: mode {mode}; outputs under {output_root()}; data under {data_root()}")
    return precision
