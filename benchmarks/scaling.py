"""``make bench`` (the scaling row): ``gan-lab train dcgan --quick`` as one process and as two
``--strategy multiworker`` processes on 127.0.0.1.

Images per second of the same steps, global batch and precision (float32, CPU only), run one
after the other, and their ratio; on one CPU machine it measures the overhead of
tf.distribute's collectives, not a speed-up. Results go to ``benchmarks/results/`` as
``scaling.json`` and ``scaling.md``.

Usage: python benchmarks/scaling.py [--steps 100] [--out benchmarks/results]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from gan_lab.runtime import describe_machine as machine

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

SCALING_STEPS = 100  # steps of `gan-lab train dcgan --quick` per run (1 and 2 workers)
SCALING_ENV = {"TF_CPP_MIN_LOG_LEVEL": "2", "GAN_LAB_QUICK": "", "CUDA_VISIBLE_DEVICES": ""}


def _free_ports(n):
    with contextlib.ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(n)]
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]


def _train_process(args, out: Path, tf_config=None):
    """One ``gan-lab train`` process; its stderr lines are read by a thread and kept with
    their arrival time (``--json`` sends the progress lines there and the result to stdout)."""
    env = {**os.environ, **SCALING_ENV}
    env.pop("TF_CONFIG", None)
    if tf_config is not None:
        env["TF_CONFIG"] = json.dumps(tf_config)
    out.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "gan_lab", "train", *args, "--output-dir", str(out)]
    with (out.parent / f"{out.name}.stdout").open("w") as stdout:
        proc = subprocess.Popen(command, env=env, stdout=stdout, stderr=subprocess.PIPE, text=True)
    proc.stdout_path = out.parent / f"{out.name}.stdout"
    proc.lines = []

    def read():
        for line in proc.stderr:
            proc.lines.append((time.perf_counter(), line.rstrip("\n")))

    proc.reader = threading.Thread(target=read, daemon=True)
    proc.reader.start()
    return proc


def _scaling_run(workers, steps, root: Path, timeout=600):
    args = ["dcgan", "--quick", "--steps", str(steps), "--precision", "float32", "--json"]
    if workers == 1:
        procs = [_train_process([*args, "--strategy", "one"], root / "one")]
    else:
        cluster = {"worker": [f"127.0.0.1:{p}" for p in _free_ports(workers)]}
        procs = [
            _train_process(
                [*args, "--strategy", "multiworker"],
                root / f"worker{i}",
                {"cluster": cluster, "task": {"type": "worker", "index": i}},
            )
            for i in range(workers)
        ]
    began = time.perf_counter()
    for proc in procs:
        try:
            proc.wait(timeout=max(1.0, timeout - (time.perf_counter() - began)))
        except subprocess.TimeoutExpired:
            for p in procs:
                p.kill()
            sys.exit(f"scaling run with {workers} worker(s) timed out after {timeout} s")
        proc.reader.join(timeout=10)
    wall = time.perf_counter() - began
    if any(proc.returncode != 0 for proc in procs):
        logs = "\n".join(
            f"--- worker {i} (exit {proc.returncode}):\n"
            + "\n".join(line for _, line in proc.lines[-25:])
            for i, proc in enumerate(procs)
        )
        sys.exit(f"scaling run with {workers} worker(s) failed:\n{logs}")
    summary = json.loads(procs[0].stdout_path.read_text())  # the chief prints the summary
    config = json.loads((Path(summary["run_dir"]) / "run.json").read_text())
    batch = int(config["batch_size"])  # the global batch, split over the workers
    # Steady state: from the chief's first progress line to its last, so the first steps
    # (tracing, graph optimization, the collectives' set-up) are left out.
    logged = [
        (t, int(line.split()[1].split("/")[0]))
        for t, line in procs[0].lines
        if line.startswith("step ") and "/" in line.split()[1]
    ]
    (t0, s0), (t1, s1) = logged[0], logged[-1]
    return {
        "workers": workers,
        "strategy": summary["strategy"],
        "replicas": summary["replicas"],
        "steps": summary["steps"],
        "global_batch": batch,
        "train_seconds": summary["seconds"],
        "images_per_s_cli": summary["images_per_second"],
        "steady_from_step": s0,
        "steady_seconds": t1 - t0,
        "images_per_s_steady": (s1 - s0) * batch / (t1 - t0),
        "process_wall_s": wall,  # start-up, training, then the chief's evaluation
        "start_to_first_progress_s": t0 - began,
        "after_last_progress_s": began + wall - t1,
    }


def dcgan_gradient_bytes():
    """Trainable parameters of quick DCGAN's generator and discriminator (one all-reduced
    float32 gradient each per step)."""
    from gan_lab import models

    g, d = models.build_dcgan_generator(), models.build_dcgan_discriminator()
    count = [sum(int(v.shape.num_elements()) for v in m.trainable_variables) for m in (g, d)]
    return {"generator_params": count[0], "discriminator_params": count[1]}


def run_scaling(steps):
    """``gan-lab train dcgan --quick`` as one process (``--strategy one``) and as two
    ``--strategy multiworker`` processes on 127.0.0.1, one after the other, the same steps,
    global batch and precision (float32) each; CPU only (CUDA_VISIBLE_DEVICES="")."""
    root = Path(tempfile.mkdtemp(prefix="gan_lab_scaling_"))
    try:
        runs = [_scaling_run(workers, steps, root / f"w{workers}") for workers in (1, 2)]
    finally:
        shutil.rmtree(root, ignore_errors=True)
    params = dcgan_gradient_bytes()
    one, two = runs
    return {
        "command": "gan-lab train dcgan --quick --steps N --precision float32 --json "
        "(--strategy one | --strategy multiworker, TF_CONFIG workers 0 and 1 on 127.0.0.1)",
        "runs": runs,
        "ratio_steady": two["images_per_s_steady"] / one["images_per_s_steady"],
        "ratio_cli": two["images_per_s_cli"] / one["images_per_s_cli"],
        **params,
        "gradient_mb_per_step": 4 * sum(params.values()) / 1e6,
    }


def scaling_lines(scaling):
    one, two = scaling["runs"]
    lines = [
        "",
        f"Scaling: `gan-lab train dcgan --quick`, float32, global batch {one['global_batch']}, "
        f"{one['steps']} steps, CPU only; one process (`--strategy one`) against two "
        "`--strategy multiworker` processes on 127.0.0.1 (TF_CONFIG workers 0 and 1), run "
        "one after the other in this invocation.",
        "",
        "| workers | strategy | replicas | steps | training time | images/s (whole run, "
        "compile included) | steady state (from the first progress line) | images/s (steady) "
        "| process wall time (start-up + training + evaluation) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in scaling["runs"]:
        lines.append(
            f"| {r['workers']} | {r['strategy']} | {r['replicas']} | {r['steps']} | "
            f"{r['train_seconds']:.1f} s | {r['images_per_s_cli']:.1f} | "
            f"steps {r['steady_from_step']}-{r['steps']} in {r['steady_seconds']:.1f} s | "
            f"{r['images_per_s_steady']:.1f} | {r['process_wall_s']:.0f} s |"
        )
    cores = os.cpu_count()
    lines += [
        "",
        f"2 workers / 1 worker: **{scaling['ratio_steady']:.2f}x** in the steady state "
        f"({scaling['ratio_cli']:.2f}x over the whole run). Both runs train on the same global "
        f"batch per step ({two['global_batch'] // 2} images per worker with two workers). Each "
        "step of the two-worker run adds communication that one process does not have: the "
        f"all-reduce of every gradient ({scaling['generator_params'] / 1e6:.2f} M generator + "
        f"{scaling['discriminator_params'] / 1e6:.2f} M discriminator trainable parameters, "
        f"float32: {scaling['gradient_mb_per_step']:.1f} MB per step) by gRPC ring all-reduce "
        "over localhost; the synchronized batch norm's all-reduces of the global batch "
        "statistics (sum, sum of squares and count for each of the generator's 3 "
        "BatchNormalization layers in each forward pass, and their gradients in the backward "
        "pass); and the mean over the replicas of the four logged losses. The two processes "
        f"share this machine's {cores} cores and its memory bandwidth, so on a CPU machine "
        "this row measures the overhead of tf.distribute's collectives, not a speed-up. With "
        "GPUs on separate machines the ratio depends on the network and the all-reduce "
        "(NCCL or RING); that is not measured here.",
    ]
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--steps",
        type=int,
        default=SCALING_STEPS,
        help=f"steps of each run, 1 and 2 workers (default {SCALING_STEPS})",
    )
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args(argv)
    print(f"scaling: 1 and 2 workers, {args.steps} steps each ...", flush=True)
    began = time.perf_counter()
    results = {"machine": machine(), "scaling": run_scaling(args.steps)}
    print(f"  scaling: {time.perf_counter() - began:.0f} s", flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "scaling.json").write_text(json.dumps(results, indent=2))
    lines = [f"Measured on: {results['machine']}", *scaling_lines(results["scaling"])]
    (args.out / "scaling.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
