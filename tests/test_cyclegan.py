"""apple2orange loading, instance norm, CycleGAN pieces (pool, schedule, losses, step)."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from gan_lab import data, image_pool, losses, models, steps


def domain_folder(root, counts):
    for name, n in counts.items():
        folder = root / "apple2orange" / name
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(n):
            array = np.full((40, 40, 3), 20 * i, np.uint8)
            Image.fromarray(array).save(folder / f"img_{i}.jpg")
    return root


# ------------------------------------------------------------------ data


def test_loader_reads_placed_folders_and_resizes(tmp_path):
    root = domain_folder(tmp_path, {"trainA": 3, "trainB": 2, "testA": 1, "testB": 1})
    fruit = data.load_apple2orange("train", image_size=32, quick=False, data_dir=root)
    assert fruit.a.shape == (3, 32, 32, 3) and fruit.b.shape == (2, 32, 32, 3)
    assert not fruit.synthetic and "real" in fruit.source


def test_empty_domain_folder_is_named(tmp_path):
    root = domain_folder(tmp_path, {"trainA": 2, "trainB": 0})
    with pytest.raises(data.DatasetNotFoundError, match=r"trainB holds no image files"):
        data.load_apple2orange("train", image_size=32, quick=False, data_dir=root)


def test_unreadable_image_is_named(tmp_path):
    root = domain_folder(tmp_path, {"trainA": 1, "trainB": 1})
    (root / "apple2orange" / "trainB" / "broken.jpg").write_bytes(b"\xff\xd8 not really")
    with pytest.raises(data.DataError, match="broken.jpg cannot be read"):
        data.load_apple2orange("train", image_size=32, quick=False, data_dir=root)


def test_archive_with_wrong_checksum_is_refused(tmp_path):
    (tmp_path / "apple2orange.zip").write_bytes(b"PK not the archive")
    with pytest.raises(data.DataError, match="expected sha256"):
        data.find_apple2orange(tmp_path, download_missing=False)
    assert (tmp_path / "apple2orange.zip").exists()


def test_offline_without_data_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setattr(
        "gan_lab.data.apple2orange.APPLE2ORANGE_URL", "http://127.0.0.1:9/apple2orange.zip"
    )
    with pytest.raises(data.DatasetNotFoundError, match="(?s)apple2orange.zip.*quick mode"):
        data.load_apple2orange("train", quick=False, data_dir=tmp_path / "empty")


def test_synthetic_fruit_is_deterministic_and_labelled(capsys):
    a = data.synthetic_fruit(3, "apple", seed=1, size=32)
    np.testing.assert_array_equal(a, data.synthetic_fruit(3, "apple", seed=1, size=32))
    oranges = data.synthetic_fruit(20, "orange", seed=1, size=32).astype(float)
    apples = data.synthetic_fruit(20, "apple", seed=1, size=32).astype(float)
    # Oranges are more orange: more green relative to red than red apples.
    assert (oranges[..., 1] / (oranges[..., 0] + 1)).mean() > (
        apples[..., 1] / (apples[..., 0] + 1)
    ).mean()
    fruit = data.load_apple2orange("test", image_size=32, quick=True, count=40)
    assert fruit.synthetic and "SYNTHETIC" in capsys.readouterr().out


def test_unpaired_pipeline_pairs_one_of_each_and_lasts_the_larger_domain():
    a = np.zeros((5, 16, 16, 3), np.uint8)  # apples all black
    b = np.full((3, 16, 16, 3), 255, np.uint8)  # oranges all white
    batches = list(data.unpaired_dataset(a, b, batch_size=1, augment=True))
    assert len(batches) == 5
    for x, y in batches:
        assert x.shape == (1, 16, 16, 3) and float(tf.reduce_max(x)) == -1.0
        assert float(tf.reduce_min(y)) == pytest.approx(1.0)


def test_unpaired_jitter_varies_crops_and_keeps_range():
    tf.random.set_seed(0)
    a = np.random.default_rng(0).integers(0, 256, (1, 32, 32, 3), dtype=np.uint8)
    ds = data.unpaired_dataset(a, a, batch_size=1, augment=True, seed=0).from_batch(0).take(6)
    xs = [x.numpy() for x, _ in ds]
    assert any(not np.allclose(xs[0], x) for x in xs[1:])  # fresh crop/flip each epoch
    assert all(-1.0 <= x.min() and x.max() <= 1.0 and x.shape == (1, 32, 32, 3) for x in xs)


# ------------------------------------------------------------------ models


def test_instance_norm_is_per_image_per_channel_normalisation():
    x = np.random.default_rng(0).normal(3.0, 2.0, size=(2, 5, 6, 4)).astype(np.float32)
    layer = keras.layers.GroupNormalization(groups=-1, center=False, scale=False, epsilon=1e-5)
    mean = x.mean(axis=(1, 2), keepdims=True)
    var = x.var(axis=(1, 2), keepdims=True)
    # Outputs are O(1) (at most ~3); both sides work in float32 over 30 values per
    # (image, channel): mean and variance within ~30 u relative (Higham 3.1), the division
    # a few u more, i.e. a few 1e-6 absolute. 1e-4 is ~20x that, and far below the O(1)
    # error of normalising over the wrong axes.
    np.testing.assert_allclose(layer(x).numpy(), (x - mean) / np.sqrt(var + 1e-5), atol=1e-4)


def test_resnet_generator_matches_junyanz():
    g = models.build_resnet_generator(256)
    assert g.count_params() == 11_378_179
    # The shape traced through every layer; running it would cost ~60 GFLOP per image.
    assert g.output_shape == (None, 256, 256, 3)
    small = models.build_resnet_generator(base_filters=8, n_blocks=2)
    out = small(np.zeros((1, 32, 32, 3), np.float32)).numpy()
    assert out.shape == (1, 32, 32, 3) and np.abs(out).max() <= 1.0


def test_reflection_padding_mirrors_and_serializes(tmp_path):
    x = np.arange(9, dtype=np.float32).reshape(1, 3, 3, 1)
    padded = models.ReflectionPadding2D(1)(x).numpy()[0, ..., 0]
    assert padded.shape == (5, 5) and padded[0, 0] == x[0, 1, 1, 0] and padded[2, 0] == 4.0
    g = models.build_resnet_generator(base_filters=4, n_blocks=1)
    g.save(tmp_path / "g.keras")
    again = keras.models.load_model(tmp_path / "g.keras")
    z = np.random.default_rng(0).uniform(-1, 1, (1, 16, 16, 3)).astype(np.float32)
    # The same weights through the same kernels in the same process: equal up to rounding
    # in ops the reloaded graph may order differently; 1e-6 on outputs in [-1, 1] is a few
    # ulps, while a weight or padding lost in serialization changes outputs by O(0.1).
    np.testing.assert_allclose(again(z).numpy(), g(z).numpy(), atol=1e-6)


# ------------------------------------------------------------------ losses, pool, schedule


def test_lsgan_losses_hand_values():
    real, fake = np.array([[1.0], [0.5]], np.float32), np.array([[0.0], [1.0]], np.float32)
    # D: 0.5 * (mean((1-1)^2, (0.5-1)^2) + mean(0^2, 1^2)) = 0.5 * (0.125 + 0.5)
    assert float(losses.lsgan_discriminator_loss(real, fake)) == pytest.approx(0.3125)
    assert float(losses.lsgan_generator_loss(fake)) == pytest.approx(0.5)
    zeros = np.zeros((1, 1), np.float32)
    assert float(losses.halved_discriminator_loss(zeros, zeros)) == pytest.approx(math.log(2))


# ------------------------------------------------------------------ step and metrics


def tiny_cyclegan():
    keras.utils.set_random_seed(0)
    nets = {
        "g": models.build_resnet_generator(base_filters=4, n_blocks=1, name="G"),
        "f": models.build_resnet_generator(base_filters=4, n_blocks=1, name="F"),
        "d_x": models.build_patchgan_discriminator(
            conditional=False, norm="instance", base_filters=4
        ),
        "d_y": models.build_patchgan_discriminator(
            conditional=False, norm="instance", base_filters=4
        ),
    }
    optimizers = {k: keras.optimizers.Adam(2e-4, beta_1=0.5) for k in nets}
    return nets, optimizers


WEIGHTS = {"lambda_cycle": 10.0, "lambda_identity": 0.5}  # the paper's


@pytest.mark.parametrize("compiled", [False, pytest.param(True, marks=pytest.mark.slow)])
def test_cyclegan_step_updates_all_four_networks(compiled):
    """Eager in the fast tests; compiled (what the Trainer runs) costs ~12 s of CPU."""
    nets, optimizers = tiny_cyclegan()
    pools = image_pool.ImagePool((32, 32, 3), 50), image_pool.ImagePool((32, 32, 3), 50)
    step = steps.make_cyclegan_step(
        *nets.values(), optimizers, *pools, **WEIGHTS, adversarial="lsgan"
    )
    step = tf.function(step) if compiled else step
    before = {k: [w.numpy().copy() for w in m.trainable_weights] for k, m in nets.items()}
    batch = tf.random.uniform([1, 32, 32, 3], -1, 1), tf.random.uniform([1, 32, 32, 3], -1, 1)
    logs = step(batch)
    assert set(logs) == {"g_loss", "d_loss", "g_adv", "g_cycle", "g_identity", "d_x", "d_y"}
    assert all(np.isfinite(float(v)) for v in logs.values())
    assert float(logs["d_loss"]) == pytest.approx(float(logs["d_x"]) + float(logs["d_y"]))
    for key, model in nets.items():
        moved = [  # Adam's first step moves each entry by ~lr = 2e-4 >> allclose's 1e-5 |w|
            not np.allclose(a, w.numpy()) for a, w in zip(before[key], model.trainable_weights)
        ]
        assert all(moved), f"{key} was not updated"
    assert int(pools[0].count) == 1 and int(pools[1].count) == 1


def test_cyclegan_step_rejects_unknown_adversarial_loss():
    nets, optimizers = tiny_cyclegan()
    with pytest.raises(ValueError, match="adversarial='wgan'"):
        steps.make_cyclegan_step(*nets.values(), optimizers, **WEIGHTS, adversarial="wgan")
