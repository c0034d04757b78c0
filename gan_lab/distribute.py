"""Scale-out on TensorFlow's own engine, ``tf.distribute``: which strategy, which worker,
and how a train step and its batches run on several replicas.

    gan-lab train dcgan --strategy auto          # all local GPUs if several, else one device
    gan-lab train dcgan --strategy mirrored      # MirroredStrategy over this machine's GPUs
    TF_CONFIG='{"cluster": {"worker": ["host0:12345", "host1:12345"]},
                "task": {"type": "worker", "index": 0}}' \\
        gan-lab train dcgan --strategy multiworker   # the same command on every worker

What makes a run independent of how its global batch is split (tested in
``tests/test_scale_out.py``): the input pipelines are pure functions of the batch number
(``data.IndexedBatches``), each worker builds only its replicas' pieces of every global
batch (``batch_iterator``), the generator's noise comes with the batch, each replica's loss
is divided by the number of replicas before the gradients are summed
(``steps._for_gradients``), batch norm uses the global batch's statistics
(``models.batch_norm``), dropout masks are drawn for the global batch
(``models.GlobalBatchDropout``) and CycleGAN's image pools see the global batch
(``image_pool.ImagePool``).
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
        '"task": {"type": "worker", "index": 0}}\' (docs/scale-out.md)'
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


# --------------------------------------------------------------------------- running a step


def replicated_step(train_step, strategy):
    """``train_step`` on every replica of ``strategy``: a function ``(iterator) -> (logs,
    sizes)`` that draws the next global batch, runs the step on each replica's piece,
    averages the logs over replicas and returns each replica's batch size (for
    ``global_batch_size``). Compile it with ``tf.function``."""
    import tensorflow as tf

    def step(iterator):
        # next() runs inside the compiled function: called eagerly, a multi-worker
        # iterator's per-batch check that all workers have data would run as an
        # eager collective, which starts (and leaks) a thread pool every step.
        batch = next(iterator)
        logs = strategy.run(train_step, args=(batch,))
        mean = tf.distribute.ReduceOp.MEAN
        logs = {k: strategy.reduce(mean, v, axis=None) for k, v in logs.items()}
        sizes = strategy.run(lambda b: tf.shape(tf.nest.flatten(b)[0])[0], args=(batch,))
        return logs, sizes

    return step


def global_batch_size(strategy, sizes) -> int:
    """Examples of the global batch (all workers'), from this worker's replicas' ``sizes``."""
    local = strategy.experimental_local_results(sizes)
    return sum(int(t) for t in local) * strategy.num_replicas_in_sync // len(local)


def batch_iterator(batches, start: int, strategy=None):
    """An endless iterator over ``batches`` from batch ``start`` on, so a resumed run sees
    the batches an uninterrupted one would; under ``strategy``, the distributed input.

    ``data.IndexedBatches`` start there at once (under a strategy each worker builds only
    its own replicas' pieces of every global batch); a ``tf.data.Dataset`` is repeated and
    replayed past its first ``start`` batches (seconds to minutes).
    """
    import tensorflow as tf

    from gan_lab.data.images import IndexedBatches

    if isinstance(batches, IndexedBatches):
        if strategy is None:
            return iter(batches.from_batch(start))

        def pieces(context):
            local = context.num_replicas_in_sync // context.num_input_pipelines
            first = context.input_pipeline_id * local
            keep = range(first, first + local)
            return batches.from_batch(start, pieces=context.num_replicas_in_sync, keep=keep)

        return iter(strategy.distribute_datasets_from_function(pieces))
    if not isinstance(batches, tf.data.Dataset):
        raise TypeError(
            "batches must be data.IndexedBatches or a tf.data.Dataset. "
            f"Received: {type(batches).__name__}"
        )
    dataset = batches.repeat().skip(start) if start else batches.repeat()
    if strategy is None:
        return iter(dataset)
    return iter(strategy.experimental_distribute_dataset(dataset))


def lost_worker_errors() -> tuple[type[Exception], ...]:
    """What a collective raises under a strategy when a peer is gone (killed, crashed,
    unreachable: ``LOST_WORKER_SECONDS``)."""
    import tensorflow as tf

    return (
        tf.errors.UnavailableError,
        tf.errors.DeadlineExceededError,
        tf.errors.CancelledError,
        tf.errors.AbortedError,
    )


def worker_lost(step: int, e: Exception) -> errors.WorkerLostError:
    """``e`` as one line naming the cause (the lost task) and how to go on."""
    lines = [line.strip() for line in str(e).splitlines() if line.strip()]
    keys = ("unhealthy", "reset by peer", "Socket closed", "/task:")
    telling = [line for line in lines if any(key in line for key in keys)]
    cause = " ".join(telling[:2] or lines[:1])[:300]
    return errors.WorkerLostError(
        f"Lost contact with another worker during step {step + 1} ({type(e).__name__}: "
        f"{cause}). The job stops on every worker. Restart all workers with --resume and the "
        "chief's run folder: they continue from the chief's last checkpoint."
    )
