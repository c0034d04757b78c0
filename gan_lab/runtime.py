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
from collections.abc import Iterator, Mapping
from pathlib import Path

from gan_lab import errors

QUICK_ENV = "GAN_LAB_QUICK"
PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")
OUTPUT_ENV = "GAN_LAB_OUTPUT_DIR"
DATA_ENV = "GAN_LAB_DATA_DIR"

_PACKAGE_DIR = Path(__file__).resolve().parent


def choose_quick(quick: bool | None) -> bool:
    """Quick or full mode: ``quick`` itself when it is a bool; for None, decided here.

    Quick mode trains every lesson for a few minutes on a CPU, on small synthetic data that
    gan_lab generates itself. None means: quick when ``GAN_LAB_QUICK`` is 1 (set when
    notebooks are executed as tests; 0 means full), otherwise quick on a machine where
    TensorFlow sees no GPU (printing one line that says so) and full with a GPU.

    Args:
        quick: True, False or None (decide).

    Returns:
        Whether to run in quick mode.

    Raises:
        UsageError: ``quick`` is not a bool or None, or ``GAN_LAB_QUICK`` holds something
            that is neither true nor false.
    """
    if isinstance(quick, bool):
        return quick
    if quick is not None:
        raise errors.UsageError(f"QUICK must be True, False or None. Received: QUICK={quick!r}")
    value = os.environ.get(QUICK_ENV, "").strip().lower()
    choices = {"1": True, "true": True, "yes": True, "on": True}
    choices.update({"0": False, "false": False, "no": False, "off": False})
    if value:
        if value not in choices:
            raise errors.UsageError(
                f"{QUICK_ENV} must be 1 or 0 (or true/false). Received: {QUICK_ENV}={value!r}"
            )
        return choices[value]
    import tensorflow as tf

    if tf.config.list_physical_devices("GPU"):
        return False
    print("No GPU found: quick mode (set QUICK = False to train in full mode here)")
    if nvidia_driver_present():
        print(
            f"An NVIDIA driver is installed: `make install-gpu` lets TensorFlow use it{GPU_NEEDS}."
        )
    return True


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


def new_run_dir(name: str, root: str | Path | None = None) -> Path:
    """Create and return a fresh, timestamped run folder ``<root>/<name>/<time>``.

    A new folder per run means re-running a lesson never overwrites an earlier run's
    checkpoints, frames or GIF.

    Args:
        name: the lesson or experiment name, e.g. ``"dcgan"``.
        root: the folder to create it under (default None: ``output_root()``).

    Raises:
        NotAFolderError: if the root exists but is not a folder.
    """
    root = output_root() if root is None else Path(root).expanduser()
    if root.exists() and not root.is_dir():
        raise errors.NotAFolderError(
            f"The output root {root} is a file, not a folder. Move it away, give another "
            f"root or point {OUTPUT_ENV} at a folder."
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
    """Seed every random generator a run draws from.

    ``keras.utils.set_random_seed`` seeds Python's, NumPy's and TensorFlow's global seeds
    and Keras' own seed generator; it does not reset TensorFlow's global
    ``tf.random.Generator``, from which the train steps and image pools split their own
    (checkpointed) generators, so that one is seeded here too.

    Args:
        seed: any non-negative integer.

    Raises:
        UsageError: ``seed`` is not a non-negative integer.
    """
    import keras
    import tensorflow as tf

    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise errors.UsageError(f"seed must be a non-negative integer. Received: seed={seed!r}")
    keras.utils.set_random_seed(seed)
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
    hint = (
        " An NVIDIA driver is installed but TensorFlow has no GPU support here: run "
        f"`make install-gpu`{GPU_NEEDS}."
        if nvidia_driver_present()
        else ""
    )
    return (
        f"gan_lab: WARNING no GPU found, training runs on the CPU ({os.cpu_count()} cores). "
        "Quick mode is fine here; full-mode runs take hours instead of minutes." + hint
    )


def describe_machine() -> str:
    """The machine in one line, for benchmark results and reference runs: CPU model, cores,
    GPUs, TensorFlow version (changes nothing)."""
    import platform

    import tensorflow as tf

    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    gpus = [
        tf.config.experimental.get_device_details(g).get("device_name", g.name)
        for g in tf.config.list_physical_devices("GPU")
    ]
    return (
        f"{cpu}, {os.cpu_count()} cores"
        + (f", GPU: {', '.join(gpus)}" if gpus else ", no GPU")
        + f", TF {tf.__version__}"
    )


GPU_NEEDS = " (TensorFlow 2.21's CUDA 12 build needs NVIDIA driver 525.60.13 or newer)"
"""What ``make install-gpu`` needs of the machine: tensorflow[and-cuda] 2.21 brings CUDA
12.5 and cuDNN 9 (tf.sysconfig.get_build_info()); CUDA 12 runs on drivers >= 525.60.13
(NVIDIA's CUDA minor-version compatibility)."""


def nvidia_driver_present() -> bool:
    """Whether this machine has an NVIDIA driver loaded (whatever TensorFlow sees)."""
    return Path("/proc/driver/nvidia/version").is_file()


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


def cpu_has_bf16() -> bool:
    """Whether this CPU has bfloat16 instructions (AVX512-BF16 or AMX) that oneDNN may use."""
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
    return "mixed_bfloat16" if cpu_has_bf16() else "float32"


def set_precision(precision: str) -> str:
    """Set Keras' global dtype policy for the models built afterwards; return its name.

    Args:
        precision: ``"float32"``, ``"mixed_bfloat16"``, ``"mixed_float16"``, or ``"auto"``
            (``default_precision()``: float32 on CPUs without bf16 support, the fastest
            correct choice elsewhere). Under the mixed policies layers compute in 16 bits
            and keep float32 weights; normalization statistics, the generators' last
            activation and every loss stay in float32. Use ``optim.adam`` for optimizers:
            under mixed_float16 it adds loss scaling.

    Raises:
        UsageError: an unknown precision.
    """
    import keras

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


def setup(config: Mapping) -> str:
    """Start a run or lesson from its settings: seed every generator, turn on op
    determinism if asked, set the precision, and print the device and precision in use.

    Args:
        config: the settings (``recipes.defaults``); reads ``seed`` (see
            ``seed_everything``), ``precision`` (see ``set_precision``) and, if present,
            ``deterministic``: True makes TensorFlow's ops deterministic
            (``tf.config.experimental.enable_op_determinism``: a resumed run then equals an
            uninterrupted one bit for bit, at some speed).

    Returns:
        The precision set, e.g. ``"float32"`` when ``precision`` was ``"auto"``.
    """
    import tensorflow as tf

    seed_everything(config["seed"])
    if config.get("deterministic"):
        tf.config.experimental.enable_op_determinism()
    enable_gpu_memory_growth()
    precision = set_precision(config["precision"])
    print(describe_device() + f" Precision: {precision}.")
    return precision
