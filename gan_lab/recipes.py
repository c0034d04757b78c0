"""Each lesson's training set-up as a function of a settings dict, for the command line.

The defaults are the notebooks' (quick and full mode). A run folder records its settings
in ``run.json``, so ``gan-lab gif``, ``translate``, ``sample``, ``export`` and ``--resume``
rebuild exactly the models that run trained, and refuse a run of another kind.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from gan_lab import __version__, data, metrics, models, runtime, steps, training, viz

MODELS = ("toy", "dcgan", "pix2pix", "cyclegan")
RUN_FILE = "run.json"
RING_STD = 0.02  # the ring of 8 Gaussians of lesson 1


def defaults(model: str, quick: bool) -> dict:
    """The notebook's settings for ``model`` in quick or full mode."""
    if model not in MODELS:
        raise ValueError(f"model must be one of {', '.join(MODELS)}. Received: {model!r}")
    common = {"model": model, "quick": quick, "precision": "auto", "data_dir": None}
    common.update(seed=0, frames=20, epochs=None, image_size=None)
    if model == "toy":  # lesson 1's ring of 8 Gaussians, plain GAN
        return {**common, "steps": 4000 if quick else 10_000, "batch_size": 256, "latent_dim": 2}
    if model == "dcgan":
        return {
            **common,
            "seed": 42,
            "image_size": 28,
            "steps": 1200 if quick else None,
            "epochs": None if quick else 50,
            "batch_size": 64 if quick else 256,
            "learning_rate": 2e-4 if quick else 1e-4,
            "beta_1": 0.5 if quick else 0.9,
            "latent_dim": 100,
        }
    size = 64 if quick else 256
    paired = {
        "image_size": size,
        "base_filters": 32 if quick else 64,
    }
    if model == "pix2pix":
        return {
            **common,
            **paired,
            "max_filters": 256 if quick else 512,
            "batch_size": 4 if quick else 1,
            "steps": 600 if quick else 40_000,
            "lambda_l1": 100.0,
        }
    return {
        **common,
        **paired,
        "batch_size": 1,
        "steps": 600 if quick else None,
        "epochs": None if quick else 200,
        "n_blocks": None,  # 9 at 256 px, 6 below (the paper)
        "lambda_cycle": 10.0,
        "lambda_identity": 0.5,
        "pool_size": 50,
    }


def read_run(run_dir: str | Path, expect: str | None = None) -> dict:
    """The settings of a run folder (its ``run.json``).

    Raises:
        FileNotFoundError: ``run_dir`` is not a gan_lab run folder.
        ValueError: the run trained another model than ``expect``.
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise FileNotFoundError(f"Run folder {run_dir} does not exist (or is a file).")
    path = run_dir / RUN_FILE
    if not path.is_file():
        raise FileNotFoundError(
            f"{run_dir} is not a gan_lab run folder: it has no {RUN_FILE}. Give a folder that "
            "`gan-lab train` wrote (its path is printed at the end of training)."
        )
    try:
        config = json.loads(path.read_text())
        model = config["model"]
    except (json.JSONDecodeError, KeyError, TypeError) as e:
        raise ValueError(f"{path} is damaged ({e}); it cannot say which model was trained.") from e
    if expect is not None and model not in (expect if isinstance(expect, tuple) else (expect,)):
        raise ValueError(
            f"{run_dir} is a {model} run, but this command needs a "
            f"{' or '.join(expect) if isinstance(expect, tuple) else expect} run."
        )
    return config


@dataclass
class Experiment:
    """Everything the command line needs to train, evaluate and use one model."""

    config: dict
    trackables: dict
    step: Callable
    title: str
    generators: dict[str, keras.Model]  # what export/translate/sample use, by name
    sample_fn: Callable[[], np.ndarray]
    dataset: tf.data.Dataset | None = None
    synthetic: bool = False
    evaluate: Callable[[], dict] = field(default=lambda: {})


def build(config: dict, with_data: bool = True) -> Experiment:
    """Build the models, optimizers and step of ``config`` (and its data, if asked)."""
    return {"toy": _toy, "dcgan": _dcgan, "pix2pix": _pix2pix, "cyclegan": _cyclegan}[
        config["model"]
    ](config, with_data)


def total_steps(config: dict, dataset) -> int:
    """Steps to train: ``steps``, or ``epochs`` times the batches per epoch."""
    if config.get("steps"):
        return int(config["steps"])
    return int(config["epochs"]) * int(dataset.cardinality())


def _gan_parts(g, d, g_opt, d_opt) -> dict:
    return {"generator": g, "discriminator": d, "g_optimizer": g_opt, "d_optimizer": d_opt}


def _toy(c: dict, with_data: bool) -> Experiment:
    g = models.build_mlp(c["latent_dim"], 2, hidden=(128, 128), name="generator")
    d = models.build_mlp(2, 1, hidden=(128, 128), name="discriminator")
    g_opt, d_opt = keras.optimizers.Adam(1e-4, beta_1=0.5), keras.optimizers.Adam(1e-3, beta_1=0.5)
    noise = tf.random.normal([2500, c["latent_dim"]], seed=c["seed"])
    centers = data.ring_centers()

    def sample_fn():  # figure_to_array closes the figure
        samples = g(noise, training=False).numpy()
        return viz.figure_to_array(viz.plot_ring(samples, centers, "generated (blue)"))

    def evaluate():
        coverage = metrics.mode_coverage(g(noise, training=False).numpy(), centers, RING_STD)
        return {
            "modes_covered": coverage["modes"],
            "of_modes": len(centers),
            "high_quality": round(coverage["high_quality"], 4),
        }

    return Experiment(
        c,
        _gan_parts(g, d, g_opt, d_opt),
        steps.make_gan_step(g, d, g_opt, d_opt),
        "GAN on a ring of 8 Gaussians (toy data)",
        {"generator": g},
        sample_fn,
        data.toy_dataset("ring", batch_size=c["batch_size"], seed=c["seed"]) if with_data else None,
        False,
        evaluate,
    )


def _dcgan(c: dict, with_data: bool) -> Experiment:
    if c["image_size"] not in (None, 28):
        raise ValueError(f"dcgan trains on 28x28 digits; --image-size {c['image_size']} is not 28.")
    g = models.build_dcgan_generator(latent_dim=c["latent_dim"])
    d = models.build_dcgan_discriminator()
    g_opt = training.adam(c["learning_rate"], beta_1=c["beta_1"])
    d_opt = training.adam(c["learning_rate"], beta_1=c["beta_1"])
    fixed = tf.random.normal([16, c["latent_dim"]], seed=c["seed"])
    experiment = Experiment(
        c,
        _gan_parts(g, d, g_opt, d_opt),
        steps.make_gan_step(g, d, g_opt, d_opt),
        "DCGAN",
        {"generator": g},
        lambda: viz.image_grid(g(fixed, training=False), ncols=4, scale=3),
    )
    if with_data:
        digits = data.load_digits("train", data_dir=c["data_dir"], seed=c["seed"])
        experiment.dataset = data.to_dataset(digits.images, c["batch_size"], seed=c["seed"])
        experiment.synthetic = digits.synthetic
        experiment.title = f"DCGAN on {'SYNTHETIC digits' if digits.synthetic else 'MNIST'}"

        def evaluate():  # lesson 2's number: digits a classifier recognises confidently
            classifier, (held_x, _) = metrics.train_digit_classifier(
                digits.images, digits.labels, epochs=5, seed=c["seed"]
            )
            z = tf.random.normal([2000, c["latent_dim"]], seed=c["seed"] + 1)
            fake = g.predict(z, verbose=0, batch_size=500)
            return {
                "confident_share_generated": metrics.confident_share(
                    classifier.predict(fake, verbose=0)
                ),
                "confident_share_real": metrics.confident_share(
                    classifier.predict(data.normalize(held_x), verbose=0)
                ),
            }

        experiment.evaluate = evaluate
    return experiment


def _pix2pix(c: dict, with_data: bool) -> Experiment:
    size = c["image_size"]
    g = models.build_unet_generator(
        size, base_filters=c["base_filters"], max_filters=c["max_filters"]
    )
    d = models.build_patchgan_discriminator(base_filters=c["base_filters"])
    g_opt, d_opt = training.adam(2e-4, beta_1=0.5), training.adam(2e-4, beta_1=0.5)
    experiment = Experiment(
        c,
        _gan_parts(g, d, g_opt, d_opt),
        steps.make_pix2pix_step(g, d, g_opt, d_opt, l1_weight=c["lambda_l1"]),
        "Pix2Pix",
        {"generator": g},
        lambda: np.zeros((size, size, 3), np.uint8),
    )
    if with_data:
        train = data.load_facades("train", size, data_dir=c["data_dir"], seed=c["seed"])
        test = data.load_facades("test", size, data_dir=c["data_dir"], seed=c["seed"])
        experiment.dataset = data.pair_dataset(train, c["batch_size"], seed=c["seed"])
        experiment.synthetic = train.synthetic
        experiment.title = f"Pix2Pix on {'SYNTHETIC facades' if train.synthetic else 'CMP facades'}"
        x, y = data.normalize(test.inputs), data.normalize(test.targets)
        scale = max(1, 192 // size)

        def sample_fn():
            out = g(x[:2], training=True)
            return viz.image_grid(np.concatenate([x[:2], out, y[:2]]), ncols=2, scale=scale)

        def evaluate():  # lesson 4's number: L1, PSNR, SSIM on the test split
            out = g.predict(x, verbose=0, batch_size=8) if len(x) else x
            return metrics.image_scores(out, y)

        experiment.sample_fn, experiment.evaluate = sample_fn, evaluate
    return experiment


def _cyclegan(c: dict, with_data: bool) -> Experiment:
    size = c["image_size"]
    n_blocks = _resnet_blocks(c)
    g = models.build_resnet_generator(
        base_filters=c["base_filters"], n_blocks=n_blocks, name="G_apples_to_oranges"
    )
    f = models.build_resnet_generator(
        base_filters=c["base_filters"], n_blocks=n_blocks, name="F_oranges_to_apples"
    )
    d_x = models.build_patchgan_discriminator(
        conditional=False, norm="instance", base_filters=c["base_filters"], name="D_X"
    )
    d_y = models.build_patchgan_discriminator(
        conditional=False, norm="instance", base_filters=c["base_filters"], name="D_Y"
    )
    train = test = None
    if with_data:
        train = data.load_apple2orange("train", size, data_dir=c["data_dir"], seed=c["seed"])
        test = data.load_apple2orange("test", size, data_dir=c["data_dir"], seed=c["seed"])
        dataset = data.unpaired_dataset(train.a, train.b, c["batch_size"], seed=c["seed"])
        total = total_steps(c, dataset)
    else:
        dataset, total = None, 2
    schedule = training.LinearDecay(2e-4, total // 2, max(1, total - total // 2))
    optimizers = {k: training.adam(schedule, beta_1=0.5) for k in ("g", "f", "d_x", "d_y")}
    pools = [training.ImagePool((size, size, 3), c["pool_size"]) for _ in range(2)]
    step = steps.make_cyclegan_step(
        g, f, d_x, d_y, optimizers, *pools, c["lambda_cycle"], c["lambda_identity"]
    )
    trackables = {"g": g, "f": f, "d_x": d_x, "d_y": d_y, "pool_x": pools[0], "pool_y": pools[1]}
    trackables.update({f"{k}_optimizer": v for k, v in optimizers.items()})
    experiment = Experiment(
        c,
        trackables,
        step,
        "CycleGAN",
        {"g": g, "f": f},
        lambda: np.zeros((size, size, 3), np.uint8),
        dataset,
    )
    if with_data:
        experiment.synthetic = train.synthetic
        kind = "SYNTHETIC fruit" if train.synthetic else "apple2orange"
        experiment.title = f"CycleGAN on {kind}"
        x, y = data.normalize(test.a), data.normalize(test.b)
        scale = max(1, 192 // size)

        def sample_fn():
            return viz.image_grid(
                np.concatenate([x[:2], g(x[:2]), y[:2], f(y[:2])]), ncols=2, scale=scale
            )

        def evaluate():  # lesson 3's reconstruction L1: |F(G(x)) - x|, |G(F(y)) - y|, [0, 1] scale
            back_x = f.predict(g.predict(x, verbose=0, batch_size=8), verbose=0, batch_size=8)
            back_y = g.predict(f.predict(y, verbose=0, batch_size=8), verbose=0, batch_size=8)
            error = np.mean(np.abs(back_x - x)) + np.mean(np.abs(back_y - y))
            return {"reconstruction_l1": float(error) / 4}  # mean of both, [-1, 1] -> [0, 1]

        experiment.sample_fn, experiment.evaluate = sample_fn, evaluate
    return experiment


def _resnet_blocks(c: dict) -> int:
    return c["n_blocks"] or (9 if c["image_size"] >= 256 else 6)  # as in the paper


def portable(config: dict, generator: keras.Model) -> keras.Model:
    """``generator`` as a model of Keras' own layers only, for export: CycleGAN's ResNet
    is rebuilt with built-in reflection padding (same weights, same outputs); the other
    generators already are."""
    if config["model"] != "cyclegan":
        return generator
    copy = models.build_resnet_generator(
        config["image_size"],
        base_filters=config["base_filters"],
        n_blocks=_resnet_blocks(config),
        name=generator.name,
        portable=True,
    )
    copy.set_weights(generator.get_weights())
    return copy


def write_run(run_dir: Path, config: dict) -> None:
    """Record the settings of a run in ``run_dir/run.json`` (atomically)."""
    with runtime.atomic_path(run_dir / RUN_FILE) as tmp:
        tmp.write_text(json.dumps({**config, "gan_lab_version": __version__}, indent=2))


def restore_generators(run_dir: Path, config: dict) -> dict[str, keras.Model]:
    """Rebuild a run's generators (float32) and load their weights from its latest checkpoint."""
    keras.mixed_precision.set_global_policy("float32")
    experiment = build(config, with_data=False)
    found = training.find_checkpoints(run_dir)
    if not found:
        raise FileNotFoundError(
            f"{run_dir} has no complete checkpoint yet (checkpoints/step_*/). Train it first, "
            "or resume it with `gan-lab train ... --resume`."
        )
    latest = found[-1]
    try:
        tf.train.Checkpoint(**experiment.generators).read(
            latest
        ).expect_partial().assert_existing_objects_matched()
    except (AssertionError, ValueError, tf.errors.OpError) as e:
        raise ValueError(
            f"Checkpoint {latest} does not match the models described by {run_dir}/run.json "
            f"(edited settings, or a checkpoint copied from another run?). Details: {e}"
        ) from e
    print(f"gan_lab: loaded {', '.join(experiment.generators)} from {latest}")
    return experiment.generators
