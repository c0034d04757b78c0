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

from gan_lab import __version__, data, errors, metrics, models, runtime, steps, training, viz

MODELS = ("toy", "dcgan", "pix2pix", "cyclegan")
RUN_FILE = "run.json"
RING_STD = 0.02  # the ring of 8 Gaussians of lesson 1
QUICK_DCGAN_STEPS = 300  # fits `make demo` in 3 min on a 2-core AVX2 CPU (lesson 2)


def defaults(model: str, quick: bool, **changes) -> dict:
    """A lesson's settings in quick or full mode: the one definition that the notebook (its
    parameters cell calls this), ``gan-lab train`` and the tests all use.

    Args:
        model: ``"toy"`` (lesson 1), ``"dcgan"``, ``"cyclegan"`` or ``"pix2pix"``.
        quick: quick mode (small synthetic data, short runs) or full mode (real data).
        **changes: new values for any of the settings, e.g. ``steps=3000``.

    Raises:
        ValueError: an unknown model, or a change to a setting the lesson does not have.
    """
    settings = _defaults(model, quick)
    unknown = sorted(set(changes) - set(settings))
    if unknown:
        raise ValueError(
            f"{model} has no setting {', '.join(unknown)}. Its settings: {', '.join(settings)}"
        )
    return {**settings, **changes}


def _defaults(model: str, quick: bool) -> dict:
    if model not in MODELS:
        raise ValueError(f"model must be one of {', '.join(MODELS)}. Received: {model!r}")
    common = {"model": model, "quick": quick, "precision": "auto", "data_dir": None}
    common.update(seed=0, frames=20, epochs=None, image_size=None)
    if model == "toy":  # lesson 1
        return {
            **common,
            # The 1-D Gaussian and the two bumps: 32x32 MLPs, Adam(learning_rate_1d, 0.5).
            "latent_dim_1d": 8,
            "steps_gaussian": 1000 if quick else 4000,
            "steps_mixture": 1500 if quick else 8000,
            "learning_rate_1d": 1e-3,
            "steps_compare": 400 if quick else 2000,  # simultaneous vs alternating steps
            # The ring of 8 Gaussians: 128x128 MLPs, 2-D noise. `steps` generator updates
            # for each of TOY_METHODS; `gan-lab train toy` trains `method` with `seed`.
            "method": "gan_fast_d",
            "steps": 1000 if quick else 10_000,
            "batch_size": 256,
            "latent_dim": 2,
            "ring_seeds": [0] if quick else [0, 1, 2],
            "snapshots": 5,  # coverage measured this many times during training
            "learning_rate": 1e-4,  # G's in all three; D's in "gan" and "wgan_gp"
            "fast_d_learning_rate": 1e-3,  # D's in "gan_fast_d"
            "beta_1": 0.5,  # the plain GANs' Adam (DCGAN's beta_1; beta_2 0.999)
            "wgan_beta_1": 0.0,  # WGAN-GP's Adam: Gulrajani et al., Algorithm 1
            "wgan_beta_2": 0.9,
            "gp_weight": 10.0,
            "n_critic": 5,
        }
    if model == "dcgan":  # the DCGAN paper's Adam settings; see lesson 2's table
        return {
            **common,
            "seed": 42,
            "image_size": 28,
            "steps": QUICK_DCGAN_STEPS if quick else None,  # quick mode counts steps,
            "epochs": None if quick else 50,  # full mode epochs of 60,000 digits
            "batch_size": 64,
            "learning_rate": 2e-4,
            "beta_1": 0.5,
            "latent_dim": 100,
            "frames": 10 if quick else 20,
            "judge_epochs": 5,  # epochs of the digit classifier that scores the result
            "eval_samples": 1000 if quick else 10_000,  # generated digits it scores
        }
    size = 64 if quick else 256
    paired = {
        "image_size": size,
        "base_filters": 32 if quick else 64,
    }
    if model == "pix2pix":  # the paper's networks and Adam; quick mode: slimmer and shorter
        return {
            **common,
            **paired,
            "max_filters": 256 if quick else 512,
            "batch_size": 4 if quick else 1,  # the paper: 1 for the facades
            "steps": 400 if quick else 40_000,  # full: the TF tutorial's 100 epochs of 400
            "lambda_l1": 100.0,
            "learning_rate": 2e-4,
            "beta_1": 0.5,
            "l1_ablation": True,  # lesson 4 also trains an L1-only generator (the CLI does not)
        }
    return {  # lesson 3: the paper's recipe; quick mode: small networks, short run
        **common,
        "image_size": 32 if quick else 256,
        "generator": "resnet",  # "resnet" (the paper) or "unet" (Keras-GAN's lighter U-Net)
        "base_filters": 16 if quick else 64,  # ngf = ndf (64 in the paper)
        "n_blocks": 3 if quick else None,  # None: 9 at 256 px, 6 below (the paper)
        "batch_size": 1,
        "steps": 300 if quick else None,  # quick mode counts steps,
        "epochs": None if quick else 200,  # full mode: 100 constant + 100 decaying
        "learning_rate": 2e-4,  # Adam, all four networks
        "beta_1": 0.5,
        "adversarial": "lsgan",  # "lsgan" (the paper) or "bce"
        "lambda_cycle": 10.0,
        "lambda_identity": 0.5,  # as a fraction of lambda_cycle
        "pool_size": 50,
        "frames": 10 if quick else 20,
        "classifier_epochs": 5 if quick else 10,  # of the apple-vs-orange judge of the result
    }


def read_run(run_dir: str | Path, expect: str | None = None) -> dict:
    """The settings of a run folder (its ``run.json``).

    Raises:
        RunError: ``run_dir`` is not a gan_lab run folder, or trained another model than
            ``expect``.
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise errors.RunError(f"Run folder {run_dir} does not exist (or is a file).")
    path = run_dir / RUN_FILE
    if not path.is_file():
        raise errors.RunError(
            f"{run_dir} is not a gan_lab run folder: it has no {RUN_FILE}. Give a folder that "
            "`gan-lab train` wrote (its path is printed at the end of training)."
        )
    try:
        config = json.loads(path.read_text())
        model = config["model"]
    except (json.JSONDecodeError, KeyError, TypeError) as e:
        raise errors.RunError(
            f"{path} is damaged ({e}); it cannot say which model was trained."
        ) from e
    if expect is not None and model not in (expect if isinstance(expect, tuple) else (expect,)):
        raise errors.RunError(
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


TOY_METHODS = {  # the ring contenders of lesson 1: name -> label
    "gan": "plain GAN, equal learning rates",
    "gan_fast_d": "plain GAN, D learning rate x10",
    "wgan_gp": "WGAN-GP",
}
RING_SAMPLES = 2500  # samples judged per generator (VEEGAN's protocol)


def ring_coverage(generator: keras.Model, seed: int) -> dict:
    """Lesson 1's final number: ``metrics.mode_coverage`` of ``RING_SAMPLES`` samples of
    ``generator`` on the ring of 8 Gaussians, from noise fixed by ``seed`` (NumPy's, so
    the same noise whatever TensorFlow drew before). The notebook and ``gan-lab train
    toy`` (summary.json) both call this.

    Returns:
        ``{"modes", "high_quality", "per_mode", "samples"}``: covered modes (of 8), share
        of high-quality samples, high-quality samples per mode, and the samples judged.
    """
    noise = np.random.default_rng(seed).standard_normal((RING_SAMPLES, generator.input_shape[-1]))
    samples = np.asarray(generator(noise.astype(np.float32), training=False), np.float32)
    return {**metrics.mode_coverage(samples, data.ring_centers(), RING_STD), "samples": samples}


def _toy(c: dict, with_data: bool) -> Experiment:
    c = {**_defaults("toy", bool(c.get("quick"))), **c}  # run.json of older versions
    method = c["method"]
    if method not in TOY_METHODS:
        raise ValueError(f"method must be one of {', '.join(TOY_METHODS)}. Received: {method!r}")
    g = models.build_mlp(c["latent_dim"], 2, hidden=(128, 128), name="generator")
    d = models.build_mlp(
        2, 1, hidden=(128, 128), name="critic" if method == "wgan_gp" else "discriminator"
    )
    lr = c["learning_rate"]
    if method == "wgan_gp":
        betas = {"beta_1": c["wgan_beta_1"], "beta_2": c["wgan_beta_2"]}
        g_opt, d_opt = keras.optimizers.Adam(lr, **betas), keras.optimizers.Adam(lr, **betas)
        step = steps.make_wgan_gp_step(
            g, d, g_opt, d_opt, gp_weight=c["gp_weight"], n_critic=c["n_critic"]
        )
    else:
        d_lr = c["fast_d_learning_rate"] if method == "gan_fast_d" else lr
        g_opt = keras.optimizers.Adam(lr, beta_1=c["beta_1"])
        d_opt = keras.optimizers.Adam(d_lr, beta_1=c["beta_1"])
        step = steps.make_gan_step(g, d, g_opt, d_opt)
    centers = data.ring_centers()

    def sample_fn():  # figure_to_array closes the figure
        samples = ring_coverage(g, c["seed"])["samples"]
        return viz.figure_to_array(viz.plot_ring(samples, centers, "generated (blue)"))

    def evaluate():
        coverage = ring_coverage(g, c["seed"])
        return {
            "modes_covered": coverage["modes"],
            "of_modes": len(centers),
            "high_quality": round(coverage["high_quality"], 4),
        }

    return Experiment(
        c,
        _gan_parts(g, d, g_opt, d_opt),
        step,
        f"{TOY_METHODS[method]} on a ring of 8 Gaussians (toy data)",
        {"generator": g},
        sample_fn,
        _toy_data(c) if with_data else None,
        False,
        evaluate,
    )


def _toy_data(c: dict):
    """The ring's batches; for the plain GANs with their noise (``data.toy_dataset``), so a
    run does not depend on how a strategy splits its batches. WGAN-GP draws its own noise
    (``n_critic`` draws a step), different on each replica."""
    noise = None if c["method"] == "wgan_gp" else c["latent_dim"]
    return data.toy_dataset("ring", batch_size=c["batch_size"], seed=c["seed"], noise_dim=noise)


def _dcgan(c: dict, with_data: bool) -> Experiment:
    if c["image_size"] not in (None, 28):
        raise errors.UsageError(
            f"dcgan trains on 28x28 digits; --image-size {c['image_size']} is not 28."
        )
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
        digits = data.load_digits("train", quick=c["quick"], data_dir=c["data_dir"], seed=c["seed"])
        experiment.dataset = data.to_dataset(  # with the noise: independent of the split
            digits.images, c["batch_size"], seed=c["seed"], noise_dim=c["latent_dim"]
        )
        experiment.synthetic = digits.synthetic
        experiment.title = f"DCGAN on {'SYNTHETIC digits' if digits.synthetic else 'MNIST'}"

        def evaluate():  # lesson 2's number, exactly as the notebook computes it
            test = data.load_digits(
                "test", quick=c["quick"], data_dir=c["data_dir"], seed=c["seed"]
            )
            return dcgan_scores(g, c, digits, test)[0]

        experiment.evaluate = evaluate
    return experiment


def dcgan_samples(generator: keras.Model, c: dict) -> np.ndarray:
    """The ``eval_samples`` digits lesson 2 scores: ``generator`` (inference mode) on noise
    seeded by ``seed + 1``, as (n, 28, 28, 1) float32 in [-1, 1]."""
    z = tf.random.normal([c["eval_samples"], c["latent_dim"]], seed=c["seed"] + 1)
    return np.asarray(generator.predict(z, verbose=0, batch_size=500), np.float32)


def dcgan_scores(generator: keras.Model, c: dict, train, test) -> tuple[dict, keras.Model]:
    """Lesson 2's final number, for the notebook and ``gan-lab train`` (summary.json) alike.

    Trains the judge (``metrics.train_digit_classifier``, ``judge_epochs`` epochs, seeded
    by ``seed``) on the labelled training digits ``train``, and scores ``dcgan_samples``
    against the test digits ``test`` with ``metrics.digit_scores`` (confident share and
    Fréchet distance on the judge's features, with the real-vs-real floor), and, as the
    reference a trained generator must beat, a freshly built untrained generator's.

    Returns:
        ``(scores, judge)``: the scores dict (``metrics.digit_scores``'s keys, plus
        ``confident_share_untrained`` and ``frechet_untrained``) and the trained classifier.
    """
    judge, _ = metrics.train_digit_classifier(
        train.images, train.labels, epochs=c["judge_epochs"], seed=c["seed"]
    )
    scores = metrics.digit_scores(judge, dcgan_samples(generator, c), test.images)
    untrained = models.build_dcgan_generator(latent_dim=c["latent_dim"])
    baseline = metrics.digit_scores(judge, dcgan_samples(untrained, c), test.images)
    scores["confident_share_untrained"] = baseline["confident_share_generated"]
    scores["frechet_untrained"] = baseline["frechet_generated"]
    return scores, judge


def _pix2pix(c: dict, with_data: bool) -> Experiment:
    size = c["image_size"]
    g = models.build_unet_generator(
        size, base_filters=c["base_filters"], max_filters=c["max_filters"]
    )
    d = models.build_patchgan_discriminator(base_filters=c["base_filters"])
    g_opt = training.adam(c["learning_rate"], beta_1=c["beta_1"])
    d_opt = training.adam(c["learning_rate"], beta_1=c["beta_1"])
    experiment = Experiment(
        c,
        _gan_parts(g, d, g_opt, d_opt),
        steps.make_pix2pix_step(g, d, g_opt, d_opt, l1_weight=c["lambda_l1"]),
        "Pix2Pix",
        {"generator": g},
        lambda: np.zeros((size, size, 3), np.uint8),
    )
    if with_data:
        train = data.load_facades(
            "train", size, quick=c["quick"], data_dir=c["data_dir"], seed=c["seed"]
        )
        test = data.load_facades(
            "test", size, quick=c["quick"], data_dir=c["data_dir"], seed=c["seed"]
        )
        experiment.dataset = data.pair_dataset(train, c["batch_size"], seed=c["seed"])
        experiment.synthetic = train.synthetic
        experiment.title = f"Pix2Pix on {'SYNTHETIC facades' if train.synthetic else 'CMP facades'}"
        x, y = data.normalize(test.inputs), data.normalize(test.targets)
        scale = max(1, 192 // size)

        def sample_fn():  # side-effect free: frames do not change training
            out = models.pix2pix_translate(g, x[:2])
            return viz.image_grid(np.concatenate([x[:2], out, y[:2]]), ncols=2, scale=scale)

        def evaluate():  # lesson 4's numbers, computed as the notebook does
            fake = models.pix2pix_translate(g, x)
            return {**pix2pix_scores(g, test), **inception_report(test.targets, fake, c["quick"])}

        experiment.sample_fn, experiment.evaluate = sample_fn, evaluate
    return experiment


def pix2pix_scores(generator: keras.Model, test: data.PairSet) -> dict[str, float]:
    """Lesson 4's number: L1, PSNR and SSIM of the generator's photos against the real
    ones of the test split (``metrics.image_scores``, on the [0, 1] scale), under the
    paper's inference protocol (``models.pix2pix_translate``: each image alone, batch
    statistics of that image, dropout on, fixed dropout seed). The notebook and
    ``gan-lab train``'s summary (``summary.json``) both call this."""
    x, y = data.normalize(test.inputs), data.normalize(test.targets)
    return metrics.image_scores(models.pix2pix_translate(generator, x), y)


def inception_report(real_images, fake_images, quick: bool) -> dict:
    """FID and KID on InceptionV3 features (``metrics.inception_scores``), the numbers papers
    report, when Keras' ImageNet weights are at hand (downloaded in full mode only; quick mode
    uses them if they are already cached). Without them, ``fid`` and ``kid`` are None and
    ``inception_missing`` says which file to place where; random weights are never used.
    Lessons 3 and 4 and ``gan-lab train`` (``summary.json``) call this."""
    try:
        extractor = metrics.build_inception(download_missing=not quick)
    except errors.DatasetNotFoundError as e:
        return {"fid": None, "kid": None, "inception_missing": str(e)}
    scores = metrics.inception_scores(real_images, fake_images, extractor, progress=False)
    return {key: scores[key] for key in ("fid", "kid", "kid_std", "kid_subset_size")}


def cyclegan_inception(c: dict, g: keras.Model, f: keras.Model, test) -> dict:
    """Lesson 3's FID and KID (``inception_report``) in both directions: G(test apples)
    against the real test oranges (``*_apples_to_oranges``) and F(test oranges) against the
    real test apples (``*_oranges_to_apples``); or ``inception_missing`` without the weights."""
    x, y = data.normalize(test.a), data.normalize(test.b)
    scores = {}
    for direction, real, fake in [
        ("apples_to_oranges", test.b, infer(c, g, x)),
        ("oranges_to_apples", test.a, infer(c, f, y)),
    ]:
        report = inception_report(real, fake, c["quick"])
        if report["fid"] is None:
            return {"inception_missing": report["inception_missing"]}
        scores.update({f"{key}_{direction}": value for key, value in report.items()})
    return scores


def cyclegan_networks(c: dict) -> dict[str, keras.Model]:
    """CycleGAN's four networks for lesson 3's settings ``c``: ``{"g": G (X -> Y), "f": F
    (Y -> X), "d_x": D_X (real x or F(y)?), "d_y": D_Y (real y or G(x)?)}``.

    Generators: the paper's ResNet (``models.build_resnet_generator``, ``n_blocks`` or 9
    at 256 px and 6 below) or, with ``generator="unet"``, the lighter U-Net of Keras-GAN's
    CycleGAN (4 levels, instance norm, no dropout). Discriminators: 70x70 PatchGANs on
    single images with instance norm (junyanz ``basic``). The notebook and ``gan-lab``
    build them with this function."""
    if c.get("generator", "resnet") == "resnet":

        def generator(name):
            return models.build_resnet_generator(
                base_filters=c["base_filters"], n_blocks=_resnet_blocks(c), name=name
            )
    elif c["generator"] == "unet":

        def generator(name):
            return models.build_unet_generator(
                c["image_size"],
                base_filters=c["base_filters"],
                max_filters=8 * c["base_filters"],
                depth=4,
                norm="instance",
                dropout=0.0,
                name=name,
            )
    else:
        raise ValueError(f'generator must be "resnet" or "unet". Received: {c["generator"]!r}')

    def discriminator(name):
        return models.build_patchgan_discriminator(
            conditional=False, norm="instance", base_filters=c["base_filters"], name=name
        )

    return {
        "g": generator("G_apples_to_oranges"),
        "f": generator("F_oranges_to_apples"),
        "d_x": discriminator("D_X"),
        "d_y": discriminator("D_Y"),
    }


def _cyclegan(c: dict, with_data: bool) -> Experiment:
    size = c["image_size"]
    nets = cyclegan_networks(c)
    g, f, d_x, d_y = nets["g"], nets["f"], nets["d_x"], nets["d_y"]
    train = test = None
    if with_data:
        train = data.load_apple2orange(
            "train", size, quick=c["quick"], data_dir=c["data_dir"], seed=c["seed"]
        )
        test = data.load_apple2orange(
            "test", size, quick=c["quick"], data_dir=c["data_dir"], seed=c["seed"]
        )
        dataset = data.unpaired_dataset(train.a, train.b, c["batch_size"], seed=c["seed"])
        total = total_steps(c, dataset)
    else:
        dataset, total = None, 2
    lr = c.get("learning_rate", 2e-4)
    schedule = training.LinearDecay(lr, total // 2, max(1, total - total // 2))
    optimizers = {
        k: training.adam(schedule, beta_1=c.get("beta_1", 0.5)) for k in ("g", "f", "d_x", "d_y")
    }
    pools = [training.ImagePool((size, size, 3), c["pool_size"]) for _ in range(2)]
    step = steps.make_cyclegan_step(
        g,
        f,
        d_x,
        d_y,
        optimizers,
        *pools,
        c["lambda_cycle"],
        c["lambda_identity"],
        c.get("adversarial", "lsgan"),
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

        def evaluate():  # lesson 3's numbers, computed as the notebook does
            classifier = metrics.train_domain_classifier(
                train.a, train.b, epochs=c.get("classifier_epochs", 10), seed=c["seed"]
            )
            scores = metrics.cyclegan_scores(g, f, test.a, test.b, classifier)
            return {**scores, **cyclegan_inception(c, g, f, test)}

        experiment.sample_fn, experiment.evaluate = sample_fn, evaluate
    return experiment


def _resnet_blocks(c: dict) -> int:
    return c["n_blocks"] or (9 if c["image_size"] >= 256 else 6)  # as in the paper


def portable(config: dict, generator: keras.Model) -> keras.Model:
    """``generator`` as a model of Keras' own layers only, for export: CycleGAN's ResNet
    is rebuilt with built-in reflection padding (same weights, same outputs); the other
    generators already are."""
    if config["model"] != "cyclegan" or config.get("generator", "resnet") != "resnet":
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


def infer(config: dict, generator: keras.Model, inputs) -> np.ndarray:
    """Run ``generator`` of a run of ``config`` in that lesson's inference protocol: Pix2Pix
    as the paper's test phase (``models.pix2pix_translate``), the others in inference mode
    (``training=False``: CycleGAN's instance norm and DCGAN's generator have no dropout, and
    DCGAN's batch norm uses its moving statistics)."""
    if config["model"] == "pix2pix":
        return models.pix2pix_translate(generator, inputs)
    batches = [generator(inputs[i : i + 32], training=False) for i in range(0, len(inputs), 32)]
    return np.concatenate([keras.ops.convert_to_numpy(b) for b in batches]).astype(np.float32)


EXPORT_TOLERANCE = 1e-4
"""Largest difference allowed between an exported generator and the trained one it was
made from, on outputs in [-1, 1]. Both hold the same float32 weights and do the same
convolutions; a rebuild may only change the order of additions (op fusion, another
padding layer), and a float32 sum of n terms of magnitude <= 1 moves by at most about
n * 2**-24: with n up to 4*4*1024 = 16,384 products per output (the widest U-Net
convolution) that is 1e-3 in the worst case and about sqrt(n) * 2**-24 = 1e-5 typically.
A wrong rebuild (a missing layer, padding or weight) moves outputs by 0.1 and more."""


def write_run(run_dir: Path, config: dict) -> None:
    """Record the settings of a run in ``run_dir/run.json`` (atomically)."""
    with runtime.atomic_path(run_dir / RUN_FILE) as tmp:
        tmp.write_text(json.dumps({**config, "gan_lab_version": __version__}, indent=2))


def restore_generators(run_dir: Path, config: dict) -> dict[str, keras.Model]:
    """Rebuild a run's generators (float32) and load their weights from its latest checkpoint.

    The global precision policy is left as it was.

    Raises:
        RunError: no complete checkpoint, or one that does not fit ``run.json``'s models.
    """
    with runtime.precision_policy("float32"):
        experiment = build(config, with_data=False)
    found = training.find_checkpoints(run_dir)
    if not found:
        raise errors.RunError(
            f"{run_dir} has no complete checkpoint yet (checkpoints/step_*/). Train it first, "
            "or resume it with `gan-lab train ... --resume`."
        )
    latest = found[-1]
    training.read_checkpoint(experiment.generators, latest)
    print(f"gan_lab: loaded {', '.join(experiment.generators)} from {latest}")
    return experiment.generators
