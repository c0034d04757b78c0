import io
import tarfile

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from gan_lab import data


def write_pair(path, size=(512, 256), mode="RGB", seed=0):
    rng = np.random.default_rng(seed)
    w, h = size
    array = rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8)
    image = Image.fromarray(array)
    if mode == "L":
        image = image.convert("L")
    elif mode == "RGBA":
        image = image.convert("RGBA")
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path)
    return array


def facades_folder(root, counts=None, size=(512, 256)):
    counts = counts or {"train": 3, "test": 2}
    for split, n in counts.items():
        for i in range(1, n + 1):
            write_pair(root / "facades" / split / f"{i}.jpg", size=size, seed=i)
    return root


def flat_facades_folder(root, counts):
    """Like ``facades_folder`` but every file is one flat 512x256 JPEG: the canonical
    archive's 606 files, in a few MB and well under a second (noise JPEGs take ~100x more)."""
    buffer = io.BytesIO()
    Image.new("RGB", (512, 256), (90, 120, 150)).save(buffer, "JPEG")
    for split, n in counts.items():
        (root / "facades" / split).mkdir(parents=True, exist_ok=True)
        for i in range(1, n + 1):
            (root / "facades" / split / f"{i}.jpg").write_bytes(buffer.getvalue())
    return root


def test_reads_placed_folder_as_label_map_input_and_photo_target(tmp_path):
    root = tmp_path / "d"
    arrays = [write_pair(root / "facades" / "test" / f"{i}.png", seed=i) for i in (1, 2, 10)]
    pairs = data.load_facades("test", quick=False, data_dir=root)
    assert pairs.inputs.shape == (3, 256, 256, 3) and pairs.targets.shape == (3, 256, 256, 3)
    assert pairs.names == ["1.png", "2.png", "10.png"]  # numeric order
    np.testing.assert_array_equal(pairs.inputs[0], arrays[0][:, 256:])  # right half: labels
    np.testing.assert_array_equal(pairs.targets[0], arrays[0][:, :256])  # left half: photo
    assert "NOTE 3 files" in pairs.source and not pairs.synthetic


def test_missing_split_is_reported_not_replaced(tmp_path):
    root = facades_folder(tmp_path / "d")
    with pytest.raises(data.DatasetNotFoundError, match=r"'val' is missing.*found: test, train"):
        data.load_facades("val", quick=False, data_dir=root)


def test_offline_without_data_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setattr("gan_lab.data.facades.FACADES_URL", "http://127.0.0.1:9/facades.tar.gz")
    with pytest.raises(data.DatasetNotFoundError) as info:
        data.load_facades("train", quick=False, data_dir=tmp_path / "empty")
    message = str(info.value)
    assert "facades.tar.gz" in message and "quick mode" in message and "127.0.0.1" in message


@pytest.mark.parametrize("size", [(256, 256), (500, 256)])
def test_not_two_equal_halves_names_the_file(tmp_path, size):
    root = tmp_path / "d"
    write_pair(root / "facades" / "train" / "7.jpg", size=size)
    with pytest.raises(data.DataError, match=r"7\.jpg.*two equal square halves"):
        data.load_facades("train", quick=False, data_dir=root)


def test_unreadable_file_names_the_file(tmp_path):
    root = facades_folder(tmp_path / "d", {"train": 1})
    (root / "facades" / "train" / "2.jpg").write_bytes(b"this is not a jpeg")
    with pytest.raises(data.DataError, match=r"2\.jpg cannot be read"):
        data.load_facades("train", quick=False, data_dir=root)


@pytest.mark.parametrize("mode", ["L", "RGBA"])
def test_grayscale_and_rgba_are_converted_to_rgb(tmp_path, mode):
    root = tmp_path / "d"
    write_pair(root / "facades" / "train" / "1.png", mode=mode)
    pairs = data.load_facades("train", quick=False, data_dir=root)
    assert pairs.inputs.shape == (1, 256, 256, 3)


def test_non_image_files_are_ignored_and_images_resized(tmp_path):
    root = facades_folder(tmp_path / "d", {"train": 2}, size=(128, 64))
    (root / "facades" / "train" / "notes.txt").write_text("ignore me")
    pairs = data.load_facades("train", quick=False, data_dir=root, image_size=32)
    assert pairs.inputs.shape == (2, 32, 32, 3)


def test_archive_is_extracted_and_validated(tmp_path):
    build = flat_facades_folder(tmp_path / "build", data.FACADES_COUNTS)
    archive = tmp_path / "d" / "facades.tar.gz"
    archive.parent.mkdir()
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(build / "facades", arcname="facades")
    assert data.validate_facades(data.find_facades(tmp_path / "d")) == []
    assert (tmp_path / "d" / "facades" / "val" / "100.jpg").is_file()


def test_incomplete_archive_is_rejected_and_leaves_no_folder(tmp_path):
    build = facades_folder(tmp_path / "build", {"train": 2, "test": 1})
    archive = tmp_path / "d" / "facades.tar.gz"
    archive.parent.mkdir()
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(build / "facades", arcname="facades")
    with pytest.raises(
        data.DataError, match="train has 2 images, expected 400; split 'val' is missing"
    ):
        data.find_facades(tmp_path / "d", download_missing=False)
    assert not (tmp_path / "d" / "facades").exists()
    assert archive.exists()  # a user's archive is reported, not deleted


def test_corrupt_archive_is_reported(tmp_path):
    archive = tmp_path / "d" / "facades.tar.gz"
    archive.parent.mkdir()
    archive.write_bytes(b"\x1f\x8b truncated")
    with pytest.raises(data.DataError, match="not a readable archive"):
        data.find_facades(tmp_path / "d", download_missing=False)
    assert not (tmp_path / "d" / "facades").exists()


def test_synthetic_facades_are_deterministic_palette_maps():
    labels, photos = data.synthetic_facades(4, seed=3, size=32)
    again, _ = data.synthetic_facades(4, seed=3, size=32)
    np.testing.assert_array_equal(labels, again)
    palette = {tuple(c) for c in data.CMP_PALETTE.values()}
    assert {tuple(c) for c in labels.reshape(-1, 3)} <= palette
    assert photos.shape == (4, 32, 32, 3) and photos.std() > 10


def test_quick_mode_is_labelled_synthetic(capsys):
    pairs = data.load_facades("test", image_size=32, quick=True, count=40)
    assert pairs.synthetic and "SYNTHETIC" in capsys.readouterr().out


def test_jitter_resizes_labels_nearest_photos_bilinear_with_one_crop_and_flip():
    labels, photos = data.synthetic_facades(1, seed=0, size=32)
    x, y = data.normalize(labels[0]), data.normalize(photos[0])
    near = tf.image.resize(x, [36, 36], method="nearest").numpy()  # 286/256 of 32
    smooth = tf.image.resize(y, [36, 36], method="bilinear").numpy()
    placements = [(t, s, f) for t in range(5) for s in range(5) for f in (False, True)]

    def place(big, t, s, f):
        crop = big[t : t + 32, s : s + 32]
        return crop[:, ::-1] if f else crop

    palette = {tuple(c) for c in data.CMP_PALETTE.values()}
    for k in range(8):
        a, b = (v.numpy() for v in data.jitter(x, y, 32, seed=tf.constant([k, 0], tf.int64)))
        # one placement (crop offset and mirror) explains both outputs, bit for bit
        assert any(
            np.array_equal(place(near, *p), a) and np.array_equal(place(smooth, *p), b)
            for p in placements
        ), k
        assert {tuple(c) for c in np.round((a + 1) * 127.5).reshape(-1, 3)} <= palette


def test_jitter_varies_between_calls():
    tf.random.set_seed(1)
    image = tf.random.uniform([64, 64, 3])
    crops = [data.jitter(image, image, 64)[0].numpy() for _ in range(6)]
    assert any(not np.array_equal(crops[0], c) for c in crops[1:])


def test_pair_dataset_scales_and_batches():
    labels, photos = data.synthetic_facades(5, size=32)
    pairs = data.PairSet(labels, photos, list(range(5)), "SYNTHETIC test", True)
    x, y = next(iter(data.pair_dataset(pairs, batch_size=2, augment=False, shuffle=False)))
    assert x.shape == (2, 32, 32, 3) and y.dtype == tf.float32
    # float32 u8 / 127.5 - 1 in [-1, 1]: two roundings of at most half an ulp of 1 (6e-8)
    # each; 1e-6 is 8x that and far below the 1/127.5 of an off-by-one level.
    np.testing.assert_allclose(x.numpy(), labels[:2] / 127.5 - 1.0, atol=1e-6)


def test_label_classes_reads_noisy_jpeg_label_maps_by_the_nearest_palette_colour():
    rng = np.random.default_rng(0)
    classes = np.kron(rng.integers(0, 12, (2, 4, 4)), np.ones((16, 16), int))  # (2, 64, 64)
    painted = np.array(list(data.CMP_PALETTE.values()), np.uint8)[classes]
    # noise up to 12 per channel, at most 21 away: closer than half the closest palette pair
    noise = rng.integers(-12, 13, painted.shape)
    noisy = np.clip(painted.astype(int) + noise, 0, 255).astype(np.uint8)
    decoded = data.label_classes(noisy)
    assert decoded.shape == (2, 64, 64) and decoded.dtype == np.int32
    np.testing.assert_array_equal(decoded, classes)
    # a real JPEG round trip blurs and bleeds colours at region borders, not inside regions
    buffer = io.BytesIO()
    Image.fromarray(painted[0]).save(buffer, format="JPEG", quality=75)
    jpeg = data.label_classes(np.asarray(Image.open(buffer)))
    inside = np.kron(np.ones((4, 4), bool), np.pad(np.ones((8, 8), bool), 4))  # 4 px from borders
    np.testing.assert_array_equal(jpeg[inside], classes[0][inside])
    with pytest.raises(ValueError, match="RGB"):
        data.label_classes(classes)
