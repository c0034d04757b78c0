"""The course's reference runs: each lesson's GAN trained on the real dataset, once, on a
2-core CPU, by ``make reference DATA_DIR=...`` (``python -m gan_lab.reference``).

``REFERENCES`` is the one definition of what they train (the lesson's full-mode settings,
``recipes.defaults``, with the changes below); the driver trains each into
``<outputs>/reference/<name>/`` (resuming a run it finds there), measures it with the
lesson's own ``evaluate`` and writes a small folder the lessons show with ``show``:
``notebooks/reference/<name>/`` holds ``figure.png``, ``progress.gif`` (when small enough)
and ``result.json`` (the numbers, the verdict, the command, the commit, the machine and the
training time). The dataset files themselves are never written there.
"""

from __future__ import annotations

import argparse
import functools
import json
import subprocess
import sys
import time
from pathlib import Path

FOLDER = Path(__file__).resolve().parent.parent / "notebooks" / "reference"
MAX_FILE_BYTES = 300_000  # per committed file (3 MB in all)

# name: (lesson, model, changes to the lesson's full-mode settings, why)
REFERENCES = {
    "dcgan": (
        2,
        "dcgan",
        {"mnist_split": "test"},
        "the 10,000 MNIST test digits (the training images are not at hand), the lesson's 50 "
        "epochs of batch 64 (7,800 steps; of the 60,000 training digits: 46,850); the judge "
        "trains on one half of the digits and scores against the other",
    ),
    "cdcgan": (
        2,
        "dcgan",
        {"mnist_split": "test", "conditional": True},
        "the conditional DCGAN (the label fed to G and D) on the same digits and budget as "
        "the dcgan reference",
    ),
    "pix2pix": (
        3,
        "pix2pix",
        {"steps": 2000},
        "256 px as the paper; 2,000 steps of batch 1 (5 epochs of the 400 training pairs) "
        "where the paper trains 200 epochs (80,000 steps)",
    ),
    "pix2pix_l1": (
        3,
        "pix2pix",
        {"steps": 2000, "lambda_gan": 0.0},
        "the paper's L1-only ablation, same networks, data and budget",
    ),
    "cyclegan": (
        4,
        "cyclegan",
        {"image_size": 128, "base_filters": 32, "steps": 8000, "epochs": None},
        "128 px and 32 base filters (the paper: 256 px, 64) for 8,000 steps of batch 1 "
        "(about 8 epochs of the 1,019 oranges, the larger domain); the paper: 200 epochs",
    ),
}


def command(names: list[str]) -> str:
    which = f' REFERENCES="{" ".join(names)}"' if names != list(REFERENCES) else ""
    return f"make reference DATA_DIR=<folder with the datasets>{which}"


@functools.cache  # the commit this process started from, whatever is committed later
def commit() -> str:
    root = FOLDER.parent.parent
    try:
        head = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no", "--"]
            + [".", f":!{FOLDER.relative_to(root)}"],  # the folders this run rewrites
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + (" (with uncommitted changes)" if dirty else "")


def settings(name: str, data_dir: str | None) -> dict:
    from gan_lab import recipes

    _, model, changes, _ = REFERENCES[name]
    return recipes.defaults(model, False, data_dir=data_dir, **changes)


def train_one(name: str, data_dir: str | None, output_root: Path) -> dict:
    """Train (or resume, or only re-measure a finished) reference ``name``; return its
    ``summary.json`` plus the training seconds summed over every session that trained it."""
    from gan_lab import recipes, runs, runtime

    config = settings(name, data_dir)
    runtime.setup(config)
    experiment = recipes.build(config)
    run_dir = output_root / "reference" / name
    log = run_dir / "sessions.json"  # one entry per invocation: the commit, steps, seconds
    sessions = json.loads(log.read_text()) if log.is_file() else []
    began = runs.latest_step(run_dir) if runs.has_checkpoints(run_dir) else 0
    began_at = time.perf_counter()

    def report(trainer, step, logs):  # a line per log entry, for a log file
        if step % (10 * trainer.log_every) == 0:
            losses = " ".join(f"{k}={float(v):.3f}" for k, v in logs.items())
            minutes = (time.perf_counter() - began_at) / 60
            print(
                f"{name} step {step}/{experiment.total_steps} {losses} [{minutes:.0f} min]",
                flush=True,
            )

    try:
        result = runs.train(experiment, run_dir=run_dir, progress=False, callbacks=[report])
    finally:  # an interrupted session counts too: its steps are in its last checkpoint
        reached = runs.latest_step(run_dir) if runs.has_checkpoints(run_dir) else 0
        if reached > began:
            seconds = round(time.perf_counter() - began_at, 1)
            sessions.append(
                {"commit": commit(), "from_step": began, "to_step": reached, "seconds": seconds}
            )
            log.write_text(json.dumps(sessions, indent=2))
    summary = result.summary
    if not sessions:
        raise RuntimeError(f"{run_dir} was trained outside `make reference`: no sessions.json")
    summary["training_seconds"] = round(sum(s["seconds"] for s in sessions), 1)
    summary["sessions"] = sessions
    summary["generators"] = experiment.generators
    summary["config"] = config
    return summary


def write_folder(name: str, summary: dict, figure, names: list[str]) -> Path:
    """``notebooks/reference/<name>/``: figure.png, progress.gif (if small) and result.json."""
    import shutil

    from PIL import Image

    from gan_lab import runtime

    folder = FOLDER / name
    folder.mkdir(parents=True, exist_ok=True)
    if figure is not None:  # pix2pix_l1 appears in pix2pix's figure
        _save_png(Image.fromarray(figure), folder / "figure.png")
    gif = summary.get("gif")
    if gif and Path(gif).stat().st_size <= MAX_FILE_BYTES:
        shutil.copyfile(gif, folder / "progress.gif")
    elif gif:  # the run's GIF at half size, frames thinned until it fits
        _shrink_gif(Path(gif), folder / "progress.gif")
    lesson, model, changes, why = REFERENCES[name]
    record = {
        "name": name,
        "lesson": lesson,
        "title": summary["title"],
        "verdict": summary["verdict"],
        "metric": summary["metric"],
        "steps": summary["steps"],
        "training_seconds": summary["training_seconds"],
        "precision": summary["precision"],
        "settings": {k: v for k, v in summary["config"].items() if k != "data_dir"},
        "changes": changes,
        "budget": why,
        "command": command(names),
        "commit": commit(),
        "trained_by": summary["sessions"],
        "machine": runtime.describe_machine(),
        "date": time.strftime("%Y-%m-%d"),
    }
    (folder / "result.json").write_text(json.dumps(record, indent=2) + "\n")
    for path in folder.iterdir():
        if path.stat().st_size > MAX_FILE_BYTES:
            raise RuntimeError(f"{path} is {path.stat().st_size:,} bytes, over {MAX_FILE_BYTES:,}")
    return folder


def _small(images, size: int = 128):
    """uint8 copies of ``images`` (in [-1, 1]) at most ``size`` px (the figures' limit)."""
    import numpy as np

    from gan_lab import viz
    from gan_lab.data import images as files

    return np.stack(
        [files.resize(image, min(size, image.shape[0])) for image in viz.to_uint8(images)]
    )


def _pix2pix_figure(name: str, done: dict):
    """Six test label maps | L1 only (if trained) | pix2pix | the real photo, at 128 px."""
    import numpy as np

    from gan_lab import data, models, recipes, viz

    c = done[name]["config"]
    test = recipes.dataset(c, "test")
    x, y = data.normalize(test.inputs[:6]), data.normalize(test.targets[:6])
    columns = [_small(x)]
    for other in ("pix2pix_l1", "pix2pix"):
        if other in done:
            columns.append(
                _small(models.pix2pix_translate(done[other]["generators"]["generator"], x))
            )
    columns.append(_small(y))
    rows = np.stack(columns, axis=1)  # (6, columns, h, w, 3)
    return viz.image_grid(rows.reshape(-1, *rows.shape[2:]), ncols=len(columns))


def _cyclegan_figure(name: str, done: dict):
    """Rows: eight test apples, G(apples), eight test oranges, F(oranges), at 128 px."""
    import numpy as np

    from gan_lab import data, recipes, viz

    c, nets = done[name]["config"], done[name]["generators"]
    test = recipes.dataset(c, "test")
    x, y = data.normalize(test.a[:8]), data.normalize(test.b[:8])
    rows = [x, nets["g"](x, training=False), y, nets["f"](y, training=False)]
    return viz.image_grid(np.concatenate([_small(r) for r in rows]), ncols=8)


def _dcgan_figure(name: str, done: dict):
    """64 digits of the trained generator, 8x8, at twice their size; a conditional one's:
    a row per digit 0..9, 8 each, the same 8 noise vectors in every row."""
    import numpy as np

    from gan_lab import data, viz

    c, g = done[name]["config"], done[name]["generators"]["generator"]
    rng = np.random.default_rng(c["seed"] + 2)
    if not c["conditional"]:
        z = rng.standard_normal((64, c["latent_dim"])).astype(np.float32)
        return viz.image_grid(g(z, training=False), ncols=8, scale=2)
    z = np.tile(rng.standard_normal((8, c["latent_dim"])).astype(np.float32), (10, 1))
    asked = np.eye(data.NUM_DIGITS, dtype=np.float32)[np.repeat(np.arange(data.NUM_DIGITS), 8)]
    return viz.image_grid(g([z, asked], training=False), ncols=8, scale=2)


FIGURES = {
    "dcgan": _dcgan_figure,
    "cdcgan": _dcgan_figure,
    "pix2pix": _pix2pix_figure,
    "cyclegan": _cyclegan_figure,
}


def _save_png(image, target: Path) -> None:
    """Save ``image`` as PNG in full colour, or, where photos make that larger than
    ``MAX_FILE_BYTES``, with the fewest colours lost: an adaptive palette of 256, 128 or 64
    colours (as a GIF frame has), dithered."""
    from PIL import Image

    for colors in (None, 256, 128, 64):
        small = (
            image if colors is None else image.quantize(colors, dither=Image.Dither.FLOYDSTEINBERG)
        )
        small.save(target, optimize=True)
        if target.stat().st_size <= MAX_FILE_BYTES:
            return


def _shrink_gif(source: Path, target: Path) -> None:
    """Write ``source`` at half size to ``target``, keeping every k-th frame (and the last)
    for the smallest k that brings it under ``MAX_FILE_BYTES``; no GIF if none does."""
    from PIL import Image, ImageSequence

    with Image.open(source) as gif:
        frames = [f.convert("RGB") for f in ImageSequence.Iterator(gif)]
        duration = gif.info.get("duration", 500)
    frames = [f.resize((f.width // 2, f.height // 2), Image.BOX) for f in frames]
    for k in range(1, len(frames) + 1):
        kept = frames[::k] + ([frames[-1]] if (len(frames) - 1) % k else [])
        kept[0].save(target, save_all=True, append_images=kept[1:], duration=duration * k, loop=0)
        if target.stat().st_size <= MAX_FILE_BYTES:
            return
    target.unlink()


def show(name: str) -> dict:
    """Show a committed reference in a lesson: its figure, then a few lines saying what it
    is, its numbers' verdict, how long it took on which machine and the command that
    reproduces it. Returns the record (``result.json``)."""
    from IPython.display import Image, display

    folder = FOLDER / name
    record = json.loads((folder / "result.json").read_text())
    if (folder / "figure.png").is_file():  # pix2pix_l1 appears in pix2pix's figure
        display(Image(filename=str(folder / "figure.png")))
    hours = record["training_seconds"] / 3600
    trained = sorted({s["commit"] for s in record.get("trained_by", [])} or {record["commit"]})
    measured = "" if record["commit"] in trained else f", measured at {record['commit']}"
    print(
        f"Reference run (not yours): {record['title']}, {record['steps']:,} steps, "
        f"{hours:.1f} h to train and measure on {record['machine']} ({record['precision']}), "
        f"trained at commit {', '.join(trained)}{measured}.\n{record['budget']}.\n"
        f"{record['verdict']}{_inception_line(record['metric'])}\n"
        f"Reproduce: {record['command']}"
    )
    return record


def _inception_line(metric: dict) -> str:
    """FID/KID where the run computed them, or a line saying why not (lessons 3 and 4)."""
    if metric.get("inception_missing"):
        return (
            "\nFID/KID: not computed; InceptionV3's ImageNet weights were not on the "
            "machine that made this run."
        )
    scores = {k: v for k, v in metric.items() if k.split("_")[0] in ("fid", "kid")}
    shown = [f"{k} {v:.4g}" for k, v in scores.items() if isinstance(v, float)]
    return f"\nFID/KID: {', '.join(shown)}." if shown else ""


def main(argv: list[str] | None = None) -> int:
    """0 when every reference was written; 2 for bad input (a dataset missing from
    ``--data-dir``), 1 for a run that could not go on, each in one line; bugs keep their
    traceback. Rerunning resumes the runs it finds."""
    from gan_lab import errors, runtime

    parser = argparse.ArgumentParser(prog="python -m gan_lab.reference", description=__doc__)
    parser.add_argument("--data-dir", required=True, help="folder holding the real datasets")
    parser.add_argument("names", nargs="*", help=f"default: all of {', '.join(REFERENCES)}")
    args = parser.parse_args(argv)
    commit()  # now, before any training
    names = args.names or list(REFERENCES)
    unknown = [n for n in names if n not in REFERENCES]
    if unknown:
        parser.error(f"unknown reference(s) {', '.join(unknown)}; known: {', '.join(REFERENCES)}")
    done = {}
    for name in names:
        print(f"gan_lab reference: {name}", flush=True)
        try:
            done[name] = train_one(name, args.data_dir, runtime.output_root())
        except errors.GanLabError as e:  # a missing dataset, say: the user's to fix, one line
            print(f"gan_lab reference {name}: error: {e}", file=sys.stderr)
            return 2
        except errors.TrainingStopped as e:  # diverged, disk full: checkpoints intact
            print(f"gan_lab reference {name}: {e}", file=sys.stderr)
            return 1
        print(json.dumps({"name": name, "verdict": done[name]["verdict"]}), flush=True)
    for name in names:
        figure = FIGURES[name](name, done) if name in FIGURES else None
        folder = write_folder(name, done[name], figure, names)
        print(f"gan_lab reference: wrote {folder}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
