import os

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@pytest.fixture(autouse=True)
def _isolated_roots(tmp_path, monkeypatch):
    """Every test writes under its own tmp folder and never downloads by accident."""
    monkeypatch.setenv("GAN_LAB_OUTPUT_DIR", str(tmp_path / "outputs"))
    monkeypatch.setenv("GAN_LAB_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("GAN_LAB_QUICK", raising=False)
    # A closed local port: downloads fail at once, as on an offline machine.
    monkeypatch.setattr("gan_lab.data.digits.MNIST_URL", "http://127.0.0.1:9/mnist.npz")


@pytest.fixture(autouse=True)
def _float32_policy_after_each_test():
    """Tests that train through the CLI set the precision ("auto": bf16 on CPUs that have
    it); the next test starts from Keras' float32 default again."""
    yield
    import keras

    keras.mixed_precision.set_global_policy("float32")
