"""``make data`` (``python -m gan_lab.data``): offline with nothing present, and with files
placed by hand."""

import gzip
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from gan_lab import data
from gan_lab.data import __main__ as make_data

CLOSED = "http://127.0.0.1:9/"  # a closed local port: every download fails at once


@pytest.fixture
def offline(monkeypatch):
    for module, name in [
        ("gan_lab.data.digits", "MNIST_URL"),
        ("gan_lab.data.facades", "FACADES_URL"),
        ("gan_lab.data.apple2orange", "APPLE2ORANGE_URL"),
    ]:
        monkeypatch.setattr(f"{module}.{name}", CLOSED + name.lower())


def test_module_imports_and_offline_flag_reports_every_dataset(tmp_path):
    # the import-time NameError of the old __main__ was invisible to every other test
    out = subprocess.run(
        [sys.executable, "-m", "gan_lab.data", "--data-dir", str(tmp_path), "--offline"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 1, out.stderr
    for name in make_data.DATASETS:
        assert f"missing: {name}." in out.stderr
    assert "0 of 4 datasets ready" in out.stdout


def test_offline_with_nothing_names_what_to_place_where(tmp_path, offline, capsys):
    assert make_data.main(["--data-dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    blocks = {b.split(".", 1)[0]: b for b in err.split("missing: ")[1:]}
    assert set(blocks) == set(make_data.DATASETS)
    assert "mnist.npz" in blocks["MNIST train"] and str(tmp_path / "mnist") in blocks["MNIST train"]
    assert "t10k-images-idx3-ubyte.gz" in blocks["MNIST test"]
    assert "facades.tar.gz" in blocks["CMP facades"] and str(tmp_path) in blocks["CMP facades"]
    assert "apple2orange.zip" in blocks["apple2orange"] and "sha256" in blocks["apple2orange"]
    for block in blocks.values():  # the download was tried, and failed at once
        assert "127.0.0.1:9" in block
    assert not any(tmp_path.iterdir()), "a failed make data must leave no partial files"


def _idx(path, array):
    header = bytes([0, 0, 8, array.ndim]) + b"".join(n.to_bytes(4, "big") for n in array.shape)
    path.write_bytes(gzip.compress(header + array.astype(np.uint8).tobytes()))


def test_files_placed_by_hand_are_each_reported(tmp_path, offline, monkeypatch, capsys):
    # small stand-ins in the real layouts; the expected counts are patched down to match
    monkeypatch.setattr(data, "FACADES_COUNTS", {"train": 3, "val": 1, "test": 2})
    monkeypatch.setattr("gan_lab.data.facades.FACADES_COUNTS", data.FACADES_COUNTS)
    counts = {"trainA": 2, "trainB": 3, "testA": 1, "testB": 1}
    monkeypatch.setattr("gan_lab.data.apple2orange.APPLE2ORANGE_COUNTS", counts)
    monkeypatch.setattr(data, "APPLE2ORANGE_COUNTS", counts)
    mnist = tmp_path / "mnist"
    mnist.mkdir()
    for prefix, n in (("train", 5), ("t10k", 4)):
        _idx(mnist / f"{prefix}-images-idx3-ubyte.gz", np.zeros((n, 28, 28)))
        _idx(mnist / f"{prefix}-labels-idx1-ubyte.gz", np.arange(n))
    for split, n in data.FACADES_COUNTS.items():
        (tmp_path / "facades" / split).mkdir(parents=True)
        for i in range(n):
            Image.new("RGB", (512, 256)).save(tmp_path / "facades" / split / f"{i}.jpg")
    for domain, n in counts.items():
        (tmp_path / "apple2orange" / domain).mkdir(parents=True)
        for i in range(n):
            Image.new("RGB", (256, 256)).save(tmp_path / "apple2orange" / domain / f"{i}.jpg")

    assert make_data.main(["--data-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert "ok: MNIST train split (real" in out[0] and out[0].endswith(": 5 images")
    assert "ok: MNIST test split (real" in out[1] and out[1].endswith(": 4 images")
    assert out[2] == f"ok: CMP facades in {tmp_path / 'facades'}: train 3, val 1, test 2"
    assert out[3] == (
        f"ok: apple2orange in {tmp_path / 'apple2orange'}: trainA 2, trainB 3, testA 1, testB 1"
    )
    assert out[4] == f"4 of 4 datasets ready under {tmp_path}"

    (tmp_path / "facades" / "test" / "0.jpg").unlink()  # a lesson split incomplete: named
    assert make_data.main(["--data-dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "missing: CMP facades." in err and "test has 1 of 2 files" in err
