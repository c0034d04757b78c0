"""The one training loop every lesson uses.

Nothing here knows about any architecture (the idea of minGPT's ``trainer.py``): a
lesson hands the Trainer a step function, the objects to checkpoint, and optionally a
function that draws a progress frame. The Trainer runs the step (compiled with
``tf.function``, so it runs on the GPU when there is one), shows progress, keeps the loss
history, writes TensorBoard scalars, frames and checkpoints, and resumes.

Layout of a run folder::

    run_dir/checkpoints/step_000500/   one checkpoint: step, models, optimizers and the
                                       states of the random generators
    run_dir/frames/        step_000000.png ... progress frames, for the GIF
    run_dir/tensorboard/   scalars
    run_dir/history.json   logged losses per step
"""

from __future__ import annotations

import json
import math
import os
import shutil
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from tqdm.auto import tqdm

from gan_lab import errors, runtime, viz

Callback = Callable[["Trainer", int, dict], None]


class Trainer:
    """Runs a train step over a dataset with progress, history, frames and checkpoints.

    Args:
        step_fn: ``step(batch) -> dict of scalar tensors`` (see ``gan_lab.steps``).
        run_dir: folder of this run (see ``runtime.new_run_dir``).
        trackables: what to checkpoint, e.g. ``{"generator": g, "g_optimizer": opt, ...}``.
        sample_fn: optional ``() -> uint8 image (h, w, 3)``, drawn every ``sample_every``
            steps, at the start and at the end, saved under ``frames/``. Drawing never
            changes training: the models' non-trainable state (batch-norm moving
            statistics, dropout seed generators) is put back after each frame, so the
            number of frames does not change the trained weights.
        title: caption prefix of every frame, e.g. ``"DCGAN on SYNTHETIC digits"``.
        sample_every: steps between frames (default 100).
        log_every: steps between history/TensorBoard entries and callbacks (default 10).
        checkpoint_every: steps between checkpoints (default 500; one is also written at
            the end of ``fit``).
        callbacks: functions ``(trainer, step, logs)`` called after each log entry.
        resume: restore the latest checkpoint in ``run_dir`` (default False). Without it,
            a ``run_dir`` that already holds checkpoints is refused rather than overwritten.
        compile: wrap ``step_fn`` in ``tf.function`` (default True; False runs eagerly,
            for debugging).
        jit_compile: also compile with XLA (default False; measure before turning it on:
            ``make bench`` does. The CycleGAN step does not compile: XLA cannot convert the
            image pool's per-image loop over a variable).
        max_to_keep: checkpoints kept (default 3).
        strategy: a ``tf.distribute`` strategy to run the step on several devices
            (``MirroredStrategy`` for the GPUs of one machine, ``MultiWorkerMirroredStrategy``
            for several machines; see ``gan_lab.distribute``), or None (default). Build
            the models, optimizers and step inside ``strategy.scope()``; give ``fit`` the
            global batch, which each worker cuts into its replicas' pieces. The steps of
            ``gan_lab.steps`` scale their losses so the update equals the single-device
            update on the global batch. With several workers, only the chief should write
            the run folder: give the others a temporary ``run_dir`` (they must still
            save, as every worker takes part in a checkpoint) and no ``sample_fn``.

    Raises:
        FileExistsError: ``run_dir`` has checkpoints and ``resume`` is False.
    """

    def __init__(
        self,
        step_fn: Callable[..., dict],
        run_dir: str | Path,
        trackables: dict,
        *,
        sample_fn: Callable[[], np.ndarray] | None = None,
        title: str = "",
        sample_every: int = 100,
        log_every: int = 10,
        checkpoint_every: int = 500,
        callbacks: Iterable[Callback] = (),
        resume: bool = False,
        compile: bool = True,
        jit_compile: bool = False,
        max_to_keep: int = 3,
        strategy: tf.distribute.Strategy | None = None,
    ):
        for key, value in {
            "sample_every": sample_every,
            "log_every": log_every,
            "checkpoint_every": checkpoint_every,
            "max_to_keep": max_to_keep,
        }.items():
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{key} must be a positive integer. Received: {key}={value!r}")
        self.run_dir = Path(run_dir)
        if self.run_dir.exists() and not self.run_dir.is_dir():
            raise errors.NotAFolderError(f"run_dir {self.run_dir} is a file; give a folder.")
        self.frames_dir = self.run_dir / "frames"
        self.sample_fn, self.title = sample_fn, title
        self.sample_every, self.log_every = sample_every, log_every
        self.checkpoint_every = checkpoint_every
        self.callbacks = list(callbacks)
        self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
        self.checkpoint_dir = self.run_dir / "checkpoints"
        self.max_to_keep = max_to_keep
        self._objects = {"step": self.step, **trackables, **_random_state(trackables, step_fn)}
        self.history: dict[str, list[float]] = {}
        if resume:
            self.restore()
        elif self.latest_checkpoint:
            raise errors.RunExistsError(
                f"{self.run_dir} already holds checkpoints ({self.latest_checkpoint}). "
                "Pass resume=True to continue that run, or use a new run folder "
                "(runtime.new_run_dir) to start afresh; nothing was overwritten."
            )
        self.strategy = strategy
        if strategy is not None:
            inner = step_fn

            def step_fn(iterator):  # next batch, step on every replica, average the losses
                # next() runs inside the compiled function: called eagerly, a multi-worker
                # iterator's per-batch check that all workers have data would run as an
                # eager collective, which starts (and leaks) a thread pool every step.
                batch = next(iterator)
                logs = strategy.run(inner, args=(batch,))
                mean = tf.distribute.ReduceOp.MEAN
                logs = {k: strategy.reduce(mean, v, axis=None) for k, v in logs.items()}
                sizes = strategy.run(lambda b: tf.shape(tf.nest.flatten(b)[0])[0], args=(batch,))
                return logs, sizes

        self._step_fn = (
            tf.function(step_fn, jit_compile=jit_compile, reduce_retracing=True)
            if compile
            else step_fn
        )
        self._writer = None
        self.images_per_second = float("nan")

    # ------------------------------------------------------------------ checkpoints

    @property
    def checkpoints(self) -> list[str]:
        """Complete checkpoints of this run, oldest first (paths to pass to ``restore``)."""
        return find_checkpoints(self.run_dir)

    @property
    def latest_checkpoint(self) -> str | None:
        """The newest complete checkpoint, or None."""
        found = self.checkpoints
        return found[-1] if found else None

    def restore(self, checkpoint: str | None = None) -> int:
        """Restore ``checkpoint`` (default: the latest) with its history; return its step.

        Restores the step, every trackable and the random generators; ``fit`` then skips
        the batches already seen. Without any checkpoint in the run folder this
        is a no-op returning 0.

        Raises:
            RunError: the checkpoint does not fit the models given (another architecture
                or other settings) or is damaged; nothing is changed on disk.
        """
        path = checkpoint or self.latest_checkpoint
        if path is None:
            return 0
        read_checkpoint(self._objects, path)
        history_file = self.run_dir / "history.json"
        if history_file.is_file():
            saved = json.loads(history_file.read_text())
            keep = [i for i, s in enumerate(saved.get("step", [])) if s <= int(self.step)]
            self.history = {k: [v[i] for i in keep] for k, v in saved.items()}
        return int(self.step)

    def save(self) -> str:
        """Write a checkpoint and the history now, atomically; return the checkpoint path.

        The checkpoint is written into a hidden ``.partial`` folder that is renamed to
        ``step_NNNNNN`` only once complete, so a crash or kill at any moment leaves the
        previous checkpoints intact; the oldest beyond ``max_to_keep`` are removed after.

        Raises:
            OSError: the checkpoint could not be written (disk full, no permission); the
                partial files are removed and the previous checkpoints are kept.
        """
        step = int(self.step)
        final = self.checkpoint_dir / f"step_{step:06d}"
        if (final / "ckpt.index").is_file():  # this step is saved already (same state)
            return str(final / "ckpt")
        for stale in self.checkpoint_dir.glob(".partial-*"):  # left by a killed save
            shutil.rmtree(stale, ignore_errors=True)
        partial = self.checkpoint_dir / f".partial-step_{step:06d}"
        try:
            shutil.rmtree(partial, ignore_errors=True)
            partial.mkdir(parents=True)
            tf.train.Checkpoint(**self._objects).write(str(partial / "ckpt"))
            runtime.fsync(partial)
            os.replace(partial, final)
            runtime.fsync(self.checkpoint_dir)  # the rename too, not only the files
            _write_json_atomically(self.run_dir / "history.json", self.history)
        except (OSError, tf.errors.OpError) as e:
            shutil.rmtree(partial, ignore_errors=True)
            message = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            error = errors.CheckpointWriteError(
                f"Could not write the checkpoint of step {step} to {final}: {message}. Is "
                "the disk full (or a quota or file-size limit reached)? The partial files "
                f"were removed; the previous checkpoint ({self.latest_checkpoint or 'none yet'}) "
                "is intact. Free some space (or point GAN_LAB_OUTPUT_DIR at a larger disk) "
                "and resume."
            )
            error.errno = getattr(e, "errno", None)
            raise error from e
        for old in self.checkpoints[: -self.max_to_keep]:
            shutil.rmtree(Path(old).parent, ignore_errors=True)
        return str(final / "ckpt")

    # ------------------------------------------------------------------ training

    def fit(
        self,
        dataset: tf.data.Dataset,
        *,
        steps: int | None = None,
        epochs: int | None = None,
        progress: bool = True,
    ) -> dict[str, list[float]]:
        """Train until the step counter reaches ``steps`` (or ``epochs`` passes).

        The target is a total, so a resumed run continues where it stopped and ends
        at the same step as an uninterrupted one.

        Args:
            dataset: yields batches for ``step_fn``; it is repeated as needed.
            steps: total steps to reach.
            epochs: total passes over ``dataset`` (needs a dataset of known length).
            progress: show a progress bar (default True).

        Returns:
            The loss history: ``{"step": [...], "<loss>": [...], ...}``.

        Raises:
            FloatingPointError: a loss became NaN or Inf; names the step and the loss.
                The last checkpoint on disk is the last good one.
        """
        total = self._total_steps(dataset, steps, epochs)
        start = int(self.step)
        if start == 0 and self.sample_fn is not None:
            self._save_frame()
        bar = tqdm(
            total=total,
            initial=start,
            disable=not progress,
            unit="step",
            desc=self.title or "training",
            mininterval=1.0,
        )
        began, images = time.perf_counter(), 0
        iterator = self._make_iterator(dataset, start)
        step = start  # counted in Python: reading the variable each step would stall the device
        logs = None
        try:
            while step < total:
                if self.strategy is not None:  # the compiled step draws the batch itself
                    logs, sizes = self._step_fn(iterator)
                    images += self._batch_size(sizes)
                else:
                    try:
                        batch = next(iterator)
                    except StopIteration:
                        raise ValueError(
                            "The dataset yielded no batches: check it is not empty."
                        ) from None
                    logs = self._step_fn(batch)
                    images += self._batch_size(batch)
                self.step.assign_add(1)
                step += 1
                bar.update(1)
                if step % self.log_every == 0 or step == total:
                    values = self._log(step, logs)
                    bar.set_postfix({k: f"{v:.3f}" for k, v in values.items()}, refresh=False)
                if self.sample_fn is not None and (step % self.sample_every == 0 or step == total):
                    self._save_frame()
                if step % self.checkpoint_every == 0 or step == total:
                    _check_finite(step, logs, self.latest_checkpoint)  # never save a NaN state
                    self.save()
        except LOST_WORKER_ERRORS as e:  # next(), the step, reading a loss, a save
            if self.strategy is None:
                raise
            raise _worker_lost(step, e) from e
        finally:
            bar.close()
            if self._writer is not None:
                self._writer.flush()
        elapsed = time.perf_counter() - began
        self.images_per_second = images / elapsed if elapsed > 0 and images else float("nan")
        return self.history

    def _total_steps(self, dataset, steps, epochs) -> int:
        if (steps is None) == (epochs is None):
            raise ValueError(
                f"Give exactly one of steps or epochs. Received: steps={steps}, epochs={epochs}"
            )
        if steps is not None:
            if not isinstance(steps, int) or steps < 1:
                raise ValueError(f"steps must be a positive integer. Received: steps={steps!r}")
            return steps
        if not isinstance(epochs, int) or epochs < 1:
            raise ValueError(f"epochs must be a positive integer. Received: epochs={epochs!r}")
        per_epoch = int(dataset.cardinality())
        if per_epoch < 1:
            raise ValueError("epochs needs a dataset of known, finite length; pass steps instead.")
        return epochs * per_epoch

    def _make_iterator(self, dataset, start: int):
        """One iterator over the endless dataset from batch ``start`` on, so a resumed run
        sees the batches an uninterrupted run would. gan_lab's pipelines are pure functions
        of the batch number (``data.images.indexed_batches``): they start at ``start`` at
        once, and under a strategy each worker builds only its own replicas' pieces of each
        global batch. Any other dataset is repeated and replayed past its first ``start``
        batches (seconds to minutes), and under a strategy split by ``tf.distribute``."""
        from_batch = getattr(dataset, "from_batch", None)
        if from_batch is None:
            dataset = dataset.repeat().skip(start) if start else dataset.repeat()
            if self.strategy is None:
                return iter(dataset)
            return iter(self.strategy.experimental_distribute_dataset(dataset))
        if self.strategy is None:
            return iter(from_batch(start))

        def pieces(context):  # this worker's replicas' pieces of every global batch
            local = context.num_replicas_in_sync // context.num_input_pipelines
            first = context.input_pipeline_id * local
            keep = range(first, first + local)
            return from_batch(start, pieces=context.num_replicas_in_sync, keep=keep)

        return iter(self.strategy.distribute_datasets_from_function(pieces))

    def _log(self, step: int, logs: dict) -> dict[str, float]:
        values = _check_finite(step, logs, self.latest_checkpoint)
        self.history.setdefault("step", []).append(step)
        for k, v in values.items():
            self.history.setdefault(k, []).append(v)
        if self._writer is None:
            self._writer = tf.summary.create_file_writer(str(self.run_dir / "tensorboard"))
        with self._writer.as_default(step=step):
            for k, v in values.items():
                tf.summary.scalar(k, v)
        for callback in self.callbacks:
            callback(self, step, values)
        return values

    def _save_frame(self) -> Path:
        step = int(self.step)
        models = [obj for obj in self._objects.values() if isinstance(obj, keras.Model)]
        state = [v for m in models for v in m.non_trainable_variables]  # what training=True moves
        kept = [v.numpy() for v in state]
        try:
            image = self.sample_fn()
        finally:
            for v, value in zip(state, kept):
                v.assign(value)
        frame = viz.add_caption(image, f"{self.title}  step {step}".strip())
        path = self.frames_dir / f"step_{step:06d}.png"
        viz.save_png(frame, path)
        return path

    def _batch_size(self, batch) -> int:
        """Examples of the global batch (all workers'), for images/s. Under a strategy
        ``batch`` is the per-replica batch sizes (of this worker's replicas)."""
        if self.strategy is not None:
            local = self.strategy.experimental_local_results(batch)
            replicas = self.strategy.num_replicas_in_sync
            return sum(int(t) for t in local) * replicas // len(local)
        first = tf.nest.flatten(batch)[0]
        return int(first.shape[0]) if first.shape.rank else 1

    @property
    def frames(self) -> list[Path]:
        """The progress frames saved so far, in step order."""
        return sorted(self.frames_dir.glob("step_*.png"))


LOST_WORKER_ERRORS = (
    tf.errors.UnavailableError,
    tf.errors.DeadlineExceededError,
    tf.errors.CancelledError,
    tf.errors.AbortedError,
)
"""What a collective raises under a strategy when a peer is gone (killed, crashed,
unreachable: ``distribute.LOST_WORKER_SECONDS``)."""


def _worker_lost(step: int, e: Exception) -> errors.WorkerLostError:
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


def read_checkpoint(objects: dict, path: str) -> None:
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


def find_checkpoints(run_dir: str | Path) -> list[str]:
    """The complete checkpoints of a run folder, oldest first. A checkpoint whose save was
    interrupted never gets its ``step_NNNNNN`` name, so it is never listed."""
    folder = Path(run_dir) / "checkpoints"
    if not folder.is_dir():
        return []
    done = [d for d in folder.glob("step_*") if (d / "ckpt.index").is_file()]
    return [str(d / "ckpt") for d in sorted(done)]


def _check_finite(step: int, logs: dict, last_checkpoint: str | None) -> dict[str, float]:
    values = {k: float(v) for k, v in logs.items()}
    bad = {k: v for k, v in values.items() if not math.isfinite(v)}
    if bad:
        raise errors.DivergedError(
            f"Training diverged at step {step}: {bad}. The last good checkpoint is kept "
            f"({last_checkpoint or 'none yet'}); lower the learning rate or resume from it."
        )
    return values


def _random_state(trackables: dict, step_fn) -> dict:
    """What a faithful resume needs beyond the weights: the state of every random
    generator. Keras layers keep theirs (dropout's SeedGenerator) outside the weights that
    ``tf.train.Checkpoint`` tracks; steps expose theirs as ``step.trackables``."""
    extra = dict(getattr(step_fn, "trackables", {}))
    for name, obj in trackables.items():
        if isinstance(obj, keras.Model):
            weights = {id(w) for w in obj.weights}
            seeds = [v for v in obj.variables if id(v) not in weights]
            if seeds:
                extra[f"{name}_random_state"] = seeds
    return extra


def _write_json_atomically(path: Path, obj) -> None:
    with runtime.atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj))


# --------------------------------------------------------------------------- training pieces


class ImagePool(tf.Module):
    """A buffer of past generated images, shown to the discriminator instead of the newest.

    Until the pool is full, each query stores the image and returns it. Then, for each
    image, with probability 1/2 a random stored image is returned and replaced by the new
    one, otherwise the new image is returned. The discriminator thus sees a history of
    the generator, which damps oscillation. The buffer is a variable, so it is saved in
    checkpoints and a resumed run continues with the same pool.

    Under a ``tf.distribute`` strategy with several replicas the pool serves the global
    batch, as on one device: every replica gathers all replicas' images (``all_gather``),
    runs the same queries on the same buffer with the same random draws (stateless, keyed
    by the pool's seed and its query count), keeps identical copies of the buffer and
    returns its own rows. The run then does not depend on how the batch is split, and the
    checkpointed pool is the one pool of the run.

    Args:
        image_shape: (height, width, channels) of the images.
        size: images kept (default 50, as in CycleGAN; 0 disables the pool).
        seed: seed of the pool's random draws (default: drawn from TensorFlow's global
            generator, which ``runtime.seed_everything`` seeds); saved in checkpoints.

    Reference:
        Shrivastava et al., "Learning from Simulated and Unsupervised Images", 2017;
        Zhu et al. 2017.
    """

    def __init__(
        self, image_shape, size: int = 50, seed: int | None = None, name: str | None = None
    ):
        super().__init__(name=name)
        if not isinstance(size, int) or size < 0:
            raise ValueError(f"size must be a non-negative integer. Received: size={size!r}")
        if seed is None:
            seed = int(tf.random.get_global_generator().uniform([], 0, 2**31 - 1, tf.int64))
        self.size = size
        same = {"trainable": False, "aggregation": tf.VariableAggregation.ONLY_FIRST_REPLICA}
        self.images = tf.Variable(tf.zeros([max(size, 1), *image_shape]), **same)
        self.count = tf.Variable(0, dtype=tf.int32, **same)
        self.queries = tf.Variable(0, dtype=tf.int64, **same)  # images seen: the draws' key
        self.seed = tf.Variable(seed, dtype=tf.int64, **same)

    def __call__(self, images):
        images = tf.cast(images, self.images.dtype)
        if self.size == 0:
            return images
        context = tf.distribute.get_replica_context()
        replicas = context.num_replicas_in_sync if context is not None else 1
        local = images
        if replicas > 1:  # the global batch, in replica order
            images = context.all_gather(local, axis=0)
        buffer, count = tf.identity(self.images), tf.identity(self.count)
        base = tf.stack([self.seed, tf.constant(0, tf.int64)])
        n = tf.shape(images)[0]
        result = tf.TensorArray(images.dtype, size=n)
        for i in tf.range(n):
            image = images[i]
            key = tf.random.experimental.stateless_fold_in(
                base, self.queries + tf.cast(i, tf.int64)
            )
            swap_seed, slot_seed = tf.unstack(tf.random.experimental.stateless_split(key, 2))
            swap = tf.random.stateless_uniform([], swap_seed) < 0.5
            slot = tf.random.stateless_uniform([], slot_seed, 0, self.size, dtype=tf.int32)
            if count < self.size:
                buffer = tf.tensor_scatter_nd_update(buffer, [[count]], image[None])
                count += 1
                result = result.write(i, image)
            elif swap:
                result = result.write(i, buffer[slot])
                buffer = tf.tensor_scatter_nd_update(buffer, [[slot]], image[None])
            else:
                result = result.write(i, image)
        self.images.assign(buffer)
        self.count.assign(count)
        self.queries.assign_add(tf.cast(n, tf.int64))
        out = tf.reshape(result.stack(), tf.shape(images))
        if replicas > 1:
            rows = tf.shape(local)[0]
            first = context.replica_id_in_sync_group * rows
            out = out[first : first + rows]
        return out


@keras.saving.register_keras_serializable(package="gan_lab")
class LinearDecay(keras.optimizers.schedules.LearningRateSchedule):
    """Constant learning rate, then a linear decay to zero (CycleGAN's schedule).

    ``lr(step) = lr0`` for ``step <= constant_steps``, falling linearly to 0 at
    ``constant_steps + decay_steps`` and staying 0 after. CycleGAN: 100 epochs constant,
    100 epochs of decay.

    Args:
        initial_learning_rate: lr0 (CycleGAN: 2e-4).
        constant_steps: steps at lr0.
        decay_steps: steps of linear decay.
    """

    def __init__(self, initial_learning_rate: float, constant_steps: int, decay_steps: int):
        if initial_learning_rate <= 0 or constant_steps < 0 or decay_steps < 1:
            raise ValueError(
                "Need initial_learning_rate > 0, constant_steps >= 0, decay_steps >= 1. "
                f"Received: {initial_learning_rate}, {constant_steps}, {decay_steps}"
            )
        self.initial_learning_rate = initial_learning_rate
        self.constant_steps = constant_steps
        self.decay_steps = decay_steps

    def __call__(self, step):
        step = tf.cast(step, tf.float32)
        done = tf.clip_by_value((step - self.constant_steps) / self.decay_steps, 0.0, 1.0)
        return self.initial_learning_rate * (1.0 - done)

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "constant_steps": self.constant_steps,
            "decay_steps": self.decay_steps,
        }


FUSED_ADAM_NEEDS = ("_get_variable_index", "_momentums", "_velocities", "iterations")
"""The Keras internals ``FusedAdam`` uses (Keras 3.15)."""


@keras.saving.register_keras_serializable(package="gan_lab")
class FusedAdam(keras.optimizers.Adam):
    """Keras' Adam with each variable's update done by one fused kernel.

    Keras 3 writes Adam's update as about ten element-wise operations per variable, each a
    pass over memory with a temporary as large as the variable. For the 54 M-parameter
    Pix2Pix U-Net that is a quarter of a float32 step on a CPU, and a third of a bf16 one,
    since mixed precision speeds up the convolutions but not the float32 update.
    TensorFlow's ``ResourceApplyAdam`` does the same arithmetic in one pass. The maths is
    identical (Kingma & Ba's "epsilon hat" form, as Keras), and so are the variables, so
    checkpoints are interchangeable with ``keras.optimizers.Adam``. Falls back to Keras'
    update for AMSGrad and non-TensorFlow backends, and, with a one-line notice, when a
    Keras version lacks the private attributes it relies on (``FUSED_ADAM_NEEDS``; the
    tested versions are pinned in requirements.txt and capped in pyproject.toml).
    """

    def build(self, var_list):
        super().build(var_list)
        # (the slots' ``.handle`` is not checked here: under a tf.distribute strategy it
        # exists only in the replica context that ``update_step`` runs in)
        missing = [name for name in FUSED_ADAM_NEEDS if not hasattr(self, name)]
        self._fused = not missing
        if missing:
            print(
                f"gan_lab: Keras {keras.__version__} lacks {', '.join(missing)}; FusedAdam "
                "uses Keras' own Adam update instead (same maths, slower).",
                file=sys.stderr,
            )

    def update_step(self, gradient, variable, learning_rate):
        fused = getattr(self, "_fused", False)
        if not fused or self.amsgrad or keras.backend.backend() != "tensorflow":
            return super().update_step(gradient, variable, learning_rate)
        dtype = variable.dtype
        step = tf.cast(self.iterations + 1, dtype)
        beta_1, beta_2 = tf.cast(self.beta_1, dtype), tf.cast(self.beta_2, dtype)
        index = self._get_variable_index(variable)
        m, v = self._momentums[index], self._velocities[index]
        tf.raw_ops.ResourceApplyAdam(
            var=getattr(variable, "handle", variable),
            m=m.handle,
            v=v.handle,
            beta1_power=tf.pow(beta_1, step),
            beta2_power=tf.pow(beta_2, step),
            lr=tf.cast(learning_rate, dtype),
            beta1=beta_1,
            beta2=beta_2,
            epsilon=tf.cast(self.epsilon, dtype),
            grad=tf.cast(gradient, dtype),
            use_locking=False,
        )


def adam(learning_rate=2e-4, beta_1: float = 0.5, beta_2: float = 0.999):
    """An Adam optimizer (``FusedAdam``) for the current precision policy.

    Under ``mixed_float16`` it is wrapped in ``keras.optimizers.LossScaleOptimizer``, which
    scales losses up (``scale_loss``) and gradients back down, skipping steps whose
    gradients overflowed; under float32 and mixed_bfloat16 it is plain (fused) Adam.

    Args:
        learning_rate: a float or a schedule (default 2e-4, the pix2pix/CycleGAN value).
        beta_1, beta_2: Adam's moment decays (defaults 0.5 and 0.999, as in the GAN papers).
    """
    optimizer = FusedAdam(learning_rate, beta_1=beta_1, beta_2=beta_2)
    if keras.mixed_precision.global_policy().name == "mixed_float16":
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
    return optimizer
