"""``make quality``: does a lesson's final number hold under mixed_bfloat16?

Trains each lesson's model in quick mode with ``gan-lab train`` for several seeds under
float32 and under mixed_bfloat16, and compares the final numbers: the difference between
the two precisions' means against the spread between seeds (run-to-run noise). Training
times are not compared here (``make bench`` measures speed). Writes
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
    "cyclegan": ("reconstruction_l1", "lower"),
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
    parser.add_argument(
        "--report-only", action="store_true", help="rebuild quality.md from quality.json"
    )
    args = parser.parse_args(argv)
    if args.report_only:
        report(json.loads((args.out / "quality.json").read_text())["runs"], args.out)
        return
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
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "quality.json").write_text(
        json.dumps({"seeds": args.seeds, "runs": runs}, indent=2)
    )
    report(runs, args.out)


def report(runs: list[dict], out: Path) -> None:
    """The Markdown table: per lesson, each precision's mean and spread over seeds."""
    lines = [
        "| lesson | number (better) | seeds | float32: mean ± sd | mixed_bfloat16: mean ± sd "
        "| difference | seed-to-seed sd |",
        "|---|---|---|---|---|---|---|",
    ]
    for model in dict.fromkeys(r["model"] for r in runs):
        key, better = METRICS[model]
        values = {
            p: [r["value"] for r in runs if r["model"] == model and r["precision"] == p]
            for p in PRECISIONS
        }
        mean = {p: statistics.mean(v) for p, v in values.items()}
        sd = {p: statistics.stdev(v) if len(v) > 1 else float("nan") for p, v in values.items()}
        lines.append(
            f"| {model} | {key} ({better}) | {len(values['float32'])} | "
            f"{mean['float32']:.4f} ± {sd['float32']:.4f} | "
            f"{mean['mixed_bfloat16']:.4f} ± {sd['mixed_bfloat16']:.4f} | "
            f"{mean['mixed_bfloat16'] - mean['float32']:+.4f} | "
            f"{statistics.mean(sd.values()):.4f} |"
        )
    (out / "quality.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
