"""Bad input rows of the table in docs/faults.md not covered by the loader and CLI test files."""

import numpy as np
import pytest
from PIL import Image

from gan_lab import data
from gan_lab.data import images


def test_16_bit_image_is_scaled_to_8_bits(tmp_path):
    path = tmp_path / "deep.png"
    ramp = (np.arange(16 * 16, dtype=np.uint16).reshape(16, 16) * 257).astype(np.uint16)
    Image.fromarray(ramp).save(path)  # uint16 -> a 16-bit PNG
    assert Image.open(path).mode.startswith("I")
    rgb = data.read_rgb(path)
    assert rgb.shape == (16, 16, 3) and rgb.dtype == np.uint8
    assert rgb[0, 0, 0] == 0 and rgb[-1, -1, 0] == 255  # the full 16-bit range kept


def test_huge_image_is_refused_naming_the_file(tmp_path, monkeypatch):
    monkeypatch.setattr(images, "MAX_PIXELS", 30 * 30)
    path = tmp_path / "huge.png"
    Image.fromarray(np.zeros((40, 40, 3), np.uint8)).save(path)
    with pytest.raises(data.DataError, match=r"huge\.png is 40x40 pixels.*Resize it first"):
        data.read_rgb(path)


def test_missing_image_folder_is_named(tmp_path):
    with pytest.raises(data.DatasetNotFoundError, match=r"nowhere does not exist"):
        data.list_images(tmp_path / "nowhere")


def test_interrupted_download_leaves_no_file(tmp_path, monkeypatch):
    class Dropping:  # a connection that breaks after the first chunk
        chunks = [b"x" * 1024]
        headers = {"Content-Length": "4096"}

        def read(self, n):
            if self.chunks:
                return self.chunks.pop()
            raise ConnectionResetError("connection reset by peer")

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    monkeypatch.setattr("urllib.request.urlopen", lambda url, timeout: Dropping())
    target = tmp_path / "cache" / "facades.tar.gz"
    with pytest.raises(ConnectionResetError):
        data.download("https://example.invalid/facades.tar.gz", target, sha256="0" * 64)
    assert not (tmp_path / "cache").exists()  # no file, no .part, no empty folder
