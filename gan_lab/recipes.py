"""Each lesson's settings, and its training set-up built from them.

``defaults(model, quick)`` is the one home of every lesson value (learning rates, loss
weights, sizes, run lengths): a notebook's parameters cell, ``gan-lab train`` and the tests
all start from it. ``build(settings)`` turns settings into an ``Experiment``: the
networks, optimizers, train step, training batches, progress frames and the lesson's final
numbers, ready for ``runs.train``.

TensorFlow is imported only when something is built, so ``gan-lab --help`` and the checks
of the settings answer at once.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from gan_lab import errors

if TYPE_CHECKING:
    import keras
    import numpy as np

MODELS = ("toy", "dcgan", "pix2pix", "cyclegan")
GENERATORS = {  # the networks a trained run is used through (export, translate, sample)
    "toy": ("generator",),
    "dcgan": ("generator",),
    "pix2pix": ("generator",),
    "cyclegan": ("g", "f"),
}
TOY_METHODS = {  # the ring contenders of lesson 1 (the same D budget): name -> label
    "gan": "plain GAN",
    "gan_gp": "plain GAN + gradient penalty",
    "wgan_gp": "WGAN-GP",
}
QUICK_DCGAN_STEPS = 300  # fits `make demo` in 3 min on a 2-core AVX2 CPU (lesson 2)
MNIST_SPLITS = {  # lesson 2's full-mode digits: mnist_split -> what trains and judges on what
    "train": "the GAN and the judge train on the 60,000 training digits, the judge scores "
    "against the 10,000 test digits",
    "test": "the GAN trains on the 10,000 test digits; the judge trains on one half of them "
    "and scores against the other (for a machine without the training split)",
}

EXPORT_TOLERANCE = 1e-4
"""Largest difference allowed between an exported generator and the trained one it was
made from, on outputs in [-1, 1]. Both hold the same float32 weights and do the same
convolutions; a rebuild may only change the order of additions (op fusion, another
padding layer), and a float32 sum of n terms of magnitude <= 1 moves by at most about
n * 2**-24: with n up to 4*4*1024 = 16,384 products per output (the widest U-Net
convolution) that is 1e-3 in the worst case and about sqrt(n) * 2**-24 = 1e-5 typically.
A wrong rebuild (a missing layer, padding or weight) moves outputs by 0.1 and more."""


# --------------------------------------------------------------------------- settings


def defaults(model: str, quick: bool, **changes) -> dict:
    """A lesson's settings in quick or full mode, with ``changes`` applied.

    Args:
        model: ``"toy"`` (lesson 1), ``"dcgan"`` (2), ``"pix2pix"`` (3) or ``"cyclegan"`` (4).
        quick: quick mode (small synthetic data, short runs) or full mode (real data).
        **changes: new values for any of the settings, e.g. ``steps=3000``.

    Returns:
        The settings as a dict of JSON values (``runs.write_run`` records them).

    Raises:
        UsageError: an unknown model, a setting the lesson does not have (the message lists
            those it has), or a value of the wrong type (e.g. text for a learning rate).
    """
    settings = _defaults(model, quick)
    unknown = sorted(set(changes) - set(settings))
    if unknown:
        raise errors.UsageError(
            f"{model} has no setting {', '.join(unknown)}. Its settings: {', '.join(settings)}"
        )
    for key, value in changes.items():
        _check_type(model, key, value)
    return {**settings, **changes}


def _check_type(model: str, key: str, value) -> None:
    """Refuse a value of another type than the setting's defaults (None is always allowed:
    it means "not used" or "derive it", as the defaults of the other mode show)."""
    if value is None:
        return
    examples = [_defaults(model, quick)[key] for quick in (True, False)]
    kinds = {type(v) for v in examples if v is not None} or {_UNSET_TYPES[key]}
    if float in kinds:
        kinds.add(int)  # learning_rate=1 is a float
    if isinstance(value, bool) != (bool in kinds) or not isinstance(value, tuple(kinds)):
        wanted = _TYPE_WORDS[float if float in kinds else next(iter(kinds))]
        raise errors.UsageError(f"{key} must be {wanted}. Received: {key}={value!r}")


_UNSET_TYPES = {"data_dir": str, "checkpoint_every": int, "epochs": int, "image_size": int}
"""The type of each setting that some lesson leaves None in both modes."""
_TYPE_WORDS = {bool: "true or false", int: "an integer", float: "a number", str: "text"}
_TYPE_WORDS[list] = "a list"


def _defaults(model: str, quick: bool) -> dict:
    lessons = {
        "toy": _toy_defaults,
        "dcgan": _dcgan_defaults,
        "pix2pix": _pix2pix_defaults,
        "cyclegan": _cyclegan_defaults,
    }
    if model not in lessons:
        raise errors.UsageError(f"model must be one of {', '.join(MODELS)}. Received: {model!r}")
    common = {
        "model": model,
        "quick": quick,
        "precision": "auto",  # or "float32", "mixed_bfloat16", "mixed_float16"
        "deterministic": False,  # TensorFlow's op determinism: exact resumes, a bit slower
        "data_dir": None,  # None: data/ (or GAN_LAB_DATA_DIR)
        "seed": 0,
        "frames": 20,  # progress frames in the GIF
        "checkpoint_every": None,  # None: runs.cadences' rule
        "epochs": None,
        "image_size": None,
    }
    return {**common, **lessons[model](quick)}


def _toy_defaults(quick: bool) -> dict:  # lesson 1
    return {
        # The 1-D Gaussian and the two bumps: 32x32 MLPs, Adam(learning_rate_1d, 0.5).
        "latent_dim_1d": 8,
        "steps_gaussian": 1000 if quick else 4000,
        "steps_mixture": 1500 if quick else 8000,
        "learning_rate_1d": 1e-3,
        "steps_compare": 400 if quick else 2000,  # simultaneous vs alternating steps
        # The ring of 8 Gaussians: 128x128 MLPs, 2-D noise. `steps` generator updates
        # for each of TOY_METHODS; `gan-lab train toy` trains `method` with `seed`. The
        # contenders differ only in their losses: the same strong discriminator budget
        # (d_steps updates per G update, each on its own real batch, at d_learning_rate)
        # and the same Adam for both networks.
        "precision": "float32",  # bfloat16 steps (2**-6 near 2) exceed the modes' std 0.02
        "frames": 10 if quick else 20,  # per GIF (each 1-D toy and each ring run)
        "method": "gan",
        "steps": 2000 if quick else 10_000,
        "batch_size": 256,
        "ring_samples": 20_000,  # training samples drawn from the ring
        "latent_dim": 2,
        "ring_seeds": [0] if quick else [0, 1, 2],
        "snapshots": 5,  # coverage measured this many times during training
        "learning_rate": 1e-4,  # G's
        "d_learning_rate": 1e-3,  # D's (WGAN-GP: the critic's), ten times G's
        "beta_1": 0.5,  # Adam of both networks: the WGAN-GP authors' gan_toy.py
        "beta_2": 0.9,  # (their paper's Algorithm 1: beta_1 = 0)
        "d_steps": 5,  # D updates per G update: Goodfellow's k, WGAN-GP's n_critic
        "gp_weight": 10.0,  # the penalty's lambda in gan_gp and wgan_gp (WGAN-GP's paper)
    }


def _dcgan_defaults(quick: bool) -> dict:  # lesson 2: the DCGAN paper's Adam; see its table
    return {
        "seed": 42,
        "image_size": 28,
        "steps": QUICK_DCGAN_STEPS if quick else None,  # quick mode counts steps,
        "epochs": None if quick else 50,  # full mode epochs of 60,000 digits
        "batch_size": 64,
        "learning_rate": 2e-4,
        "beta_1": 0.5,
        "beta_2": 0.999,
        "latent_dim": 100,
        "frames": 10 if quick else 20,
        "judge_epochs": 5,  # epochs of the digit classifier that scores the result
        "eval_samples": 1000 if quick else 10_000,  # generated digits it scores
        "mnist_split": "train",  # full mode's digits: one of MNIST_SPLITS (quick: unused)
        "conditional": False,  # True: G and D also get the digit's label (Mirza & Osindero)
        "synthetic_train": 2048,  # quick mode's synthetic digits (full mode: unused)
        "synthetic_test": 512,
    }


def _pix2pix_defaults(quick: bool) -> dict:  # lesson 3: the paper's networks and Adam
    return {
        "image_size": 64 if quick else 256,
        "base_filters": 32 if quick else 64,
        "max_filters": 256 if quick else 512,
        "batch_size": 1,  # the paper's, for training and for its batch-1 test protocol
        # full: the TF tutorial's 100 epochs of 400 pairs, about an hour on one GPU (the
        # paper's 200 epochs, 80,000 steps, took under two hours on a Titan X: section 4)
        "steps": 800 if quick else 40_000,
        "lambda_l1": 100.0,
        "lambda_gan": 1.0,  # 0: the paper's L1-only ablation
        "learning_rate": 2e-4,
        "beta_1": 0.5,
        "beta_2": 0.999,
        # the lesson also trains an L1-only generator (the CLI does not); in full mode that
        # doubles the run, so it is one setting away there
        "l1_ablation": quick,
        # the FCN-score's judge: a segmenter trained on the real training photos
        "segmenter_size": 64,  # px it reads at (larger photos are scaled down to it)
        "segmenter_epochs": 4 if quick else 10,
        "synthetic_train": 160,  # quick mode's synthetic pairs (full mode: unused)
        "synthetic_test": 40,
    }


def _cyclegan_defaults(quick: bool) -> dict:  # lesson 4: the paper's recipe
    return {
        "image_size": 32 if quick else 128,  # the paper: 256 (with epochs=200)
        "generator": "resnet",  # "resnet" (the paper) or "unet" (Keras-GAN's lighter U-Net)
        "base_filters": 16 if quick else 64,  # ngf = ndf (64 in the paper)
        "n_blocks": 3 if quick else None,  # None: 9 at 256 px, 6 below (the paper)
        "batch_size": 1,
        "steps": 300 if quick else None,  # quick mode counts steps,
        "epochs": None if quick else 20,  # half constant, half decaying (the paper: 200)
        "learning_rate": 2e-4,  # Adam, all four networks
        "beta_1": 0.5,
        "beta_2": 0.999,
        "adversarial": "lsgan",  # "lsgan" (the paper) or "bce"
        "lambda_cycle": 10.0,
        "lambda_identity": 0.5,  # as a fraction of lambda_cycle
        "pool_size": 50,
        "frames": 10 if quick else 20,
        "classifier_epochs": 5 if quick else 10,  # of the apple-vs-orange judge of the result
        "synthetic_train": 160,  # quick mode's synthetic fruit per domain (full mode: unused)
        "synthetic_test": 40,
    }


# --------------------------------------------------------------------------- experiments


@dataclass(frozen=True)
class Experiment:
    """One lesson's training set-up, built complete by ``build``.

    Attributes:
        config: the settings it was built from (``defaults``).
        title: what trains on what, e.g. ``"DCGAN on SYNTHETIC digits"`` (captions frames).
        networks: the models by role: ``"generator"`` and ``"discriminator"`` (WGAN-GP:
            ``"critic"``), or CycleGAN's ``"g"`` (G: X -> Y), ``"f"`` (F: Y -> X),
            ``"d_x"`` and ``"d_y"``.
        optimizers: one optimizer per network, by the network's role.
        train_step: ``train_step(batch) -> dict of scalar losses`` (``d_loss``, ``g_loss``
            and their parts).
        batches: the training batches (endless, a pure function of the batch number).
        total_steps: train steps in all: ``steps``, or ``epochs`` passes over the data.
        sample_fn: ``() -> uint8 image (h, w, 3)``: one progress frame; it changes no state.
        evaluate: ``() -> dict``: the lesson's final numbers, as ``summary.json`` records them.
        synthetic: whether the data is gan_lab's synthetic quick-mode data.
        state: what else a checkpoint holds to resume exactly: the image pools and the
            random generator of gan_lab's train step.
    """

    config: dict
    title: str
    networks: dict[str, keras.Model]
    optimizers: dict[str, Any]
    train_step: Callable[..., dict]
    batches: Any
    total_steps: int
    sample_fn: Callable[[], np.ndarray]
    evaluate: Callable[[], dict]
    synthetic: bool
    state: dict[str, Any] = field(default_factory=dict)

    @property
    def trackables(self) -> dict[str, Any]:
        """Everything a checkpoint holds, by the name it is saved under: the networks, their
        optimizers (``{role}_optimizer``) and ``state``. The same names for every train
        step, so a lesson's run folder and a ``gan-lab train`` run folder read alike."""
        optimizers = {f"{role}_optimizer": opt for role, opt in self.optimizers.items()}
        return {**self.networks, **optimizers, **self.state}

    @property
    def generators(self) -> dict[str, keras.Model]:
        """The networks the trained run is used through (``GENERATORS``), by role."""
        return {role: self.networks[role] for role in GENERATORS[self.config["model"]]}

    def with_train_step(self, train_step: Callable[..., dict]) -> Experiment:
        """This experiment with another train step, e.g. a lesson's own.

        The step must take the batches of ``batches`` (the same format as gan_lab's step:
        see ``build``) and train ``networks`` with ``optimizers``; it should return the
        same log keys. The checkpoint names stay the same, so ``gan-lab gif``, ``export``,
        ``translate``, ``sample`` and ``train --resume`` work on the run folder."""
        return dataclasses.replace(self, train_step=train_step)


def build(config: dict) -> Experiment:
    """The complete training set-up of ``config`` (``defaults``; ``runs.read_run``).

    Build it under the precision policy and, for several devices, inside the
    ``tf.distribute`` strategy's scope that training will use. Batches, per lesson:
    toy GANs ``(samples, noise)`` (WGAN-GP: ``n_critic`` batches of samples, stacked
    (batch, n_critic, 2); it draws its own noise), DCGAN ``(images, noise)``
    (conditional: ``(images, noise, labels)``), Pix2Pix ``(label maps, photos)``, CycleGAN
    ``(apples, oranges)``, all in [-1, 1].

    Raises:
        UsageError: a setting that cannot be built (a value out of range, a missing one).
        DatasetNotFoundError: full mode without the real dataset (and no way to download it).
    """
    if "model" not in config:
        raise errors.UsageError("The settings name no model; start from recipes.defaults(...).")
    missing = sorted(set(_defaults(config["model"], True)) - set(config))
    if missing:
        raise errors.UsageError(
            f"The settings lack {', '.join(missing)}; start from recipes.defaults(...)."
        )
    builders = {"toy": _toy, "dcgan": _dcgan, "pix2pix": _pix2pix, "cyclegan": _cyclegan}
    return builders[config["model"]](dict(config))


def networks(config: dict) -> dict[str, keras.Model]:
    """The untrained networks of ``config`` by role (see ``Experiment.networks``), without
    optimizers or data: what a checkpoint's generators are restored into."""
    builders = {
        "toy": _toy_networks,
        "dcgan": _dcgan_networks,
        "pix2pix": _pix2pix_networks,
        "cyclegan": cyclegan_networks,
    }
    return builders[config["model"]](config)


def total_steps(config: dict, batches) -> int:
    """Steps to train: ``steps``, or else ``epochs`` times the batches per epoch of
    ``batches`` (``data.IndexedBatches``).

    Raises:
        UsageError: neither ``steps`` nor ``epochs`` is set.
    """
    if config["steps"]:
        return int(config["steps"])
    if not config["epochs"]:
        raise errors.UsageError("Give steps or epochs (both are None in these settings).")
    return int(config["epochs"]) * int(batches.batches_per_epoch)


def _adam(c: dict, learning_rate=None, beta_1=None, beta_2=None):
    """``optim.adam`` with the settings' learning rate and betas (or those given)."""
    from gan_lab import optim

    return optim.adam(
        c["learning_rate"] if learning_rate is None else learning_rate,
        c["beta_1"] if beta_1 is None else beta_1,
        c["beta_2"] if beta_2 is None else beta_2,
    )


def _frame_scale(size: int) -> int:
    return max(1, 192 // size)  # frames about 192 px per image


# --------------------------------------------------------------------------- lesson 1: toy


def _toy_networks(c: dict) -> dict[str, keras.Model]:
    from gan_lab import models

    if c["method"] not in TOY_METHODS:
        raise errors.UsageError(
            f"method must be one of {', '.join(TOY_METHODS)}. Received: {c['method']!r}"
        )
    critic = c["method"] == "wgan_gp"
    return {
        "generator": models.build_mlp(c["latent_dim"], 2, hidden=(128, 128), name="generator"),
        ("critic" if critic else "discriminator"): models.build_mlp(
            2, 1, hidden=(128, 128), name="critic" if critic else "discriminator"
        ),
    }


def _toy(c: dict) -> Experiment:
    from gan_lab import data, evaluation, steps, viz

    nets = _toy_networks(c)
    g = nets["generator"]
    role = "critic" if c["method"] == "wgan_gp" else "discriminator"
    d = nets[role]
    optimizers = {"generator": _adam(c), role: _adam(c, c["d_learning_rate"])}
    if c["method"] == "wgan_gp":
        step = steps.make_wgan_gp_step(
            g,
            d,
            optimizers["generator"],
            optimizers[role],
            gp_weight=c["gp_weight"],
            n_critic=c["d_steps"],
        )
    else:
        gp_weight = c["gp_weight"] if c["method"] == "gan_gp" else 0.0
        step = steps.make_alternating_gan_step(
            g,
            d,
            optimizers["generator"],
            optimizers[role],
            d_steps=c["d_steps"],
            gp_weight=gp_weight,
        )
    batches = data.toy_dataset(  # a real batch for each D update: (batch, d_steps, 2)
        "ring",
        n=c["ring_samples"],
        batch_size=c["batch_size"],
        seed=c["seed"],
        batches_per_step=c["d_steps"],
    )
    centers = data.ring_centers()

    def sample_fn():
        samples = evaluation.ring_coverage(g, c["seed"])["samples"]
        title = "generated samples; circles: the 8 modes"
        return viz.figure_to_array(viz.plot_ring(samples, centers, title))

    def evaluate():
        coverage = evaluation.ring_coverage(g, c["seed"])
        return {
            "modes_covered": coverage["modes"],
            "of_modes": len(centers),
            "high_quality": round(coverage["high_quality"], 4),
        }

    return Experiment(
        config=c,
        title=f"{TOY_METHODS[c['method']]} on a ring of 8 Gaussians (toy data)",
        networks=nets,
        optimizers=optimizers,
        train_step=step,
        batches=batches,
        total_steps=total_steps(c, batches),
        sample_fn=sample_fn,
        evaluate=evaluate,
        synthetic=False,
        state=dict(step.trackables),
    )


# --------------------------------------------------------------------------- lesson 2: DCGAN


def _dcgan_networks(c: dict) -> dict[str, keras.Model]:
    from gan_lab import models

    if c["image_size"] != 28:
        raise errors.UsageError(
            f"dcgan trains on 28x28 digits; image_size {c['image_size']} is not 28."
        )
    return {
        "generator": models.build_dcgan_generator(
            latent_dim=c["latent_dim"], num_classes=_dcgan_classes(c)
        ),
        "discriminator": models.build_dcgan_discriminator(num_classes=_dcgan_classes(c)),
    }


def _dcgan_classes(c: dict) -> int:
    from gan_lab import data

    return data.NUM_DIGITS if c["conditional"] else 0


def _dcgan(c: dict) -> Experiment:
    import numpy as np

    from gan_lab import data, evaluation, steps, viz

    digits = dcgan_digits(c)  # first: a wrong mnist_split answers before anything is built
    nets = _dcgan_networks(c)
    g, d = nets["generator"], nets["discriminator"]
    optimizers = {role: _adam(c) for role in nets}
    step = steps.make_gan_step(g, d, optimizers["generator"], optimizers["discriminator"])
    batches = data.to_dataset(  # with the noise: independent of how a batch is split
        digits.images,
        c["batch_size"],
        seed=c["seed"],
        noise_dim=c["latent_dim"],
        labels=digits.labels if c["conditional"] else None,  # (images, noise, labels)
    )
    columns = 6 if c["conditional"] else 4  # 4x4 digits, or a row per digit 0..9
    rng = np.random.default_rng(c["seed"])
    fixed = rng.standard_normal((columns if c["conditional"] else 16, c["latent_dim"]))
    fixed = fixed.astype(np.float32)
    if c["conditional"]:  # the same 6 noise vectors in every row
        asked = np.repeat(np.arange(data.NUM_DIGITS), columns)
        fixed = [
            np.tile(fixed, (data.NUM_DIGITS, 1)),
            np.eye(data.NUM_DIGITS, dtype=np.float32)[asked],
        ]

    def evaluate():  # lesson 2's number
        untrained = _dcgan_networks(c)["generator"]
        return evaluation.dcgan_scores(g, untrained, c, *dcgan_judge_digits(c, digits))[0]

    if digits.synthetic:
        kind = "SYNTHETIC digits"
    elif c["mnist_split"] == "test":
        kind = (
            f"the {len(digits.images):,} MNIST test digits (no training split here; judge "
            "trained and scored on disjoint halves)"
        )
    else:
        kind = "MNIST"
    return Experiment(
        config=c,
        title=f"{'Conditional DCGAN' if c['conditional'] else 'DCGAN'} on {kind}",
        networks=nets,
        optimizers=optimizers,
        train_step=step,
        batches=batches,
        total_steps=total_steps(c, batches),
        sample_fn=lambda: viz.image_grid(
            g(fixed, training=False), ncols=columns, scale=2 if c["conditional"] else 3
        ),
        evaluate=evaluate,
        synthetic=digits.synthetic,
        state=dict(step.trackables),
    )


def dataset(c: dict, split: str):
    """The lesson's data for ``split``: the real dataset in full mode; in quick mode,
    ``synthetic_train`` or ``synthetic_test`` examples of gan_lab's synthetic stand-in,
    drawn from ``seed`` (``data.ImageSet``, ``PairSet`` or ``UnpairedSet``)."""
    from gan_lab import data

    kind = {"quick": c["quick"], "data_dir": c["data_dir"], "seed": c["seed"]}
    kind["count"] = c[f"synthetic_{split}"] if c["quick"] else None
    if c["model"] == "dcgan":
        return data.load_digits(split, **kind)
    load = {"pix2pix": data.load_facades, "cyclegan": data.load_apple2orange}[c["model"]]
    return load(split, c["image_size"], **kind)


def dcgan_digits(c: dict):
    """The digits lesson 2's GAN trains on (``data.ImageSet``): synthetic ones in quick
    mode; in full mode the MNIST split ``mnist_split`` names (``MNIST_SPLITS``).

    Raises:
        UsageError: an unknown ``mnist_split``.
        DatasetNotFoundError: full mode without that split of MNIST.
    """

    if c["mnist_split"] not in MNIST_SPLITS:
        raise errors.UsageError(
            f"mnist_split must be one of {', '.join(MNIST_SPLITS)}. Received: {c['mnist_split']!r}"
        )
    return dataset(c, "train" if c["quick"] else c["mnist_split"])


def dcgan_judge_digits(c: dict, digits) -> tuple:
    """The judge's training digits and the real digits it scores against, as two
    ``data.ImageSet``: the training digits ``digits`` (``dcgan_digits``) and the test
    split; or, with ``mnist_split="test"`` in full mode, two disjoint halves of ``digits``
    (the test split itself), chosen by a permutation seeded by ``seed``."""
    import numpy as np

    from gan_lab import data

    if c["quick"] or c["mnist_split"] == "train":
        return digits, dataset(c, "test")
    order = np.random.default_rng(c["seed"]).permutation(len(digits.images))
    halves = order[: len(order) // 2], order[len(order) // 2 :]
    return tuple(
        data.ImageSet(digits.images[i], digits.labels[i], f"{digits.source}, {which}", False)
        for i, which in zip(halves, ("the judge's training half", "the judge's scoring half"))
    )


# --------------------------------------------------------------------------- lesson 3: Pix2Pix


def _pix2pix_networks(c: dict) -> dict[str, keras.Model]:
    from gan_lab import models

    size = c["image_size"]
    if size < 32 or size & (size - 1):
        raise errors.UsageError(
            f"image_size for pix2pix must be a power of 2, at least 32 (the U-Net halves it "
            f"down to 1x1). Received: {size}"
        )
    return {
        "generator": models.build_unet_generator(
            size, base_filters=c["base_filters"], max_filters=c["max_filters"]
        ),
        "discriminator": models.build_patchgan_discriminator(base_filters=c["base_filters"]),
    }


def _pix2pix(c: dict) -> Experiment:
    import numpy as np

    from gan_lab import data, evaluation, models, steps, viz

    nets = _pix2pix_networks(c)
    g, d = nets["generator"], nets["discriminator"]
    optimizers = {role: _adam(c) for role in nets}
    step = steps.make_pix2pix_step(
        g,
        d,
        optimizers["generator"],
        optimizers["discriminator"],
        l1_weight=c["lambda_l1"],
        gan_weight=c["lambda_gan"],
    )
    size = c["image_size"]
    train, test = dataset(c, "train"), dataset(c, "test")
    batches = data.pair_dataset(train, c["batch_size"], seed=c["seed"])
    x, y = data.normalize(test.inputs), data.normalize(test.targets)

    def sample_fn():  # label maps, outputs (the paper's protocol), photos
        out = models.pix2pix_translate(g, x[:2])
        return viz.image_grid(
            np.concatenate([x[:2], out, y[:2]]), ncols=2, scale=_frame_scale(size)
        )

    def evaluate():  # lesson 3's numbers, with the trivial guesses to beat
        mean_photo = np.broadcast_to(data.normalize(train.targets).mean(axis=0), y.shape)
        generated = models.pix2pix_translate(g, x)
        return {
            **evaluation.pix2pix_scores(g, test),
            "l1_mean_photo": evaluation.pix2pix_baseline(mean_photo, y),
            "l1_flat_grey": evaluation.pix2pix_baseline(np.zeros_like(y), y),
            **evaluation.pix2pix_fcn_scores(generated, c, train, test),
            **evaluation.inception_report(test.targets, generated, c["quick"]),
        }

    kind_name = "SYNTHETIC facades" if train.synthetic else "CMP facades"
    return Experiment(
        config=c,
        title=f"Pix2Pix{', L1 only,' if not c['lambda_gan'] else ''} on {kind_name}",
        networks=nets,
        optimizers=optimizers,
        train_step=step,
        batches=batches,
        total_steps=total_steps(c, batches),
        sample_fn=sample_fn,
        evaluate=evaluate,
        synthetic=train.synthetic,
    )


# --------------------------------------------------------------------------- lesson 4: CycleGAN


def cyclegan_networks(c: dict) -> dict[str, keras.Model]:
    """CycleGAN's four networks for the settings ``c``: ``{"g": G (X -> Y), "f": F
    (Y -> X), "d_x": D_X (real x or F(y)?), "d_y": D_Y (real y or G(x)?)}``.

    Generators: the paper's ResNet (``models.build_resnet_generator``, ``n_blocks`` or 9
    at 256 px and 6 below) or, with ``generator="unet"``, the lighter U-Net of Keras-GAN's
    CycleGAN (4 levels, instance norm, no dropout). Discriminators: 70x70 PatchGANs on
    single images with instance norm (junyanz ``basic``).

    Raises:
        UsageError: an unknown ``generator``, or an image size the networks cannot take.
    """
    from gan_lab import models

    size = c["image_size"]
    if size < 32 or size % 4:
        raise errors.UsageError(
            f"image_size for cyclegan must be a multiple of 4, at least 32 (two stride-2 "
            f"down-samplings). Received: {size}"
        )

    def resnet(name):
        return models.build_resnet_generator(
            base_filters=c["base_filters"], n_blocks=_resnet_blocks(c), name=name
        )

    def unet(name):
        return models.build_unet_generator(
            size,
            base_filters=c["base_filters"],
            max_filters=8 * c["base_filters"],
            depth=4,
            norm="instance",
            dropout=0.0,
            name=name,
        )

    choices = {"resnet": resnet, "unet": unet}
    if c["generator"] not in choices:
        raise errors.UsageError(
            f'generator must be "resnet" or "unet". Received: {c["generator"]!r}'
        )
    generator = choices[c["generator"]]

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


def _cyclegan(c: dict) -> Experiment:
    import numpy as np

    from gan_lab import data, evaluation, image_pool, judges, metrics, optim, steps, viz

    nets = cyclegan_networks(c)
    g, f = nets["g"], nets["f"]
    size = c["image_size"]
    train, test = dataset(c, "train"), dataset(c, "test")
    batches = data.unpaired_dataset(train.a, train.b, c["batch_size"], seed=c["seed"])
    total = total_steps(c, batches)
    schedule = optim.LinearDecay(c["learning_rate"], total // 2, max(1, total - total // 2))
    optimizers = {role: _adam(c, schedule) for role in nets}
    pools = {  # past F(y) for D_X, past G(x) for D_Y
        name: image_pool.ImagePool((size, size, 3), c["pool_size"]) for name in ("pool_x", "pool_y")
    }
    step = steps.make_cyclegan_step(
        *nets.values(),
        optimizers,
        pools["pool_x"],
        pools["pool_y"],
        lambda_cycle=c["lambda_cycle"],
        lambda_identity=c["lambda_identity"],
        adversarial=c["adversarial"],
    )
    x, y = data.normalize(test.a), data.normalize(test.b)

    def sample_fn():  # x | G(x) ; y | F(y)
        images = np.concatenate([x[:2], g(x[:2]), y[:2], f(y[:2])])
        return viz.image_grid(images, ncols=2, scale=_frame_scale(size))

    def evaluate():  # lesson 4's numbers
        classifier = judges.train_domain_classifier(
            train.a, train.b, epochs=c["classifier_epochs"], seed=c["seed"]
        )
        scores = metrics.cyclegan_scores(g, f, test.a, test.b, classifier)
        baselines = metrics.cyclegan_baselines(test.a, test.b, classifier)
        return {**scores, **baselines, **evaluation.cyclegan_inception(c, g, f, test)}

    kind_name = "SYNTHETIC fruit" if train.synthetic else "apple2orange"
    return Experiment(
        config=c,
        title=f"CycleGAN on {kind_name}",
        networks=nets,
        optimizers=optimizers,
        train_step=step,
        batches=batches,
        total_steps=total,
        sample_fn=sample_fn,
        evaluate=evaluate,
        synthetic=train.synthetic,
        state=pools,
    )


def _resnet_blocks(c: dict) -> int:
    return c["n_blocks"] or (9 if c["image_size"] >= 256 else 6)  # as in the paper


# --------------------------------------------------------------------------- using a generator


def portable(config: dict, generator: keras.Model) -> keras.Model:
    """``generator`` as a model of Keras' own layers only, for export: CycleGAN's ResNet
    is rebuilt with built-in reflection padding (same weights, same outputs); the other
    generators already are."""
    from gan_lab import models

    if config["model"] != "cyclegan" or config["generator"] != "resnet":
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
