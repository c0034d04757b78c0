"""The one training loop every lesson uses.

Nothing here knows about any architecture (the idea of minGPT's ``trainer.py``): a lesson
hands the Trainer a train step, the objects to checkpoint, and optionally a function that
draws a progress frame. The Trainer runs the step (compiled with ``tf.function``, so it
runs on the GPU when there is one), shows progress, keeps the loss history, writes
TensorBoard scalars and frames, and has ``checkpoints`` save and resume the run.

Layout of a run folder::

    run_dir/checkpoints/   step_000500/ ... (see ``gan_lab.checkpoints``)
    run_dir/frames/        step_000000.png ... progress frames, for the GIF
    run_dir/tensorboard/   scalars
    run_dir/history.json   logged losses per step
"""

from __future__ import annotations

import math
import signal
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from tqdm.auto import tqdm

from gan_lab import checkpoints, distribute, errors, viz

Callback = Callable[["Trainer", int, dict], None]


class Trainer:
    """Runs a train step over batches with progress, history, frames and checkpoints.

    Args:
        train_step: ``train_step(batch) -> dict of scalar tensors`` (see ``gan_lab.steps``).
        run_dir: folder of this run (see ``runtime.new_run_dir``).
        trackables: what to checkpoint, e.g. ``{"generator": g, "g_optimizer": opt, ...}``.
        sample_fn: optional ``() -> uint8 image (h, w, 3)``, drawn every ``sample_every``
            steps, at the start and at the end, saved under ``frames/``. Drawing never
            changes training: the models' non-trainable state (batch-norm moving
            statistics, dropout seed generators) is put back after each frame.
        title: caption prefix of every frame, e.g. ``"DCGAN on SYNTHETIC digits"``.
        sample_every: steps between frames.
        log_every: steps between history/TensorBoard entries and callbacks.
        checkpoint_every: steps between checkpoints.
        checkpoint_seconds: a checkpoint is also written once this many seconds have
            passed since the last one (default 600), and one at the end of ``fit``.
        callbacks: functions ``(trainer, step, logs)`` called after each log entry.
        resume: restore the latest checkpoint in ``run_dir`` (default False). Without it,
            a ``run_dir`` that already holds checkpoints is refused rather than overwritten.
        compile: wrap ``train_step`` in ``tf.function`` (default True; False runs it as
            given: eagerly, or already compiled).
        jit_compile: also compile with XLA (default False; ``make bench`` measures it).
        max_to_keep: checkpoints kept (default 3).
        strategy: a ``tf.distribute`` strategy to run the step on several devices, or
            None (default). Build the models, optimizers and step inside
            ``strategy.scope()`` and give ``fit`` the global batch (see
            ``gan_lab.distribute``). With several workers, only the chief should write the
            run folder: give the others a temporary ``run_dir`` (every worker takes part in
            a checkpoint) and no ``sample_fn``; they save every ``checkpoint_every`` steps
            only, as their clocks would not agree on ``checkpoint_seconds``.

    Raises:
        RunExistsError: ``run_dir`` has checkpoints and ``resume`` is False.
    """

    def __init__(
        self,
        train_step: Callable[..., dict],
        run_dir: str | Path,
        trackables: dict,
        *,
        sample_fn: Callable[[], np.ndarray] | None = None,
        title: str = "",
        sample_every: int,
        log_every: int,
        checkpoint_every: int,
        checkpoint_seconds: float = 600,
        callbacks: Iterable[Callback] = (),
        resume: bool = False,
        compile: bool = True,
        jit_compile: bool = False,
        max_to_keep: int = 3,
        strategy: tf.distribute.Strategy | None = None,
    ):
        _check_counts(sample_every, log_every, checkpoint_every, max_to_keep)
        if not checkpoint_seconds > 0:
            raise ValueError(f"checkpoint_seconds must be > 0. Received: {checkpoint_seconds!r}")
        self.run_dir = Path(run_dir)
        if self.run_dir.exists() and not self.run_dir.is_dir():
            raise errors.NotAFolderError(f"run_dir {self.run_dir} is a file; give a folder.")
        self.sample_fn, self.title, self.callbacks = sample_fn, title, list(callbacks)
        self.sample_every, self.log_every, self.max_to_keep = sample_every, log_every, max_to_keep
        self.checkpoint_every, self.checkpoint_seconds = checkpoint_every, checkpoint_seconds
        self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
        randomness = checkpoints.random_state(trackables, train_step)
        self._objects = {"step": self.step, **trackables, **randomness}
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
        self._several_workers = (
            strategy is not None and distribute.describe(strategy)["workers"] > 1
        )
        run = train_step if strategy is None else distribute.replicated_step(train_step, strategy)
        self._run = (
            tf.function(run, jit_compile=jit_compile, reduce_retracing=True) if compile else run
        )
        self._writer = None
        self.images_per_second = float("nan")

    @property
    def latest_checkpoint(self) -> str | None:
        """The newest complete checkpoint of this run, or None."""
        return checkpoints.latest(self.run_dir)

    @property
    def frames(self) -> list[Path]:
        """The progress frames saved so far, in step order."""
        return sorted((self.run_dir / "frames").glob("step_*.png"))

    def restore(self, checkpoint: str | None = None) -> int:
        """Restore ``checkpoint`` (default: the latest; none: a no-op) with its history and
        return its step; ``fit`` then skips the batches already seen.

        Raises:
            RunError: the checkpoint does not fit the models given, or is damaged.
        """
        path = checkpoint or self.latest_checkpoint
        if path is not None:
            checkpoints.read(self._objects, path)
            self.history = checkpoints.read_history(self.run_dir, int(self.step))
        return int(self.step)

    def save(self) -> str:
        """Write a checkpoint of the current step and the history now; return its path."""
        step = int(self.step)
        return checkpoints.write(self._objects, self.run_dir, step, self.history, self.max_to_keep)

    def fit(self, batches, *, steps: int, progress: bool = True) -> dict[str, list[float]]:
        """Train until the step counter reaches ``steps``, a total: a resumed run continues
        where it stopped and ends at the same step as an uninterrupted one.

        Ctrl-C (SIGINT) or SIGTERM lets the current step finish, saves a checkpoint and
        raises ``TrainingInterrupted`` naming it (a second signal stops at once).

        Args:
            batches: ``data.IndexedBatches`` (resumes at once at its batch ``step``) or a
                ``tf.data.Dataset`` (repeated, and replayed past the batches already seen).
            steps: total steps to reach.
            progress: show a progress bar (default True).

        Returns:
            The loss history: ``{"step": [...], "<loss>": [...], ...}``.

        Raises:
            DivergedError: a loss became NaN or Inf; the last checkpoint is the last good one.
            TrainingInterrupted: a signal stopped training after a checkpoint was saved.
        """
        if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
            raise ValueError(f"steps must be a positive integer. Received: steps={steps!r}")
        step = int(self.step)  # counted in Python: reading the variable would stall the device
        if step == 0 and self.sample_fn is not None:
            self._save_frame()
        bar = tqdm(total=steps, initial=step, disable=not progress, unit="step",
                   desc=self.title or "training", mininterval=1.0)  # fmt: skip
        iterator, images, began = (
            distribute.batch_iterator(batches, step, self.strategy),
            0,
            time.perf_counter(),
        )
        saved_at, logs = time.monotonic(), None
        try:
            with _Signals() as stop:
                while step < steps:
                    logs, size = self._one_step(iterator)
                    images, step = images + size, step + 1
                    bar.update(1)
                    if step % self.log_every == 0 or step == steps:
                        values = self._log(step, logs)
                        bar.set_postfix({k: f"{v:.3f}" for k, v in values.items()}, refresh=False)
                    if self.sample_fn is not None and (
                        step % self.sample_every == 0 or step == steps
                    ):
                        self._save_frame()
                    late = time.monotonic() - saved_at >= self.checkpoint_seconds
                    alone = not self._several_workers  # workers save together, at agreed steps
                    if (
                        step % self.checkpoint_every == 0
                        or step == steps
                        or (alone and (late or stop.name))
                    ):
                        _check_finite(step, logs, self.latest_checkpoint)  # never save a NaN state
                        self.save()
                        saved_at = time.monotonic()
                    if stop.name:
                        raise errors.TrainingInterrupted(
                            stop.name, step, self.run_dir, self.latest_checkpoint
                        )
        except distribute.lost_worker_errors() as e:  # next(), the step, reading a loss, a save
            if self.strategy is None:
                raise
            raise distribute.worker_lost(step, e) from e
        finally:
            bar.close()
            if self._writer is not None:
                self._writer.flush()
        elapsed = time.perf_counter() - began
        self.images_per_second = images / elapsed if elapsed > 0 and images else float("nan")
        return self.history

    def _one_step(self, iterator) -> tuple[dict, int]:
        """Run the train step on the next batch; return its logs and the global batch size."""
        if self.strategy is not None:  # the compiled step draws the batch itself
            logs, sizes = self._run(iterator)
            self.step.assign_add(1)
            return logs, distribute.global_batch_size(self.strategy, sizes)
        try:
            batch = next(iterator)
        except StopIteration:
            raise ValueError("The dataset yielded no batches: check it is not empty.") from None
        logs = self._run(batch)
        self.step.assign_add(1)
        first = tf.nest.flatten(batch)[0]
        return logs, int(first.shape[0]) if first.shape.rank else 1

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
        image = _draw_keeping_state(self.sample_fn, models)
        frame = viz.add_caption(image, f"{self.title}  step {step}".strip())
        path = self.run_dir / "frames" / f"step_{step:06d}.png"
        viz.save_png(frame, path)
        return path


class _Signals:
    """Within the block (on the main thread), SIGINT and SIGTERM only record their name in
    ``name``, so the loop can finish its step and save; a second one raises
    ``KeyboardInterrupt`` at once. The previous handlers are back after the block."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __enter__(self):
        self.name, self._previous = None, {}
        if threading.current_thread() is threading.main_thread():
            self._previous = {s: signal.signal(s, self._record) for s in self.SIGNALS}
        return self

    def _record(self, number, frame):
        if self.name is not None:
            raise KeyboardInterrupt(f"{self.name}, then {signal.Signals(number).name} again")
        self.name = signal.Signals(number).name

    def __exit__(self, *exc):
        for number, handler in self._previous.items():
            signal.signal(number, handler)
        return False


def _check_counts(sample_every, log_every, checkpoint_every, max_to_keep) -> None:
    counts = dict(sample_every=sample_every, log_every=log_every, max_to_keep=max_to_keep)
    for key, value in {**counts, "checkpoint_every": checkpoint_every}.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{key} must be a positive integer. Received: {key}={value!r}")


def _draw_keeping_state(sample_fn: Callable[[], np.ndarray], models: list) -> np.ndarray:
    """``sample_fn()``, with the models' non-trainable state (batch-norm moving statistics,
    dropout seed generators: what ``training=True`` moves) put back afterwards."""
    state = [v for m in models for v in m.non_trainable_variables]
    kept = [v.numpy() for v in state]
    try:
        return sample_fn()
    finally:
        for v, value in zip(state, kept):
            v.assign(value)


def _check_finite(step: int, logs: dict, last_checkpoint: str | None) -> dict[str, float]:
    values = {k: float(v) for k, v in logs.items()}
    bad = {k: v for k, v in values.items() if not math.isfinite(v)}
    if bad:
        raise errors.DivergedError(
            f"Training diverged at step {step}: {bad}. The last good checkpoint is kept "
            f"({last_checkpoint or 'none yet'}); lower the learning rate or resume from it."
        )
    return values
