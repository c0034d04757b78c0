import numpy as np
import pytest

from gan_lab import models


def test_dcgan_generator_matches_tf_tutorial():
    g = models.build_dcgan_generator()
    assert g.count_params() == 2_330_944
    out = g(np.random.normal(size=(3, 100)).astype("float32"), training=False).numpy()
    assert out.shape == (3, 28, 28, 1)
    assert out.min() >= -1.0 and out.max() <= 1.0


def test_dcgan_discriminator_matches_tf_tutorial():
    d = models.build_dcgan_discriminator()
    assert d.count_params() == 212_865
    assert d(np.zeros((2, 28, 28, 1), "float32")).shape == (2, 1)


def test_builders_are_configurable():
    g = models.build_dcgan_generator(latent_dim=16, width=8, channels=3)
    assert g.input_shape == (None, 16) and g.output_shape == (None, 28, 28, 3)
    d = models.build_dcgan_discriminator(width=8, channels=3)
    assert d.input_shape == (None, 28, 28, 3)


@pytest.mark.parametrize(
    "kwargs,match", [({"latent_dim": 0}, "latent_dim=0"), ({"width": "64"}, "width='64'")]
)
def test_bad_builder_arguments_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        models.build_dcgan_generator(**kwargs)


def test_bad_dropout_is_named():
    with pytest.raises(ValueError, match="dropout=1.5"):
        models.build_dcgan_discriminator(dropout=1.5)


def test_mlp_builder_shapes_and_validation():
    g = models.build_mlp(8, 2, hidden=(16, 16))
    assert g(np.zeros((5, 8), "float32")).shape == (5, 2)
    assert g.count_params() == (8 * 16 + 16) + (16 * 16 + 16) + (16 * 2 + 2)
    with pytest.raises(ValueError, match=r"hidden\[1\]=0"):
        models.build_mlp(2, 1, hidden=(4, 0))


def test_unet_generator_matches_tf_pix2pix_tutorial():
    # the tutorial's layout with its bottleneck norm; the default drops it (test_lesson4.py)
    g = models.build_unet_generator(bottleneck_norm=True)
    assert g.count_params() == 54_425_859
    assert g.output_shape == (None, 256, 256, 3)
    assert sum("dropout" in layer.name for layer in g.layers) == 3


def test_unet_generator_shallow_depth():
    g = models.build_unet_generator(128, base_filters=32, max_filters=256, depth=4, norm="instance")
    assert g.output_shape == (None, 128, 128, 3) and g.count_params() < 3_000_000
    with pytest.raises(ValueError, match="depth must be in"):
        models.build_unet_generator(64, depth=7)


def test_unet_generator_small_and_instance_norm():
    g = models.build_unet_generator(32, base_filters=8, max_filters=32, norm="instance")
    out = g(np.random.uniform(-1, 1, (2, 32, 32, 3)).astype("float32"), training=False).numpy()
    assert out.shape == (2, 32, 32, 3) and np.abs(out).max() <= 1.0
    assert any("group_normalization" in layer.name for layer in g.layers)


@pytest.mark.parametrize(
    "kwargs,match", [({"image_size": 100}, "power of 2"), ({"norm": "layer"}, "norm='layer'")]
)
def test_unet_bad_arguments_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        models.build_unet_generator(**kwargs)


def test_patchgan_matches_tf_tutorial_and_junyanz():
    d = models.build_patchgan_discriminator()
    assert d.count_params() == 2_770_433
    x = (1, 256, 256, 3)  # traced through every layer symbolically, not run (GFLOPs)
    assert d.compute_output_shape([x, x]) == (1, 30, 30, 1)
    cyc = models.build_patchgan_discriminator(conditional=False, norm="instance")
    assert cyc.count_params() == 2_764_737
    assert cyc(np.zeros((1, 64, 64, 3), "float32")).shape == (1, 6, 6, 1)
