"""The lint run (``make lint``: ruff over the whole repository) sees every package file.

A bare ``"data"`` in ruff's exclude list once matched ``gan_lab/data`` too, so ruff skipped a
whole package and a NameError in it went unnoticed."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _ruff() -> str:
    found = Path(sys.executable).with_name("ruff")
    if found.exists():
        return str(found)
    if shutil.which("ruff") is None:
        pytest.skip("ruff is not installed")
    return "ruff"


def test_ruff_checks_every_package_file():
    out = subprocess.run(
        [_ruff(), "check", "--show-files", "."], cwd=ROOT, capture_output=True, text=True
    )
    checked = {Path(line.strip()).resolve() for line in out.stdout.splitlines() if line.strip()}
    package = sorted((ROOT / "gan_lab").rglob("*.py"))
    assert package and (ROOT / "gan_lab" / "data" / "__main__.py") in package
    missing = [str(p.relative_to(ROOT)) for p in package if p not in checked]
    assert not missing, f"ruff does not check {missing}: fix the exclude patterns in pyproject"
    # and the top-level data/ and outputs/ folders stay excluded
    assert not any(ROOT / "outputs" in p.parents or ROOT / "data" in p.parents for p in checked)
