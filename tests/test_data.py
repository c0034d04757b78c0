import gzip
import struct

import numpy as np
import pytest

from gan_lab import data, recipes


def write_idx(path, array, gz=True):
    header = struct.pack(">BBBB", 0, 0, 8, array.ndim) + b"".join(
        struct.pack(">I", n) for n in array.shape
    )
    payload = header + array.astype(np.uint8).tobytes()
    path.write_bytes(gzip.compress(payload) if gz else payload)
    return path


def fake_mnist_idx(folder, prefix="t10k", n=5):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    y = rng.integers(0, 10, size=n, dtype=np.uint8)
    folder.mkdir(parents=True, exist_ok=True)
    write_idx(folder / f"{prefix}-images-idx3-ubyte.gz", x)
    write_idx(folder / f"{prefix}-labels-idx1-ubyte.gz", y)
    return x, y


# ------------------------------------------------------------------ synthetic digits


def test_synthetic_digits_are_deterministic_and_balanced():
    a, la = data.synthetic_digits(50, seed=1)
    b, lb = data.synthetic_digits(50, seed=1)
    c, _ = data.synthetic_digits(50, seed=2)
    assert a.shape == (50, 28, 28, 1) and a.dtype == np.uint8
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(la, lb)
    assert not np.array_equal(a, c)
    assert np.bincount(la).tolist() == [5] * 10
    assert a.max() > 150 and a.mean() < 80  # bright strokes on a dark background


def test_quick_mode_batches_are_labelled_scaled_and_deterministic(capsys):
    digits = data.load_digits("test", quick=True, seed=3, count=512)
    assert digits.synthetic and "SYNTHETIC" in capsys.readouterr().out

    def first_batch():
        return next(iter(data.to_dataset(digits.images, 32, seed=3))).numpy()

    first = first_batch()
    assert first.shape == (32, 28, 28, 1) and first.dtype == np.float32
    assert first.min() >= -1.0 and first.max() <= 1.0 and first.min() == -1.0
    np.testing.assert_array_equal(first, first_batch())  # the same seeded pipeline


def test_dataset_with_labels_yields_pairs():
    x, y = data.synthetic_digits(20)
    images, labels = next(iter(data.to_dataset(x, 8, shuffle=False, labels=y)))
    assert images.shape == (8, 28, 28, 1) and labels.numpy().tolist() == y[:8].tolist()


def test_bad_split_and_batch_size_are_named():
    with pytest.raises(ValueError, match="split='val'"):
        data.load_digits("val", quick=True)
    with pytest.raises(ValueError, match="batch_size=0"):
        data.to_dataset(np.zeros((2, 28, 28, 1), np.uint8), 0)


# ------------------------------------------------------------------ readers


@pytest.mark.parametrize("gz", [True, False])
def test_read_idx_roundtrip(tmp_path, gz):
    array = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    path = write_idx(tmp_path / ("a.idx.gz" if gz else "a.idx"), array, gz)
    np.testing.assert_array_equal(data.read_idx(path), array)


def test_read_idx_bad_magic_names_file(tmp_path):
    path = tmp_path / "t10k-images-idx3-ubyte"
    path.write_bytes(b"\x12\x34\x56\x78" + bytes(100))
    with pytest.raises(data.DataError, match="t10k-images-idx3-ubyte.*magic"):
        data.read_idx(path)


def test_read_idx_truncated_names_file(tmp_path):
    array = np.zeros((4, 28, 28), np.uint8)
    path = write_idx(tmp_path / "x.idx", array, gz=False)
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(data.DataError, match="x.idx.*truncated"):
        data.read_idx(path)


def test_read_idx_corrupt_gzip_names_file(tmp_path):
    path = tmp_path / "t10k-labels-idx1-ubyte.gz"
    path.write_bytes(b"\x1f\x8b" + b"garbage" * 10)
    with pytest.raises(data.DataError, match="t10k-labels-idx1-ubyte.gz"):
        data.read_idx(path)


def test_npz_reader_and_checksum(tmp_path):
    x = np.zeros((3, 28, 28), np.uint8)
    path = tmp_path / "mnist.npz"
    np.savez(path, x_train=x, y_train=np.zeros(3), x_test=x[:1], y_test=np.zeros(1))
    images, labels = data.read_mnist_npz(path, "test", sha256=None)
    assert images.shape == (1, 28, 28) and labels.shape == (1,)
    with pytest.raises(data.DataError, match=r"mnist\.npz.*expected sha256"):
        data.read_mnist_npz(path, "test")  # not Keras' file: checksum differs
    assert path.exists()  # a user's file is reported, never deleted


def test_corrupt_npz_names_file(tmp_path):
    path = tmp_path / "mnist.npz"
    path.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(data.DataError, match="mnist.npz"):
        data.read_mnist_npz(path, "train", sha256=None)


# ------------------------------------------------------------------ finding real MNIST


def test_mnist_from_placed_idx_files(tmp_path):
    x, y = fake_mnist_idx(tmp_path / "placed" / "mnist")
    got = data.mnist_arrays("test", data_dir=tmp_path / "placed")
    np.testing.assert_array_equal(got.images[..., 0], x)
    np.testing.assert_array_equal(got.labels, y)
    assert not got.synthetic and "real" in got.source


def test_mnist_from_keras_cache_when_it_is_the_same_file(tmp_path, monkeypatch):
    from gan_lab.data import digits

    x = np.full((2, 28, 28), 7, np.uint8)
    cached = tmp_path / "keras_home" / "datasets" / "mnist.npz"  # conftest's KERAS_HOME
    cached.parent.mkdir(parents=True)
    np.savez(cached, x_train=x, y_train=np.arange(2), x_test=x[:1], y_test=np.zeros(1))
    with pytest.raises(data.DatasetNotFoundError, match="Keras' cache: another file"):
        data.mnist_arrays("train", data_dir=tmp_path / "empty", download_missing=False)
    monkeypatch.setattr(digits, "MNIST_SHA256", data.sha256_of(cached))  # now Keras' file
    got = data.mnist_arrays("train", data_dir=tmp_path / "empty", download_missing=False)
    np.testing.assert_array_equal(got.images[..., 0], x)
    assert "Keras' cache" in got.source and not (tmp_path / "empty").exists()  # no copy


def test_missing_labels_file_is_reported(tmp_path):
    fake_mnist_idx(tmp_path / "m")
    (tmp_path / "m" / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(data.DatasetNotFoundError, match="labels file is missing"):
        data.mnist_arrays("test", data_dir=tmp_path / "m", download_missing=False)


def test_offline_full_mode_fails_fast_with_clear_error(tmp_path):
    with pytest.raises(data.DatasetNotFoundError) as info:
        data.load_digits("train", quick=False)  # full mode, empty data dir, download refused
    message = str(info.value)
    assert str(tmp_path / "data" / "mnist") in message
    assert "127.0.0.1" in message and "quick mode" in message
    assert not (tmp_path / "data" / "mnist").exists()  # no empty cache folder left behind


def test_download_checksum_mismatch_removes_partial_file(tmp_path):
    source = tmp_path / "served.bin"
    source.write_bytes(b"not mnist")
    target = tmp_path / "cache" / "mnist.npz"
    with pytest.raises(data.DataError, match="Checksum mismatch"):
        data.download(source.as_uri(), target, sha256="0" * 64)
    assert not target.exists() and not list(target.parent.glob("*.part"))


def test_download_verified_file_lands(tmp_path):
    source = tmp_path / "served.bin"
    source.write_bytes(b"payload")
    target = data.download(
        source.as_uri(), tmp_path / "cache" / "f.bin", sha256=data.sha256_of(source)
    )
    assert target.read_bytes() == b"payload"


def test_download_shows_its_size_and_progress(tmp_path, capsys):
    source = tmp_path / "served.bin"
    source.write_bytes(b"x" * 3000)
    data.download(source.as_uri(), tmp_path / "cache" / "f.bin")
    out, err = capsys.readouterr()
    assert f"downloading {source.as_uri()}" in out
    assert "100%" in err and "3.00k/3.00k" in err  # tqdm: bytes done / total


# ------------------------------------------------------------------ toy distributions


def test_toy_samples_have_the_stated_moments():
    # Sampling error, not rounding: numpy's seeded generator gives the same numbers on every
    # machine; with 50,000 draws the mean's sd is 0.5 / sqrt(50000) ~ 0.002 (0.02 is 10 sd).
    g = data.sample_toy("gaussian", 50_000, seed=0)
    assert g.shape == (50_000, 1) and g.dtype == np.float32
    assert abs(g.mean() - 3.0) < 0.02 and abs(g.std() - 0.5) < 0.02
    m = data.sample_toy("mixture", 50_000, seed=0)
    assert abs((m > 0).mean() - 0.5) < 0.02 and abs(m[m > 0].mean() - 2.0) < 0.02
    ring = data.sample_toy("ring", 8000, seed=0)
    radii = np.linalg.norm(ring, axis=1)
    assert ring.shape == (8000, 2) and abs(radii.mean() - 2.0) < 0.01


def test_toy_density_integrates_to_one():
    xs = np.linspace(-6, 8, 20_001)
    for kind in ("gaussian", "mixture"):
        # float64 trapezoid rule, step 7e-4: its error (~h^2 f'' / 12) is ~1e-7; 1e-4 allows
        # the tails beyond [-6, 8], while a missing 1/sqrt(2 pi) is 60% off.
        assert np.trapezoid(data.toy_density(kind, xs), xs) == pytest.approx(1.0, abs=1e-4)


def test_toy_dataset_batches_are_full_and_kind_is_checked():
    batches = list(data.toy_dataset("ring", n=1000, batch_size=300))
    assert [b.shape[0] for b in batches] == [300, 300, 300]
    with pytest.raises(ValueError, match="kind='moons'"):
        data.sample_toy("moons", 10)
    with pytest.raises(ValueError, match="1-D"):
        data.toy_density("ring", np.zeros(3))


def test_extract_atomically_zip_all_or_nothing(tmp_path):
    import zipfile

    archive = tmp_path / "thing.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("thing/a.txt", "hello")
    from gan_lab.data.files import extract_atomically

    with pytest.raises(data.DataError, match="expected thing files: no b.txt"):
        extract_atomically(
            archive, tmp_path, "thing", lambda d: [] if (d / "b.txt").exists() else ["no b.txt"]
        )
    assert not (tmp_path / "thing").exists() and not (tmp_path / ".thing.partial").exists()
    folder = extract_atomically(archive, tmp_path, "thing", lambda d: [])
    assert (folder / "a.txt").read_text() == "hello"


def test_quick_mode_data_sizes_are_the_lessons_settings():
    with pytest.raises(ValueError, match="count="):
        data.load_facades("test", 32, quick=True)  # no size: no hidden default
    sizes = {"synthetic_train": 6, "synthetic_test": 3}
    digits = recipes.dataset(recipes.defaults("dcgan", True, **sizes), "train")
    facades = recipes.dataset(recipes.defaults("pix2pix", True, image_size=32, **sizes), "test")
    fruit = recipes.dataset(recipes.defaults("cyclegan", True, **sizes), "train")
    assert [len(digits.images), len(facades.inputs), len(fruit.a), len(fruit.b)] == [6, 3, 6, 6]
    assert digits.synthetic and facades.synthetic and fruit.synthetic
