"""Faults: kill -9 mid-step and mid-save, faithful resume, a full disk, NaN losses.

Training runs in subprocesses (the kills are real SIGKILLs) with TensorFlow's op
determinism on (the setting ``deterministic``), so "resumed" and "uninterrupted" can be
compared weight by weight.
"""

import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from gan_lab import checkpoints, training

STEPS = ["--steps", "300", "--checkpoint-every", "50", "--seed", "3", "--set", "deterministic=true"]
KILL_IN_THIRD_SAVE = """
import os, signal, sys
import tensorflow as tf
from gan_lab import cli

real_write, calls = tf.train.Checkpoint.write, []

def write(self, prefix, options=None):  # the third save dies half-way through its data file
    calls.append(prefix)
    path = real_write(self, prefix, options=options)
    if len(calls) == 3:
        folder = os.path.dirname(prefix)
        data = next(f for f in os.listdir(folder) if ".data-" in f)
        with open(os.path.join(folder, data), "r+b") as torn:
            torn.truncate(os.path.getsize(os.path.join(folder, data)) // 2)
        os.kill(os.getpid(), signal.SIGKILL)
    return path

tf.train.Checkpoint.write = write
sys.exit(cli.main(sys.argv[1:]))
"""


def env(tmp_path, name):
    """No GAN_LAB_QUICK: `train --quick` says it, and a resume takes it from run.json."""
    return {**os.environ, "GAN_LAB_OUTPUT_DIR": str(tmp_path / name)}


def gan_lab(args, environ, script=None):
    """``python -m gan_lab ARGS``, or ``python -c SCRIPT ARGS``."""
    cmd = [sys.executable, "-c", script] if script else [sys.executable, "-m", "gan_lab"]
    return subprocess.run([*cmd, *args], env=environ, capture_output=True, text=True, timeout=600)


def run_dir(root: Path) -> Path:
    (found,) = list(root.glob("cli_toy/*"))
    return found


def weights(checkpoint: str) -> dict:
    """Every saved tensor of a checkpoint (weights, optimizer slots, generator states)."""
    reader = tf.train.load_checkpoint(checkpoint)
    return {
        k: reader.get_tensor(k)
        for k in reader.get_variable_to_shape_map()
        if not k.startswith("_CHECKPOINTABLE_OBJECT_GRAPH")
    }


def assert_same(a: dict, b: dict):
    """A resumed run replays the uninterrupted one: the same ops on the same inputs in the
    same order. Both runs are on this machine (in one process or two), with TensorFlow's op
    determinism on, so every kernel sums in the same order in both and the results are
    bitwise equal (as observed, also under ONEDNN_MAX_CPU_ISA=AVX2; another CPU changes both
    runs alike). The relative slack of 1e-6 (~8 float32 ulps) with no absolute floor, so
    that tiny optimizer slots (v ~ g^2) are compared too, is far below what a faulty resume
    gives: one skipped or repeated batch, or a lost random state, moves weights by about a
    learning rate (1e-4 to 2e-4 here) per step and the slots by O(1) of themselves."""
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_allclose(a[key], b[key], rtol=1e-6, atol=0, err_msg=key)


@pytest.fixture(scope="module")
def straight(tmp_path_factory):
    """300 steps without interruption: the reference."""
    tmp = tmp_path_factory.mktemp("straight")
    done = gan_lab(["train", "toy", "--quick", *STEPS], env(tmp, "out"))
    assert done.returncode == 0, done.stderr[-3000:]
    return weights(checkpoints.find(run_dir(tmp / "out"))[-1])


@pytest.mark.slow
def test_kill_mid_step_then_resume_equals_uninterrupted_run(tmp_path, straight):
    environ = env(tmp_path, "out")
    proc = subprocess.Popen(
        [sys.executable, "-m", "gan_lab", "train", "toy", "--quick", *STEPS],
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    for line in proc.stdout:  # plain progress lines; kill once past the second checkpoint
        if line.startswith("step 135/300"):
            proc.send_signal(signal.SIGKILL)
            break
    assert proc.wait(timeout=120) == -signal.SIGKILL
    run = run_dir(tmp_path / "out")
    saved = checkpoints.find(run)
    assert saved and saved[-1] < str(run / "checkpoints" / "step_000300")
    killed_at = int(Path(saved[-1]).parent.name.split("_")[1])
    assert 100 <= killed_at < 300

    done = gan_lab(["train", "toy", "--resume", str(run), "--steps", "300"], environ)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "step 15/300" not in done.stdout and "step 300/300" in done.stdout  # continued
    assert_same(weights(checkpoints.find(run)[-1]), straight)


@pytest.mark.slow
def test_kill_mid_save_keeps_previous_checkpoint_and_resume_is_faithful(tmp_path, straight):
    environ = env(tmp_path, "out")
    killed = gan_lab(["train", "toy", "--quick", *STEPS], environ, script=KILL_IN_THIRD_SAVE)
    assert killed.returncode == -signal.SIGKILL
    run = run_dir(tmp_path / "out")
    assert [Path(c).parent.name for c in checkpoints.find(run)] == [
        "step_000050",
        "step_000100",
    ]
    assert (run / "checkpoints" / ".partial-step_000150").is_dir()  # the torn save
    weights(checkpoints.find(run)[-1])  # the previous checkpoint loads

    done = gan_lab(["train", "toy", "--resume", str(run), "--steps", "300"], environ)
    assert done.returncode == 0, done.stderr[-3000:]
    assert not list((run / "checkpoints").glob(".partial-*"))  # cleaned up
    assert_same(weights(checkpoints.find(run)[-1]), straight)


RESUME_EVERY_KIND = """
import sys, tempfile
import numpy as np, tensorflow as tf
from gan_lab import recipes, runtime, training
tf.config.experimental.enable_op_determinism()
kind, root = sys.argv[1], tempfile.mkdtemp()

def trainer(name, resume=False):
    config = {**recipes.defaults(kind, True), "image_size": 32, "base_filters": 8,
              "batch_size": 2, "steps": 6, "pool_size": 2}
    if kind == "pix2pix":
        config["max_filters"] = 16
    runtime.seed_everything(0)
    e = recipes.build(config)
    t = training.Trainer(e.train_step, f"{root}/{name}", e.trackables, sample_every=6,
                         log_every=3, checkpoint_every=3, resume=resume,
                         compile=False)  # eager: 3 compiles cost ~40 s CPU
    return t, e

t, e = trainer("straight"); t.fit(e.batches, steps=6, progress=False)
print("STRAIGHT", t.latest_checkpoint)
t, e = trainer("split"); t.fit(e.batches, steps=3, progress=False)
t, e = trainer("split", resume=True); t.fit(e.batches, steps=6, progress=False)
print("RESUMED", t.latest_checkpoint)
"""


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["pix2pix", "cyclegan"])
def test_resume_is_faithful_with_dropout_jitter_and_image_pools(kind):
    """Pix2Pix has dropout and paired jitter; CycleGAN has two image pools, four
    optimizers and an LR schedule: all their random state must survive a resume. Eager
    steps: the random state lives in the same variables (tf.random.Generator, Keras seed
    generators, pool counters) whether or not the step is compiled, and compiling these
    steps three times costs more than the rest of the test."""
    done = subprocess.run(
        [sys.executable, "-c", RESUME_EVERY_KIND, kind], capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    paths = dict(line.split() for line in done.stdout.splitlines() if line[:1] in "SR")
    assert paths["STRAIGHT"].endswith("step_000006/ckpt")
    assert paths["RESUMED"].endswith("step_000006/ckpt")
    assert_same(weights(paths["STRAIGHT"]), weights(paths["RESUMED"]))


DISK_FULL = """
import resource, signal, sys
from pathlib import Path
from gan_lab import recipes, runtime, training
runtime.seed_everything(0)
e = recipes.build({**recipes.defaults("toy", True), "steps": 30})
run = Path(sys.argv[1])
t = training.Trainer(e.train_step, run, e.trackables, sample_every=30, log_every=10,
                     checkpoint_every=10)
t.fit(e.batches, steps=20, progress=False)
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a file-size limit: writes fail like a full disk
resource.setrlimit(resource.RLIMIT_FSIZE, (50_000, resource.RLIM_INFINITY))
try:
    t.fit(e.batches, steps=30, progress=False)
except OSError as error:
    print("ERROR:", error)
"""


@pytest.mark.slow
def test_full_disk_gives_an_error_and_keeps_the_last_checkpoint(tmp_path):
    run = tmp_path / "run"
    done = subprocess.run(
        [sys.executable, "-c", DISK_FULL, str(run)], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "ERROR: Could not write the checkpoint of step 30" in done.stdout
    assert "previous checkpoint" in done.stdout and "step_000020" in done.stdout
    assert [Path(c).parent.name for c in checkpoints.find(run)] == [
        "step_000010",
        "step_000020",
    ]
    assert not list((run / "checkpoints").glob(".partial-*"))
    weights(checkpoints.find(run)[-1])  # still loads


def test_nan_between_log_steps_is_caught_before_a_checkpoint_is_written(tmp_path):
    v = tf.Variable(0.0)

    def step(batch):
        v.assign_add(1.0)
        return {"loss": tf.cond(v >= 3.0, lambda: tf.constant(np.inf), lambda: v)}

    trainer = training.Trainer(
        step, tmp_path / "run", {"v": v}, sample_every=10, log_every=10, checkpoint_every=3
    )
    dataset = tf.data.Dataset.from_tensor_slices(tf.zeros([8, 1])).batch(1)
    with pytest.raises(FloatingPointError, match=r"step 3: \{'loss': inf\}"):
        trainer.fit(dataset, steps=8, progress=False)
    assert trainer.latest_checkpoint is None  # step 3 was not saved with an Inf loss
