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
    # No InceptionV3 weights (FID/KID): an empty Keras cache and no download, as offline.
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    monkeypatch.setattr("gan_lab.inception.INCEPTION_URL", "http://127.0.0.1:9/inception.h5")


@pytest.fixture(autouse=True)
def _float32_policy_after_each_test():
    """Tests that train through the CLI set the precision ("auto": bf16 on CPUs that have
    it); the next test starts from Keras' float32 default again."""
    yield
    import keras

    keras.mixed_precision.set_global_policy("float32")


def write_run(root, model, quick=True, **changes):
    """A run folder as ``gan-lab train`` leaves it, without training: ``run.json`` (quick
    mode unless ``quick=False``, float32, plus ``changes``) and a checkpoint (step 0) of the
    untrained models. For tests of commands that only read a run (translate, export,
    sample, --resume checks)."""
    from gan_lab import recipes, runs, training

    config = recipes.defaults(model, quick, precision="float32", **changes)
    run = root / f"run_{model}"
    run.mkdir(parents=True)
    runs.write_run(run, config)
    experiment = recipes.build(config)
    cadences = {"sample_every": 1, "log_every": 1, "checkpoint_every": 1}
    training.Trainer(experiment.train_step, run, experiment.trackables, **cadences).save()
    return run


# Small but real settings: the U-Net needs a power of 2 and a depth that fits it.
SMALL = {
    "toy": {},
    "dcgan": {},
    "pix2pix": {"image_size": 32, "base_filters": 8, "max_filters": 16},
    "cyclegan": {"image_size": 32, "base_filters": 8, "n_blocks": 1},
}


@pytest.fixture
def untrained_run(tmp_path):
    """``untrained_run("pix2pix")``: a hand-written run folder of small untrained models."""
    return lambda model, **changes: write_run(tmp_path, model, **{**SMALL[model], **changes})


@pytest.fixture
def tiny_gan():
    """``tiny_gan(seed=0) -> (train_step, parts)``: a small DCGAN (latent 8, width 4), its
    Adam optimizers and ``steps.make_gan_step``; ``parts`` by checkpoint name."""

    def make(seed=0):
        import keras

        from gan_lab import models, steps

        keras.utils.set_random_seed(seed)
        g = models.build_dcgan_generator(latent_dim=8, width=4)
        d = models.build_dcgan_discriminator(width=4)
        g_opt, d_opt = keras.optimizers.Adam(1e-3), keras.optimizers.Adam(1e-3)
        step = steps.make_gan_step(g, d, g_opt, d_opt)
        parts = {"generator": g, "discriminator": d, "g_optimizer": g_opt, "d_optimizer": d_opt}
        return step, parts

    return make


@pytest.fixture
def tiny_batches():
    """``tiny_batches(n=32, batch=8)``: ``data.IndexedBatches`` of synthetic digits."""

    def make(n=32, batch=8):
        from gan_lab import data

        x, _ = data.synthetic_digits(n, seed=0)
        return data.to_dataset(x, batch, seed=0)

    return make
