import random

import numpy as np
import pytest
import tensorflow as tf

from gan_lab import runtime


@pytest.mark.parametrize("value,expected", [("1", True), ("true", True), ("0", False), ("", False)])
def test_is_quick_reads_environment(monkeypatch, value, expected):
    monkeypatch.setenv("GAN_LAB_QUICK", value)
    assert runtime.is_quick() is expected


def test_is_quick_rejects_garbage(monkeypatch):
    monkeypatch.setenv("GAN_LAB_QUICK", "maybe")
    with pytest.raises(ValueError, match="GAN_LAB_QUICK='maybe'"):
        runtime.is_quick()


def test_seed_everything_repeats_all_generators():
    def draw():
        return random.random(), np.random.rand(), float(tf.random.uniform([]))

    runtime.seed_everything(7)
    first = draw()
    runtime.seed_everything(7)
    assert draw() == first


def test_new_run_dir_is_fresh_and_under_output_root(tmp_path):
    a, b = runtime.new_run_dir("dcgan"), runtime.new_run_dir("dcgan")
    assert a != b and a.is_dir() and b.is_dir()
    assert a.parent.parent == tmp_path / "outputs"


def test_output_root_that_is_a_file_is_refused(tmp_path, monkeypatch):
    blocker = tmp_path / "blocker"
    blocker.write_text("keep me")
    monkeypatch.setenv("GAN_LAB_OUTPUT_DIR", str(blocker))
    with pytest.raises(NotADirectoryError, match="blocker"):  # errors.NotAFolderError
        runtime.new_run_dir("dcgan")
    assert blocker.read_text() == "keep me"


def test_describe_device_warns_plainly_without_gpu(monkeypatch):
    monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind=None: [])
    report = runtime.describe_device()
    assert "WARNING" in report and "CPU" in report and "\n" not in report


def test_set_precision_sets_policy_and_rejects_unknown(monkeypatch):
    import keras

    from gan_lab import models, training

    try:
        assert runtime.set_precision("mixed_bfloat16") == "mixed_bfloat16"
        g = models.build_dcgan_generator(latent_dim=4, width=2)
        assert g.layers[1].compute_dtype == "bfloat16"  # the Dense layer computes in bf16
        assert g.output.dtype == "float32"  # the last activation stays float32
        assert not isinstance(training.adam(), keras.optimizers.LossScaleOptimizer)
        runtime.set_precision("mixed_float16")
        assert isinstance(training.adam(), keras.optimizers.LossScaleOptimizer)
        monkeypatch.setenv("GAN_LAB_PRECISION", "float32")
        assert runtime.set_precision() == "float32"
        assert runtime.set_precision("auto") in runtime.PRECISIONS
        with pytest.raises(ValueError, match="precision='float64'"):
            runtime.set_precision("float64")
    finally:
        keras.mixed_precision.set_global_policy("float32")


def test_instance_norm_stays_float32_under_mixed_precision():
    import keras

    from gan_lab import models

    try:
        runtime.set_precision("mixed_bfloat16")
        d = models.build_patchgan_discriminator(conditional=False, norm="instance", base_filters=4)
        norms = [layer for layer in d.layers if "group_normalization" in layer.name]
        assert norms and all(layer.compute_dtype == "float32" for layer in norms)
        assert d.output.dtype == "float32"
    finally:
        keras.mixed_precision.set_global_policy("float32")


def test_default_precision_is_auto(monkeypatch):
    import keras

    monkeypatch.delenv("GAN_LAB_PRECISION", raising=False)
    try:
        assert runtime.set_precision() == runtime.default_precision()
        monkeypatch.setattr(runtime, "_cpu_has_bf16", lambda: False)
        assert runtime.set_precision() == "float32"  # a CPU without bf16 (and no GPU here)
    finally:
        keras.mixed_precision.set_global_policy("float32")
