"""Long runs survive a real SIGTERM: a lesson-sized run (lesson 1's ring GAN in quick mode),
stopped mid-run, saves a checkpoint and says how to continue; continued,
it ends with the same generator weights as a run never stopped, bit for bit (TensorFlow's
op determinism, float32). Once through ``gan-lab train`` and ``--resume``, once as a
notebook runs it (``runs.train`` with ``RUN_DIR``, run again with the same ``RUN_DIR``).
"""

import shlex
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from gan_lab import recipes, runs

SETTINGS = ["--quick", "--precision", "float32", "--set", "deterministic=true"]
STEPS = recipes.defaults("toy", True)["steps"]  # the toy's quick-mode run (one source of truth)
STOP_AFTER = 350  # the progress line of this step (not a checkpoint's) brings the signal

NOTEBOOK = """
import sys
from gan_lab import recipes, runs, runtime

QUICK = True
RUN_DIR = sys.argv[1]
CHANGES = {"precision": "float32", "deterministic": True}
S = recipes.defaults("toy", runtime.choose_quick(QUICK), **CHANGES)
runtime.setup(S)
experiment = recipes.build(S)
print(runs.plan(experiment, RUN_DIR), flush=True)
report = lambda trainer, step, logs: print(f"step {step}", flush=True)
result = runs.train(experiment, run_dir=RUN_DIR, progress=False, callbacks=[report])
print(result.summary["verdict"])
"""


def gan_lab(*args) -> list[str]:
    return [str(Path(sys.executable).with_name("gan-lab")), *args]


def run_to_the_end(command) -> subprocess.CompletedProcess:
    done = subprocess.run(command, capture_output=True, text=True, timeout=1200)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def run_and_terminate(command) -> tuple[subprocess.CompletedProcess, int]:
    """Start ``command``; on its first progress line ``step N`` with N >= STOP_AFTER send
    SIGTERM; return the finished process and N."""
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1
    )
    seen = None
    lines = []
    for line in process.stdout:
        lines.append(line)
        words = line.split()
        if words[:1] == ["step"] and int(words[1].split("/")[0]) >= STOP_AFTER:
            seen = int(words[1].split("/")[0])
            process.send_signal(signal.SIGTERM)
            break
    stdout, stderr = process.communicate(timeout=600)
    done = subprocess.CompletedProcess(command, process.returncode, "".join(lines) + stdout, stderr)
    assert seen is not None, f"no progress line reached step {STOP_AFTER}: {done.stderr[-3000:]}"
    return done, seen


def final_generator(run_dir) -> list[np.ndarray]:
    generator = runs.restore_generators(run_dir, runs.read_run(run_dir))["generator"]
    return generator.get_weights()


def assert_same_weights(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    """The generator of a toy run never stopped (gan-lab train, same settings)."""
    root = tmp_path_factory.mktemp("uninterrupted")
    done = run_to_the_end(gan_lab("train", "toy", *SETTINGS, "--output-dir", str(root), "--json"))
    (run_dir,) = root.glob("cli_toy/*")
    assert runs.latest_step(run_dir) == STEPS, done.stdout[-2000:]
    return final_generator(run_dir)


@pytest.mark.slow
def test_sigterm_during_gan_lab_train_saves_and_resume_ends_the_same(tmp_path, uninterrupted):
    stopped, seen = run_and_terminate(
        gan_lab("train", "toy", *SETTINGS, "--output-dir", str(tmp_path))
    )
    assert stopped.returncode == 130, stopped.stderr[-3000:]
    line = stopped.stderr.strip().splitlines()[-1]  # one line: the checkpoint, the command
    assert line.startswith("gan-lab train: interrupted; checkpoint "), line
    (run_dir,) = tmp_path.glob("cli_toy/*")
    step = runs.latest_step(run_dir)
    assert seen <= step < STEPS  # saved on the signal, not at a scheduled checkpoint only
    assert str(run_dir / "checkpoints" / f"step_{step:06d}" / "ckpt") in line

    command = line.split("Continue with: ")[1]
    assert command == f"gan-lab train toy --resume {shlex.quote(str(run_dir))}"
    run_to_the_end(gan_lab(*shlex.split(command)[1:]))
    assert runs.latest_step(run_dir) == STEPS
    assert_same_weights(final_generator(run_dir), uninterrupted)


@pytest.mark.slow
def test_sigterm_during_a_notebook_run_saves_and_the_same_run_dir_ends_the_same(
    tmp_path, uninterrupted
):
    run_dir = tmp_path / "lesson_run"
    notebook = [sys.executable, "-c", NOTEBOOK, str(run_dir)]
    stopped, seen = run_and_terminate(notebook)
    assert stopped.returncode != 0
    assert f"run_dir={str(run_dir)!r}" in stopped.stderr  # how to continue
    step = runs.latest_step(run_dir)
    assert seen <= step < STEPS

    again = run_to_the_end(notebook)  # the lesson run again with the same RUN_DIR
    assert f"resuming {run_dir}" in again.stdout
    assert f"(resuming at step {step:,} of {STEPS:,})" in again.stdout
    assert runs.latest_step(run_dir) == STEPS
    # the same wiring as gan-lab train: the same weights as the uninterrupted CLI run
    assert_same_weights(final_generator(run_dir), uninterrupted)
