"""Scale-out on TensorFlow's own engine, ``tf.distribute``: which strategy, which worker.

    gan-lab train dcgan --strategy auto          # all local GPUs if several, else one device
    gan-lab train dcgan --strategy mirrored      # MirroredStrategy over this machine's GPUs
    TF_CONFIG='{"cluster": {"worker": ["host0:12345", "host1:12345"]},
                "task": {"type": "worker", "index": 0}}' \\
        gan-lab train dcgan --strategy multiworker   # the same command on every worker

What makes a run independent of how its global batch is split (tested in
``tests/test_scale_out.py``): the input pipelines are pure functions of the batch number
(``data.images.indexed_batches``), each worker builds only its replicas' pieces of every
global batch, the generator's noise comes with the batch, each replica's loss is divided
by the number of replicas before the gradients are summed (``steps._for_gradients``),
batch norm uses the global batch's statistics (``models.batch_norm``), dropout masks are
drawn for the global batch (``models.dropout``) and CycleGAN's image pools see the global
batch (``training.ImagePool``).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

from gan_lab import errors

STRATEGIES = ("auto", "one", "mirrored", "multiworker")
LOST_WORKER_SECONDS = 10
"""About how long the other workers take to stop when one dies: TensorFlow's coordination
service declares a worker that misses its heartbeats for 10 s unhealthy and aborts the
collectives waiting for it (1.4 to 10.8 s measured here, for a killed chief and a killed
worker). gan_lab sets no collective timeout (``CommunicationOptions(timeout_seconds=...)``):
in TensorFlow 2.21 each collective then keeps a thread until its timeout passes, about 15 a
step for the toy GAN, and a long run dies of thread exhaustion."""


def make_strategy(name: str):
    """The ``tf.distribute`` strategy ``name`` (one of ``STRATEGIES``), or None for one device.

    ``auto``: ``MirroredStrategy`` over all local GPUs when there are several, else None.
    ``one``: None (the default strategy: one GPU, or the CPU). ``mirrored``:
    ``MirroredStrategy`` over all local GPUs (or the CPU). ``multiworker``:
    ``MultiWorkerMirroredStrategy`` over the cluster that the ``TF_CONFIG`` environment
    variable describes, with ring all-reduce on CPUs and NCCL on GPUs.

    Call it before anything else touches TensorFlow's devices (the strategy fixes them).

    Raises:
        UsageError: an unknown name, or ``multiworker`` without a valid ``TF_CONFIG``.
    """
    import tensorflow as tf

    if name not in STRATEGIES:
        raise errors.UsageError(f"--strategy must be one of {', '.join(STRATEGIES)}: {name!r}")
    if name == "multiworker":
        cluster_config()  # a clear error before TensorFlow reads it
        return tf.distribute.MultiWorkerMirroredStrategy()
    gpus = tf.config.list_physical_devices("GPU")
    if name == "mirrored" or (name == "auto" and len(gpus) > 1):
        return tf.distribute.MirroredStrategy()
    return None


def cluster_config() -> dict:
    """The parsed ``TF_CONFIG`` (cluster and task), checked for what multi-worker needs.

    Raises:
        UsageError: unset, not JSON, or without a ``worker`` list and this task's place in it.
    """
    text = os.environ.get("TF_CONFIG", "")
    example = (
        'e.g. TF_CONFIG=\'{"cluster": {"worker": ["host0:12345", "host1:12345"]}, '
        '"task": {"type": "worker", "index": 0}}\' (README: Scale-out)'
    )
    if not text.strip():
        raise errors.UsageError(f"--strategy multiworker needs the TF_CONFIG variable: {example}")
    try:
        config = json.loads(text)
        workers = config["cluster"]["worker"]
        task = config["task"]
        kind, index = task["type"], int(task["index"])
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as e:
        raise errors.UsageError(
            f"TF_CONFIG is not valid ({type(e).__name__}: {e}); {example}"
        ) from None
    if kind not in config["cluster"] or not 0 <= index < len(config["cluster"][kind]):
        raise errors.UsageError(
            f"TF_CONFIG's task {kind} {index} is not in its cluster {config['cluster']}."
        )
    if not workers:
        raise errors.UsageError(f"TF_CONFIG's cluster lists no worker; {example}")
    return config


def describe(strategy) -> dict:
    """``{"strategy", "replicas", "workers", "worker", "chief"}`` of ``strategy`` (None: one
    device): what run.json and summary.json record and every worker prints."""
    if strategy is None:
        return {"strategy": "one", "replicas": 1, "workers": 1, "worker": 0, "chief": True}
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.cluster_spec().as_dict():  # one machine
        name = "mirrored"
        workers, kind, index = 1, None, 0
    else:
        name = "multiworker"
        spec = resolver.cluster_spec().as_dict()
        workers = sum(len(spec.get(k, [])) for k in ("chief", "worker"))
        kind, index = resolver.task_type, int(resolver.task_id or 0)
    chief = kind in (None, "chief") or (
        kind == "worker" and index == 0 and not _has_chief(resolver)
    )
    return {
        "strategy": name,
        "replicas": int(strategy.num_replicas_in_sync),
        "workers": workers,
        "worker": index if kind != "chief" else 0,
        "chief": bool(chief),
    }


def _has_chief(resolver) -> bool:
    return bool(resolver.cluster_spec().as_dict().get("chief"))


def replicas() -> int:
    """Replicas of the current strategy (1 outside any ``strategy.scope()``)."""
    import tensorflow as tf

    return int(tf.distribute.get_strategy().num_replicas_in_sync)


FINISH_TIMEOUT = 4 * 3600
"""Seconds the other workers wait at the end for the chief to finish measuring the result."""


def finish_together(where: dict) -> None:
    """Under several workers, wait until every worker reaches this point (the chief after
    writing its summary), so that no worker leaves while another still uses the cluster:
    TensorFlow's coordination service reports a worker that has left as crashed.

    Uses the coordination service's barrier (``context.wait_at_barrier``), which
    ``tf.distribute`` uses internally; TensorFlow has no public barrier for several clients.
    """
    if where["workers"] < 2:
        return
    from tensorflow.python.eager import context

    context.context().wait_at_barrier("gan_lab_finished", FINISH_TIMEOUT * 1000)


def scratch_folder(worker: int) -> Path:
    """A new temporary folder for a worker other than the chief (its share of each
    checkpoint); the caller removes it. Folders left by killed workers of this machine
    (their process is gone) are removed first."""
    root = Path(tempfile.gettempdir())
    for old in root.glob("gan_lab-worker*-pid*-*"):
        pid = old.name.split("-pid")[1].split("-")[0]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(old, ignore_errors=True)
    return Path(tempfile.mkdtemp(prefix=f"gan_lab-worker{worker}-pid{os.getpid()}-"))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True
