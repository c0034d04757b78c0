"""The training loop: history, frames, checkpoints by step and by time, resume, signals,
and the errors it raises."""

import json
import os
import signal
import types

import numpy as np
import pytest
import tensorflow as tf

from gan_lab import checkpoints, errors, training, viz

CADENCES = {"sample_every": 100, "log_every": 10, "checkpoint_every": 100}


def trainer(step, run_dir, parts, **changes):
    """A Trainer with cadences that do not get in the way, unless changed."""
    return training.Trainer(step, run_dir, parts, **{**CADENCES, **changes})


def test_fit_logs_history_frames_tensorboard_and_checkpoint(tmp_path, tiny_gan, tiny_batches):
    step, parts = tiny_gan()
    z = tf.random.normal([4, 8], seed=1)
    run = trainer(
        step,
        tmp_path / "run",
        parts,
        title="test",
        sample_fn=lambda: viz.image_grid(parts["generator"](z, training=False)),
        sample_every=3,
        log_every=2,
        checkpoint_every=4,
    )
    history = run.fit(tiny_batches(), steps=9, progress=False)  # 4 batches per epoch
    assert int(run.step) == 9
    assert history["step"] == [2, 4, 6, 8, 9]
    assert [p.name for p in run.frames] == [f"step_{s:06d}.png" for s in (0, 3, 6, 9)]
    assert list((tmp_path / "run" / "tensorboard").iterdir())
    saved = [c.split("/")[-2] for c in checkpoints.find(tmp_path / "run")]
    assert saved == ["step_000004", "step_000008", "step_000009"]
    assert json.loads((tmp_path / "run" / "history.json").read_text())["step"][-1] == 9


def test_a_plain_dataset_is_repeated_and_replayed_on_resume(tmp_path):
    seen = []

    def step(batch):  # eager: records which batch it got
        seen.append(int(batch[0]))
        return {"loss": tf.constant(0.0)}

    batches = tf.data.Dataset.range(3).batch(1)  # 0, 1, 2, then again
    trainer(step, tmp_path / "run", {}, compile=False).fit(batches, steps=4, progress=False)
    resumed = trainer(step, tmp_path / "run", {}, compile=False, resume=True)
    resumed.fit(batches, steps=6, progress=False)
    assert seen == [0, 1, 2, 0, 1, 2]


def test_the_step_is_traced_once_however_often_fit_is_called(tmp_path, tiny_gan, tiny_batches):
    step, parts = tiny_gan()
    traces = []

    def counted(batch):  # Python runs only while tf.function traces
        traces.append(1)
        return step(batch)

    run = trainer(counted, tmp_path / "run", parts)
    for total in (1, 2, 3):  # a new iterator each time, as make bench's loop does
        run.fit(tiny_batches(), steps=total, progress=False)
    assert len(traces) == 1


def test_checkpoint_restore_gives_identical_generator_output(tmp_path, tiny_gan, tiny_batches):
    step, parts = tiny_gan(seed=0)
    trainer(step, tmp_path / "run", parts).fit(tiny_batches(), steps=3, progress=False)
    z = tf.random.normal([4, 8], seed=2)
    expected = parts["generator"](z, training=False).numpy()

    step2, parts2 = tiny_gan(seed=99)  # different initial weights
    assert not np.allclose(parts2["generator"](z, training=False).numpy(), expected)
    restored = trainer(step2, tmp_path / "run", parts2, resume=True)
    assert int(restored.step) == 3
    # Exact: the same weights (restored bit for bit) through the same kernels, same process.
    np.testing.assert_array_equal(parts2["generator"](z, training=False).numpy(), expected)


def test_resume_continues_step_counter_and_optimizer_state(tmp_path, tiny_gan, tiny_batches):
    step, parts = tiny_gan()  # eager steps (compile=False): counting, not numerics
    first = trainer(step, tmp_path / "run", parts, log_every=1, compile=False)
    first.fit(tiny_batches(), steps=4, progress=False)

    step2, parts2 = tiny_gan(seed=5)
    resumed = trainer(step2, tmp_path / "run", parts2, log_every=1, resume=True, compile=False)
    assert int(parts2["g_optimizer"].iterations) == 4
    history = resumed.fit(tiny_batches(), steps=6, progress=False)
    assert int(resumed.step) == 6 and int(parts2["g_optimizer"].iterations) == 6
    assert history["step"] == [1, 2, 3, 4, 5, 6]


def test_a_checkpoint_is_written_when_checkpoint_seconds_have_passed(
    tmp_path, monkeypatch, tiny_batches
):
    """A clock that reads 100 s per step: with checkpoint_seconds=250 and checkpoint_every
    far away, saves come at steps 3 and 6 (300 s and 600 s) and at the end (7)."""
    clock = {"now": 0.0}
    fake_time = types.SimpleNamespace(monotonic=lambda: clock["now"], perf_counter=lambda: 1.0)
    monkeypatch.setattr(training, "time", fake_time)

    def tick(trainer, step, logs):  # runs before the loop decides whether to save
        clock["now"] = 100.0 * step

    v = tf.Variable(0.0)
    run = trainer(
        lambda batch: {"loss": v.assign_add(1.0)},
        tmp_path / "run",
        {"v": v},
        log_every=1,
        checkpoint_every=1000,
        checkpoint_seconds=250,
        max_to_keep=10,
        callbacks=[tick],
        compile=False,
    )
    run.fit(tiny_batches(), steps=7, progress=False)
    saved = [c.split("/")[-2] for c in checkpoints.find(tmp_path / "run")]
    assert saved == ["step_000003", "step_000006", "step_000007"]


@pytest.mark.parametrize("signal_number", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_saves_a_checkpoint_then_raises_training_interrupted(
    tmp_path, signal_number, tiny_gan, tiny_batches
):
    step, parts = tiny_gan()
    before = signal.getsignal(signal_number)

    def send(trainer, step, logs):
        if step == 3:
            os.kill(os.getpid(), signal_number)

    run = trainer(step, tmp_path / "run", parts, log_every=1, callbacks=[send], compile=False)
    with pytest.raises(errors.TrainingInterrupted, match="step_000003") as stopped:
        run.fit(tiny_batches(), steps=10, progress=False)
    assert signal.Signals(signal_number).name in str(stopped.value)
    assert isinstance(stopped.value, KeyboardInterrupt)
    assert stopped.value.run_dir == tmp_path / "run"
    assert stopped.value.checkpoint.endswith("step_000003/ckpt")
    assert int(run.step) == 3 and signal.getsignal(signal_number) == before
    assert [c.split("/")[-2] for c in checkpoints.find(tmp_path / "run")] == ["step_000003"]

    step2, parts2 = tiny_gan(seed=1)
    resumed = trainer(step2, tmp_path / "run", parts2, resume=True, compile=False)
    assert int(parts2["g_optimizer"].iterations) == 3
    resumed.fit(tiny_batches(), steps=5, progress=False)
    assert int(resumed.step) == 5


def test_existing_run_is_not_overwritten(tmp_path, tiny_gan):
    step, parts = tiny_gan()
    trainer(step, tmp_path / "run", parts).save()  # a checkpoint (step 0)
    before = sorted(p.name for p in (tmp_path / "run" / "checkpoints").iterdir())
    with pytest.raises(FileExistsError, match="resume=True"):
        trainer(step, tmp_path / "run", parts)
    assert sorted(p.name for p in (tmp_path / "run" / "checkpoints").iterdir()) == before


def test_nan_loss_stops_with_step_and_loss_named(tmp_path, tiny_batches):
    calls = {"n": 0}
    v = tf.Variable(1.0)

    def step(batch):
        v.assign_add(1.0)
        return {"loss": tf.cond(v > 3.0, lambda: tf.constant(np.nan), lambda: tf.constant(0.5))}

    run = trainer(
        step,
        tmp_path / "run",
        {"v": v},
        log_every=1,
        checkpoint_every=1,
        callbacks=[lambda t, s, logs: calls.update(n=s)],
    )
    with pytest.raises(FloatingPointError, match=r"step 3: \{'loss': nan\}"):
        run.fit(tiny_batches(), steps=10, progress=False)
    assert run.latest_checkpoint.endswith("step_000002/ckpt")
    assert calls["n"] == 2  # callbacks ran for every good step


def test_bad_arguments_are_named(tmp_path, tiny_gan, tiny_batches):
    step, parts = tiny_gan()
    run = trainer(step, tmp_path / "run", parts)
    with pytest.raises(ValueError, match="steps=-1"):
        run.fit(tiny_batches(), steps=-1, progress=False)
    with pytest.raises(ValueError, match="no batches"):
        run.fit(tf.data.Dataset.range(0), steps=2, progress=False)
    with pytest.raises(TypeError, match="IndexedBatches or a tf.data.Dataset"):
        run.fit([1, 2, 3], steps=2, progress=False)
    with pytest.raises(ValueError, match="log_every=0"):
        trainer(step, tmp_path / "other", parts, log_every=0)
    with pytest.raises(ValueError, match="checkpoint_seconds"):
        trainer(step, tmp_path / "other", parts, checkpoint_seconds=0)


def test_run_dir_that_is_a_file_is_refused(tmp_path, tiny_gan):
    step, parts = tiny_gan()
    (tmp_path / "run").write_text("precious")
    with pytest.raises(NotADirectoryError, match="run"):
        trainer(step, tmp_path / "run", parts)
    assert (tmp_path / "run").read_text() == "precious"
