"""Checkpoints of a run: written atomically, found, read back with errors that say why.

Layout of a run folder's checkpoints::

    run_dir/checkpoints/step_000500/ckpt.*   one checkpoint: the step counter, models,
                                             optimizers and the random generators' states
    run_dir/history.json                     the logged losses, written with each checkpoint

Not ``tf.train.CheckpointManager``: it writes a checkpoint's files in place and then lists
them in its state file, without syncing either to disk, so after a power cut its state file
can name a torn checkpoint; a step folder that is synced and then renamed into place is
either complete or absent, and the same holds for each worker's own folder.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import keras
import tensorflow as tf

from gan_lab import errors, runtime

HISTORY_FILE = "history.json"


def find(run_dir: str | Path) -> list[str]:
    """The complete checkpoints of a run folder, oldest first (paths for ``read``).

    A checkpoint whose save was interrupted never gets its ``step_NNNNNN`` name, so it is
    never listed.
    """
    folder = Path(run_dir) / "checkpoints"
    if not folder.is_dir():
        return []
    done = [d for d in folder.glob("step_*") if (d / "ckpt.index").is_file()]
    return [str(d / "ckpt") for d in sorted(done)]


def latest(run_dir: str | Path) -> str | None:
    """The newest complete checkpoint of a run folder, or None."""
    found = find(run_dir)
    return found[-1] if found else None


def write(objects: dict, run_dir: str | Path, step: int, history: dict, max_to_keep: int) -> str:
    """Save ``objects`` as the checkpoint of ``step`` and ``history`` beside it, atomically.

    The checkpoint is written into a hidden ``.partial`` folder that is synced and renamed
    to ``step_NNNNNN`` only once complete, so a crash, kill or power cut at any moment
    leaves the earlier checkpoints intact. Then all but the newest ``max_to_keep`` are
    removed. Saving the same step twice writes it once.

    Returns:
        The checkpoint's path.

    Raises:
        CheckpointWriteError: it could not be written (disk full, quota, no permission);
            the partial files are removed and the earlier checkpoints are kept.
    """
    run_dir = Path(run_dir)
    folder = run_dir / "checkpoints"
    final = folder / f"step_{step:06d}"
    if (final / "ckpt.index").is_file():
        return str(final / "ckpt")
    for stale in folder.glob(".partial-*"):  # left by a killed save
        shutil.rmtree(stale, ignore_errors=True)
    partial = folder / f".partial-step_{step:06d}"
    try:
        partial.mkdir(parents=True)
        tf.train.Checkpoint(**objects).write(str(partial / "ckpt"))
        runtime.fsync(partial)
        os.replace(partial, final)
        runtime.fsync(folder)  # the rename too, not only the files
        with runtime.atomic_path(run_dir / HISTORY_FILE) as tmp:
            tmp.write_text(json.dumps(history))
    except (OSError, tf.errors.OpError) as e:
        shutil.rmtree(partial, ignore_errors=True)
        message = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        error = errors.CheckpointWriteError(
            f"Could not write the checkpoint of step {step} to {final}: {message}. Is "
            "the disk full (or a quota or file-size limit reached)? The partial files "
            f"were removed; the previous checkpoint ({latest(run_dir) or 'none yet'}) "
            "is intact. Free some space (or use a run folder on a larger disk) and resume."
        )
        error.errno = getattr(e, "errno", None)
        raise error from e
    for old in find(run_dir)[:-max_to_keep]:
        shutil.rmtree(Path(old).parent, ignore_errors=True)
    return str(final / "ckpt")


def read(objects: dict, path: str) -> None:
    """Load checkpoint ``path`` into ``objects`` (every object must be found in it).

    Raises:
        RunError: the checkpoint was written for other models (another architecture or
            other settings: variables missing or of other shapes), or its files are damaged
            or incomplete. Nothing is changed on disk. Other errors keep their traceback.
    """
    try:
        status = tf.train.Checkpoint(**objects).read(path)
        status.expect_partial().assert_existing_objects_matched()
    except AssertionError as e:  # objects without a saved value: other models
        mismatch = e
    except ValueError as e:
        if "incompatible" not in str(e):  # "Received incompatible tensor with shape ..."
            raise
        mismatch = e
    except (IndexError, tf.errors.OpError) as e:
        damaged = isinstance(e, IndexError | tf.errors.DataLossError | tf.errors.NotFoundError)
        if not (damaged or "No such file" in str(e)):  # e.g. out of memory: not the files
            raise
        raise errors.RunError(  # torn data file (IndexError), missing or corrupt file
            f"Checkpoint {path} is damaged or incomplete ({type(e).__name__}: "
            f"{str(e).strip()[:200]}). Delete its step folder to resume from the one before, "
            "or start a new run. Nothing was changed on disk."
        ) from e
    else:
        return
    raise errors.RunError(
        f"Checkpoint {path} does not match the models and optimizers given: it was "
        "written for another architecture or other settings (image size, filters, "
        "model kind). Build the models with the settings of that run (its run.json), "
        f"or start a new run folder. Nothing was changed on disk. Details: {mismatch}"
    ) from mismatch


def read_history(run_dir: str | Path, up_to_step: int) -> dict[str, list[float]]:
    """The logged history of a run up to and including ``up_to_step`` ({} if none)."""
    path = Path(run_dir) / HISTORY_FILE
    if not path.is_file():
        return {}
    saved = json.loads(path.read_text())
    keep = [i for i, s in enumerate(saved.get("step", [])) if s <= up_to_step]
    return {k: [v[i] for i in keep] for k, v in saved.items()}


def random_state(trackables: dict, train_step) -> dict:
    """What a faithful resume needs beyond the weights: the state of every random generator.

    Keras layers keep theirs (dropout's ``SeedGenerator``) outside the weights that
    ``tf.train.Checkpoint`` tracks; a train step exposes its own generators as
    ``train_step.trackables``.

    Returns:
        ``{name: generator or list of variables}`` to checkpoint with ``trackables``.
    """
    extra = dict(getattr(train_step, "trackables", {}))
    for name, obj in trackables.items():
        if isinstance(obj, keras.Model):
            weights = {id(w) for w in obj.weights}
            seeds = [v for v in obj.variables if id(v) not in weights]
            if seeds:
                extra[f"{name}_random_state"] = seeds
    return extra
