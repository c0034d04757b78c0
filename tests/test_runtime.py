import random

import numpy as np
import pytest
import tensorflow as tf

from gan_lab import runtime


@pytest.mark.parametrize("value,expected", [("1", True), ("true", True), ("0", False)])
def test_choose_quick_takes_a_bool_as_is_and_none_from_the_environment(
    monkeypatch, value, expected
):
    monkeypatch.setenv("GAN_LAB_QUICK", "1")
    assert runtime.choose_quick(False) is False and runtime.choose_quick(True) is True
    monkeypatch.setenv("GAN_LAB_QUICK", value)
    assert runtime.choose_quick(None) is expected


def test_choose_quick_without_a_gpu_says_it_chose_quick(monkeypatch, capsys):
    monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind=None: [])
    assert runtime.choose_quick(None) is True
    assert "No GPU found: quick mode (set QUICK = False" in capsys.readouterr().out
    monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind=None: ["GPU:0"])
    assert runtime.choose_quick(None) is False
    assert capsys.readouterr().out == ""


def test_choose_quick_rejects_garbage(monkeypatch):
    with pytest.raises(ValueError, match="QUICK='yes'"):
        runtime.choose_quick("yes")
    monkeypatch.setenv("GAN_LAB_QUICK", "maybe")
    with pytest.raises(ValueError, match="GAN_LAB_QUICK='maybe'"):
        runtime.choose_quick(None)


def test_seed_everything_repeats_all_generators():
    import keras

    def draw():
        return (
            random.random(),
            np.random.rand(),
            float(tf.random.uniform([])),
            float(tf.random.get_global_generator().normal([])),  # not set_random_seed's
            float(keras.random.normal([])),
        )

    runtime.seed_everything(7)
    first = draw()
    runtime.seed_everything(7)
    assert draw() == first
    with pytest.raises(ValueError, match="seed=-1"):
        runtime.seed_everything(-1)


def test_setup_seeds_sets_precision_and_returns_it(capsys):
    import keras

    try:
        used = runtime.setup({"seed": 3, "precision": "mixed_bfloat16"})
        assert used == "mixed_bfloat16" == keras.config.dtype_policy().name
        first = float(tf.random.get_global_generator().normal([]))
        runtime.setup({"seed": 3, "precision": "float32", "deterministic": False})
        assert float(tf.random.get_global_generator().normal([])) == first
        assert "Precision: float32" in capsys.readouterr().out
    finally:
        keras.mixed_precision.set_global_policy("float32")


def test_new_run_dir_is_fresh_and_under_output_root(tmp_path):
    a, b = runtime.new_run_dir("dcgan"), runtime.new_run_dir("dcgan")
    assert a != b and a.is_dir() and b.is_dir()
    assert a.parent.parent == tmp_path / "outputs"
    elsewhere = runtime.new_run_dir("dcgan", root=tmp_path / "mine")
    assert elsewhere.parent.parent == tmp_path / "mine" and elsewhere.is_dir()


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

    from gan_lab import models

    try:
        assert runtime.set_precision("mixed_bfloat16") == "mixed_bfloat16"
        g = models.build_dcgan_generator(latent_dim=4, width=2)
        assert g.layers[1].compute_dtype == "bfloat16"  # the Dense layer computes in bf16
        assert g.output.dtype == "float32"  # the last activation stays float32
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


def test_auto_precision_is_the_default_precision(monkeypatch):
    import keras

    try:
        assert runtime.set_precision("auto") == runtime.default_precision()
        monkeypatch.setattr(runtime, "cpu_has_bf16", lambda: False)
        assert runtime.set_precision("auto") == "float32"  # a CPU without bf16 (and no GPU)
    finally:
        keras.mixed_precision.set_global_policy("float32")
