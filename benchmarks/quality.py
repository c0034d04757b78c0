"""``make quality``: does a lesson's final number hold under mixed_bfloat16?

Trains each lesson's model in quick mode with ``gan-lab train`` for several seeds under
float32 and under mixed_bfloat16, and compares the final numbers: the difference between
the two precisions' means against the spread between seeds (run-to-run noise). Writes
``benchmarks/results/quality.{json,md}``. Minutes per run on a CPU; not a test.

Usage: python benchmarks/quality.py [--models dcgan pix2pix cyclegan] [--seeds 0 1 2]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

METRICS = {  # the number each lesson ends with, and which direction is better
    "dcgan": ("confident_share_generated", "higher"),
    "pix2pix": ("l1", "lower"),
    "cyclegan": ("cycle_l1", "lower"),
    "toy": ("high_quality", "higher"),
}
PRECISIONS = ("float32", "mixed_bfloat16")


def train(model: str, seed: int, precision: str, output: str) -> dict:
    command = [
        sys.executable,
        "-m",
        "gan_lab",
        "train",
        model,
        "--quick",
        "--seed",
        str(seed),
        "--precision",
        precision,
        "--output-dir",
        output,
        "--json",
    ]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--models", nargs="+", default=["dcgan", "pix2pix", "cyclegan"], choices=list(METRICS)
    )
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args(argv)
    runs = []
    with tempfile.TemporaryDirectory() as output:
        for model in args.models:
            for seed in args.seeds:
                for precision in PRECISIONS:  # alternated, so drift hits both alike
                    summary = train(model, seed, precision, output)
                    key = METRICS[model][0]
                    runs.append(
                        {
                            "model": model,
                            "seed": seed,
                            "precision": precision,
                            "value": summary["metric"][key],
                            "metric": key,
                            "seconds": summary["seconds"],
                            "all": summary["metric"],
                        }
                    )
                    print(
                        f"{model} seed {seed} {precision}: {key} = "
                        f"{summary['metric'][key]:.4f} ({summary['seconds']} s)",
                        flush=True,
                    )
    lines = [
        "| lesson | number (better) | float32: mean ± sd | mixed_bfloat16: mean ± sd | "
        "difference | seed sd | training time bf16/f32 |",
        "|---|---|---|---|---|---|---|",
    ]
    for model in args.models:
        key, better = METRICS[model]
        values = {
            p: [r["value"] for r in runs if r["model"] == model and r["precision"] == p]
            for p in PRECISIONS
        }
        seconds = {
            p: sum(r["seconds"] for r in runs if r["model"] == model and r["precision"] == p)
            for p in PRECISIONS
        }
        mean = {p: statistics.mean(v) for p, v in values.items()}
        sd = {p: statistics.stdev(v) if len(v) > 1 else float("nan") for p, v in values.items()}
        noise = statistics.mean(sd.values())
        lines.append(
            f"| {model} | {key} ({better}) | {mean['float32']:.4f} ± {sd['float32']:.4f} | "
            f"{mean['mixed_bfloat16']:.4f} ± {sd['mixed_bfloat16']:.4f} | "
            f"{mean['mixed_bfloat16'] - mean['float32']:+.4f} | {noise:.4f} | "
            f"{seconds['mixed_bfloat16'] / seconds['float32']:.2f} |"
        )
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "quality.json").write_text(
        json.dumps({"seeds": args.seeds, "runs": runs}, indent=2)
    )
    (args.out / "quality.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
