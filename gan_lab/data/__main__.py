"""``make data`` (``python -m gan_lab.data [--data-dir DIR] [--offline]``): find, or download
and verify, every real dataset of the course, and report each one.

Each dataset is checked on its own: one that is missing or damaged is reported with what
to place where, and the others are still checked. The exit code is 0 when every dataset
is ready, 1 otherwise.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from gan_lab import data
from gan_lab.data.apple2orange import validate_apple2orange
from gan_lab.data.files import resolve_root
from gan_lab.errors import GanLabError


def _mnist(split: str) -> Callable[[str | Path | None, bool], str]:
    def check(data_dir, download: bool) -> str:
        found = data.mnist_arrays(split, data_dir, download_missing=download)
        return f"{found.source}: {len(found.images):,} images"

    return check


def _facades(data_dir, download: bool) -> str:
    folder = data.find_facades(data_dir, download_missing=download)
    counts = {s: len(list((folder / s).glob("*.jpg"))) for s in data.FACADES_COUNTS}
    wrong = [
        f"{s} has {counts[s]} of {n}"
        for s, n in data.FACADES_COUNTS.items()
        if s in LESSON_SPLITS and counts[s] != n
    ]
    if wrong:
        raise data.DataError(f"CMP facades in {folder} are incomplete: {'; '.join(wrong)} files.")
    problems = data.validate_facades(folder)
    note = f" (not used by the lessons: {'; '.join(problems)})" if problems else ""
    return f"CMP facades in {folder}: " + ", ".join(f"{s} {n}" for s, n in counts.items()) + note


def _apple2orange(data_dir, download: bool) -> str:
    folder = data.find_apple2orange(data_dir, download_missing=download)
    problems = validate_apple2orange(folder)
    if problems:
        raise data.DataError(f"apple2orange in {folder} is incomplete: {'; '.join(problems)}")
    counts = {d: len(data.list_images(folder / d)) for d in data.APPLE2ORANGE_COUNTS}
    return f"apple2orange in {folder}: " + ", ".join(f"{d} {n}" for d, n in counts.items())


LESSON_SPLITS = ("train", "test")  # the facades splits lesson 4 uses (val is not used)
DATASETS: dict[str, Callable[[str | Path | None, bool], str]] = {
    "MNIST train": _mnist("train"),
    "MNIST test": _mnist("test"),
    "CMP facades": _facades,
    "apple2orange": _apple2orange,
}


def fetch_all(data_dir: str | Path | None = None, download: bool = True) -> dict[str, str]:
    """Find (or download) every real dataset; print one line per dataset.

    Returns:
        ``{dataset: report}`` for the datasets that are ready; a missing or damaged one
        is printed as ``missing: ...`` with the loader's message (what was tried, what to
        place where) and left out.
    """
    ready = {}
    for name, check in DATASETS.items():
        try:
            ready[name] = check(data_dir, download)
        except GanLabError as e:  # missing or damaged: the message says what to do
            print(f"missing: {name}. {e}\n", file=sys.stderr)
        else:
            print(f"ok: {ready[name]}")
    return ready


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gan_lab.data", description=__doc__)
    parser.add_argument("--data-dir", type=Path, help="dataset folder (default data/)")
    parser.add_argument("--offline", action="store_true", help="only look, never download")
    args = parser.parse_args(argv)
    ready = fetch_all(args.data_dir, download=not args.offline)
    print(f"{len(ready)} of {len(DATASETS)} datasets ready under {resolve_root(args.data_dir)}")
    return 0 if len(ready) == len(DATASETS) else 1


if __name__ == "__main__":
    sys.exit(main())
