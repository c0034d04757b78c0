"""``gan-lab`` (or ``python -m gan_lab``): train from a terminal and use what was trained.

    gan-lab train dcgan --quick                   # a lesson's training, headless
    gan-lab train cyclegan --set lambda_cycle=5   # any setting of the lesson
    gan-lab train pix2pix --resume RUN_DIR        # continue an interrupted run
    gan-lab gif RUN_DIR                           # training-progress GIF from saved frames
    gan-lab sample RUN_DIR -n 64                  # DCGAN (or toy) samples as PNGs
    gan-lab translate RUN_DIR --input DIR --output DIR   # Pix2Pix / CycleGAN on a folder
    gan-lab export RUN_DIR                        # .keras + SavedModel, no gan_lab needed
    gan-lab score --real DIR --fake DIR           # FID and KID between two image folders

``train`` trains exactly as the lesson notebooks do (``runs.train``), so every command
works on a lesson's run folder too. Wrong arguments and bad input (missing folders,
unreadable images, a run of another model, an unknown setting) print one line naming the
culprit and exit with code 2; a run that cannot go on (it diverged, the disk is full)
prints one line and exits with code 1; Ctrl-C or SIGTERM during training saves a
checkpoint and exits with code 130, naming the command that continues the run. Anything
else is a bug and keeps its traceback (exit code 1). Nothing already written is
overwritten unless ``--overwrite`` is given. TensorFlow is imported only once a command
needs it, so ``--help`` and argument errors answer at once.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shlex
import sys
from pathlib import Path

from gan_lab import distribute, recipes, runtime
from gan_lab.errors import GanLabError, TrainingInterrupted, TrainingStopped, UsageError

EXAMPLES = {
    "train": "examples:\n  gan-lab train dcgan --quick\n"
    "  gan-lab train pix2pix --full --data-dir ~/datasets --steps 40000\n"
    "  gan-lab train toy --set method=wgan_gp --set deterministic=true\n"
    "  gan-lab train dcgan --resume outputs/cli_dcgan/20261125-101500 --steps 2400",
    "gif": "example:\n  gan-lab gif outputs/cli_dcgan/20261125-101500",
    "translate": "examples:\n  gan-lab translate RUN_DIR --input my_labels/ --output out/\n"
    "  gan-lab translate CYCLEGAN_RUN --input oranges/ --output apples/ --direction b2a "
    "--mode tile",
    "sample": "example:\n  gan-lab sample outputs/cli_dcgan/20261125-101500 -n 64",
    "export": "example:\n  gan-lab export outputs/cli_dcgan/20261125-101500\n"
    "  python -c \"import keras; keras.saving.load_model('RUN_DIR/export/generator.keras')\"\n"
    "\npix2pix: the SavedModel has two signatures.\n"
    "  serving_default (= serve): Keras' inference mode: batch norm uses its moving\n"
    "    statistics, dropout is off (what keras.Model.export gives).\n"
    "  serve_paper: the paper's test protocol, used by every pix2pix number gan_lab reports\n"
    "    and by `gan-lab translate`: each image alone, batch norm on that image's own\n"
    "    statistics, dropout on (masks from seed 0, the same for every image).\n"
    "  With the .keras file, gan_lab.models.pix2pix_translate(model, images) is the paper's\n"
    "  protocol; model(images, training=False) is the inference mode.",
    "score": "examples:\n  gan-lab score --real photos/ --fake translated/\n"
    "  gan-lab score --real real/ --fake fake/ --kid-subset-size 100 > scores.json\n"
    "Needs Keras' ImageNet InceptionV3 weights (downloaded once into ~/.keras/models/).",
}
INTERRUPTED = 130  # exit code of a run stopped by Ctrl-C or SIGTERM (after a checkpoint)


def _integer_at_least(minimum: int, wording: str):
    """An argparse type: an integer >= ``minimum``, else a message naming ``wording``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {wording}, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected {wording}, got {text!r}")
        return value

    return parse


_positive = _integer_at_least(1, "a positive integer")
_non_negative = _integer_at_least(0, "an integer >= 0")


def _setting(text: str) -> tuple[str, object]:
    """An argparse type for ``--set KEY=VALUE``: VALUE as JSON (``3e-4``, ``true``,
    ``null``, ``[0, 1]``), else as text (``unet``, a folder)."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    try:
        return key.strip(), json.loads(value)
    except json.JSONDecodeError:
        return key.strip(), value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gan-lab",
        description="gan_lab from the command line: train a lesson's GAN headless, then "
        "make its GIF, sample, translate images or export the generator.",
        epilog="Run `gan-lab COMMAND --help` for each command's options and an example.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    kw = {"formatter_class": argparse.RawDescriptionHelpFormatter}
    for add in (_add_train, _add_gif, _add_translate, _add_sample, _add_export, _add_score):
        add(sub, kw)
    return parser


def _add_train(sub, kw: dict) -> None:
    p = sub.add_parser(
        "train",
        help="train toy, dcgan, pix2pix or cyclegan as the lesson notebooks do",
        description="Train a lesson's GAN with the lesson's settings (recipes.defaults), as "
        "the notebook does; write checkpoints, frames, a GIF and a summary with a verdict "
        "into a run folder.",
        epilog=EXAMPLES["train"],
        **kw,
    )
    p.add_argument("model", choices=recipes.MODELS)
    mode = p.add_mutually_exclusive_group()
    mode.add_argument(
        "--quick",
        action="store_true",
        help="quick mode: small synthetic data, short runs (default without a GPU, or "
        "with GAN_LAB_QUICK=1)",
    )
    mode.add_argument(
        "--full", action="store_true", help="full mode: the real dataset (default with a GPU)"
    )
    p.add_argument(
        "--set",
        type=_setting,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="change any setting of the lesson, recorded in run.json (repeatable; VALUE is "
        "JSON, e.g. 1e-4, true, null, [0, 1], else text), e.g. --set learning_rate=1e-4 "
        "--set deterministic=true (exact resumes). An unknown KEY lists the known ones.",
    )
    p.add_argument("--data-dir", type=Path, help="folder holding the dataset (default data/)")
    length = p.add_mutually_exclusive_group()
    length.add_argument("--steps", type=_positive, help="total train steps to reach")
    length.add_argument("--epochs", type=_positive, help="total epochs to reach")
    p.add_argument("--batch-size", type=_positive)
    p.add_argument(
        "--image-size",
        type=_positive,
        help="pix2pix: a power of 2 (the U-Net halves it down to 1x1); cyclegan: a multiple "
        "of 4; at least 32",
    )
    p.add_argument("--seed", type=_non_negative)
    p.add_argument(
        "--precision",
        choices=[*runtime.PRECISIONS, "auto"],
        help="float32, mixed_bfloat16, mixed_float16 or auto (default: auto, printed at "
        "start-up: bf16 where the CPU or GPU has it, float16 on older GPUs, else float32)",
    )
    p.add_argument(
        "--checkpoint-every",
        type=_positive,
        help="steps between checkpoints (default: a tenth of the run, at most 1000; one is "
        "also saved every 10 minutes, at the end, and on Ctrl-C or SIGTERM)",
    )
    p.add_argument(
        "--jit-compile",
        action="store_true",
        help="compile the step with XLA too (measure first: see make bench)",
    )
    p.add_argument(
        "--output-dir",
        type=Path,
        help="root of the run folders (default outputs/ or $GAN_LAB_OUTPUT_DIR)",
    )
    p.add_argument(
        "--resume",
        type=Path,
        metavar="RUN_DIR",
        help="continue this run (a lesson's or gan-lab's) from its latest checkpoint, with "
        "its settings, to its --steps/--epochs",
    )
    p.add_argument(
        "--strategy",
        choices=distribute.STRATEGIES,
        default="auto",
        help="auto (default): all local GPUs if several and the batch splits evenly across "
        "them, else one device; one; mirrored: MirroredStrategy over this machine's GPUs; "
        "multiworker: MultiWorkerMirroredStrategy over the machines of TF_CONFIG (start the "
        "same command on each; docs: scale-out)",
    )
    p.add_argument(
        "--json",
        action="store_true",
        help="print only a JSON summary on stdout (logs go to stderr)",
    )


def _add_gif(sub, kw: dict) -> None:
    p = sub.add_parser(
        "gif",
        help="the training-progress GIF of a run",
        description="Assemble a run's saved frames into an animated GIF "
        "(RUN_DIR/progress.gif unless --output).",
        epilog=EXAMPLES["gif"],
        **kw,
    )
    p.add_argument("run_dir", type=Path, metavar="RUN_DIR")
    p.add_argument("--output", type=Path, help="GIF file to write")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --output")


def _add_translate(sub, kw: dict) -> None:
    p = sub.add_parser(
        "translate",
        help="apply a trained Pix2Pix or CycleGAN generator to a folder of images",
        description="Translate every image of --input with a run's generator and write PNGs "
        "of the same names and sizes into --output, in the lesson's inference protocol "
        "(pix2pix: the paper's). Images of any size: 'resize' (default) "
        "scales each to the model's size and the result back; 'tile' cuts it into model-size "
        "tiles (reflection-padded at the borders), keeping detail at the cost of visible seams.",
        epilog=EXAMPLES["translate"],
        **kw,
    )
    p.add_argument("run_dir", type=Path, metavar="RUN_DIR")
    p.add_argument("--input", type=Path, required=True, help="folder of images")
    p.add_argument("--output", type=Path, required=True, help="folder for the results")
    p.add_argument(
        "--direction",
        choices=["a2b", "b2a"],
        default="a2b",
        help="cyclegan: a2b = apples to oranges (default), b2a = back",
    )
    p.add_argument("--mode", choices=["resize", "tile"], default="resize")
    p.add_argument("--overwrite", action="store_true", help="replace existing result files")


def _add_sample(sub, kw: dict) -> None:
    p = sub.add_parser(
        "sample",
        help="draw samples from a trained DCGAN (or toy GAN)",
        description="Draw N samples from a run's generator: PNGs (DCGAN) or a "
        "CSV of points (toy), plus a grid, into RUN_DIR/samples unless --output.",
        epilog=EXAMPLES["sample"],
        **kw,
    )
    p.add_argument("run_dir", type=Path, metavar="RUN_DIR")
    p.add_argument("-n", type=_positive, default=64, help="number of samples (default 64)")
    p.add_argument("--output", type=Path, help="folder to write into")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--overwrite", action="store_true", help="replace existing files")


def _add_export(sub, kw: dict) -> None:
    p = sub.add_parser(
        "export",
        help="save the generator as .keras and SavedModel, loadable without gan_lab",
        description="Save a run's generator(s) in float32 as a .keras file (load with "
        "keras.saving.load_model, no gan_lab or custom objects needed) and as a TensorFlow "
        "SavedModel for serving, into RUN_DIR/export unless --output. Each file is checked "
        "against the generator restored from the checkpoint.",
        epilog=EXAMPLES["export"],
        **kw,
    )
    p.add_argument("run_dir", type=Path, metavar="RUN_DIR")
    p.add_argument("--output", type=Path, help="folder to write into")
    p.add_argument("--overwrite", action="store_true", help="replace existing files")


def _add_score(sub, kw: dict) -> None:
    p = sub.add_parser(
        "score",
        help="FID and KID between two folders of images (InceptionV3 features)",
        description="Compute the Frechet Inception Distance and the Kernel Inception Distance "
        "between the images of --real and --fake (any sizes; resized to 299x299) with Keras' "
        "ImageNet InceptionV3, and print them as JSON. Compare only with numbers computed "
        "under the same protocol and image counts (docs: metrics).",
        epilog=EXAMPLES["score"],
        **kw,
    )
    p.add_argument("--real", type=Path, required=True, help="folder of reference images")
    p.add_argument("--fake", type=Path, required=True, help="folder of generated images")
    p.add_argument("--batch-size", type=_positive, default=50, help="default 50")
    p.add_argument("--kid-subsets", type=_positive, default=100, help="default 100")
    p.add_argument(
        "--kid-subset-size",
        type=_positive,
        default=1000,
        help="default 1000, capped at the smaller folder's image count",
    )
    p.add_argument("--seed", type=_non_negative, default=0, help="seed of the KID subsets")


# --------------------------------------------------------------------------- train


def _train(args) -> dict:
    from gan_lab import runs

    config = _settings(args)  # before TensorFlow: a wrong setting answers at once
    strategy = _strategy(args.strategy, config["batch_size"])
    config["precision"] = runtime.setup(config)
    with strategy.scope() if strategy is not None else contextlib.nullcontext():
        experiment = recipes.build(config)
    if args.resume is not None and runs.latest_step(args.resume) >= experiment.total_steps:
        raise UsageError(
            f"{args.resume} is already at step {runs.latest_step(args.resume)}; give a larger "
            "--steps (or --epochs) to train further."
        )
    print(runs.plan(experiment, args.resume), flush=True)
    interactive = sys.stderr.isatty() and not args.json
    result = runs.train(
        experiment,
        args.resume,
        progress=interactive,
        strategy=strategy,
        name=f"cli_{args.model}",
        output_root=args.output_dir,
        callbacks=[] if interactive else [_plain_progress(experiment.total_steps)],
        jit_compile=args.jit_compile,
    )
    return result.summary


def _settings(args) -> dict:
    """The run's settings: the lesson's defaults (or, with --resume, the run's own) changed
    by --set and the shortcut flags. Checked without importing TensorFlow."""
    from gan_lab import runs

    changes = dict(args.set)
    flags = {
        "batch_size": args.batch_size,
        "image_size": args.image_size,
        "seed": args.seed,
        "precision": args.precision,
        "checkpoint_every": args.checkpoint_every,
        "data_dir": None if args.data_dir is None else str(args.data_dir),
    }
    changes.update({k: v for k, v in flags.items() if v is not None})
    if args.steps or args.epochs:  # one replaces the other
        changes.update(steps=args.steps, epochs=args.epochs)
    quick = True if args.quick else False if args.full else changes.pop("quick", None)
    recipes.defaults(args.model, True, **changes)  # unknown keys and wrong types: exit 2
    if args.data_dir is not None and not args.data_dir.is_dir():
        raise UsageError(f"--data-dir {args.data_dir} is not a folder.")
    if args.output_dir is not None and args.output_dir.exists() and not args.output_dir.is_dir():
        raise UsageError(f"--output-dir {args.output_dir} is a file; give a folder.")
    if args.resume is not None:
        config = {**runs.read_run(args.resume, expect=args.model), **changes}
        runs.check_resumable(args.resume, config if quick is None else {**config, "quick": quick})
        if not runs.has_checkpoints(args.resume):
            raise UsageError(f"--resume {args.resume}: the run has no complete checkpoint.")
        return config
    return recipes.defaults(args.model, runtime.choose_quick(quick), **changes)


def _strategy(name: str, batch_size: int):
    """``distribute.make_strategy(name)``; ``auto`` falls back to one device (saying so)
    when the global batch does not split evenly across the GPUs."""
    if name == "auto":
        import tensorflow as tf

        gpus = len(tf.config.list_physical_devices("GPU"))
        if gpus > 1 and batch_size % gpus:
            print(
                f"gan_lab: a batch of {batch_size} does not split across {gpus} GPUs: "
                f"training on one (give --batch-size {gpus * max(1, batch_size // gpus)} "
                f"or another multiple of {gpus} to use all {gpus})."
            )
            name = "one"
    strategy = distribute.make_strategy(name)
    where = distribute.describe(strategy)
    if strategy is not None:
        if where["workers"] > 1:
            writer = "this worker writes" if where["chief"] else "the chief writes"
            print(
                f"gan_lab: worker {where['worker']} of {where['workers']} "
                f"({where['replicas']} replicas in all); {writer} the run folder",
                flush=True,
            )
        else:
            print(f"gan_lab: {where['replicas']} replicas on this machine (mirrored)")
    if batch_size % where["replicas"]:
        raise UsageError(
            f"The batch of {batch_size} is the global batch: it must split evenly across "
            f"the {where['replicas']} replicas (give a --batch-size that is a multiple of "
            f"{where['replicas']})."
        )
    return strategy


def _plain_progress(total: int):
    def callback(trainer, step, logs):
        losses = " ".join(f"{k}={v:.3f}" for k, v in logs.items())
        print(f"step {step}/{total} {losses}", flush=True)

    return callback


def _interrupted(args, e: TrainingInterrupted) -> str:
    from gan_lab import checkpoints

    if e.run_dir is None:  # a worker other than the chief (set by runs.train)
        return f"interrupted. Continue with --resume and the chief's run folder. ({e})"
    command = f"gan-lab train {args.model} --resume {shlex.quote(str(e.run_dir))}"
    return (
        f"interrupted; checkpoint {checkpoints.latest(e.run_dir)} saved. Continue with: {command}"
    )


# --------------------------------------------------------------------------- using a run


def _gif(args) -> dict:
    from gan_lab import viz

    if not args.run_dir.is_dir():  # any run folder with frames
        raise UsageError(f"Run folder {args.run_dir} does not exist (or is a file).")
    frames = sorted((args.run_dir / "frames").glob("step_*.png"))
    if not frames:
        raise UsageError(f"{args.run_dir}/frames holds no frames (step_*.png) to animate.")
    output = args.output or args.run_dir / "progress.gif"
    if args.output is not None:
        _check_writable_file(output, args.overwrite)
    viz.save_gif(frames, output)  # all or nothing
    return {"gif": str(output), "frames": len(frames)}


def _translate(args) -> dict:
    from gan_lab import data, evaluation, runs, viz

    config = runs.read_run(args.run_dir, expect=("pix2pix", "cyclegan"))
    files = data.list_images(args.input)
    images = [data.read_rgb(path) for path in files]  # all checked before anything is written
    targets = [args.output / f"{path.stem}.png" for path in files]
    _check_output_folder(args.output, targets, args.overwrite)
    generators = runs.restore_generators(args.run_dir, config)
    if config["model"] == "pix2pix":
        model = generators["generator"]
    else:
        model = generators["g" if args.direction == "a2b" else "f"]
    size = config["image_size"]

    def run(batch):  # uint8 (n, size, size, 3) -> uint8, in the lesson's inference protocol
        return viz.to_uint8(evaluation.infer(config, model, data.normalize(batch)))

    args.output.mkdir(parents=True, exist_ok=True)
    for image, target in zip(images, targets):
        result = _tile(image, size, run) if args.mode == "tile" else _resized(image, size, run)
        viz.save_png(result, target)
    return {
        "translated": len(files),
        "output": str(args.output),
        "mode": args.mode,
        "model": config["model"],
    }


def _resized(image, size, run):
    import numpy as np
    from PIL import Image

    from gan_lab.data.images import resize

    out = run(resize(image, size)[None])[0]
    h, w = image.shape[:2]
    return np.asarray(Image.fromarray(out).resize((w, h), Image.BICUBIC))


def _tile(image, size, run):
    import numpy as np

    h, w = image.shape[:2]
    H, W = -(-h // size) * size, -(-w // size) * size
    padded = np.pad(image, ((0, H - h), (0, W - w), (0, 0)), mode="symmetric")
    tiles = (
        padded.reshape(H // size, size, W // size, size, 3)
        .swapaxes(1, 2)
        .reshape(-1, size, size, 3)
    )
    out = np.concatenate([run(tiles[i : i + 8]) for i in range(0, len(tiles), 8)])
    out = out.reshape(H // size, W // size, size, size, 3).swapaxes(1, 2).reshape(H, W, 3)
    return out[:h, :w]


def _sample(args) -> dict:
    import numpy as np
    import tensorflow as tf

    from gan_lab import data, runs, viz

    config = runs.read_run(args.run_dir, expect=("dcgan", "toy"))
    output = args.output or args.run_dir / "samples"
    names = (
        [f"sample_{i:04d}.png" for i in range(args.n)] + ["grid.png"]
        if config["model"] == "dcgan"
        else ["samples.csv"]
    )
    _check_output_folder(output, [output / n for n in names], args.overwrite)
    generator = runs.restore_generators(args.run_dir, config)["generator"]
    noise = tf.random.normal([args.n, generator.inputs[0].shape[-1]], seed=args.seed)
    inputs, grid_columns, asked = noise, None, None
    if config.get("conditional"):  # sample i shows digit i % 10: a grid column per digit
        asked = np.arange(args.n) % data.NUM_DIGITS
        inputs = [noise, np.eye(data.NUM_DIGITS, dtype=np.float32)[asked]]
        grid_columns = data.NUM_DIGITS
    samples = generator.predict(inputs, verbose=0, batch_size=256)
    output.mkdir(parents=True, exist_ok=True)
    if config["model"] == "toy":
        np.savetxt(output / "samples.csv", samples, delimiter=",", header="x,y", comments="")
    else:
        images = viz.to_uint8(samples)
        for name, image in zip(names, images):
            viz.save_png(np.repeat(image, 3, axis=-1), output / name)
        viz.save_png(viz.image_grid(samples, ncols=grid_columns, scale=2), output / "grid.png")
    summary = {"samples": args.n, "output": str(output)}
    if asked is not None:
        summary["digits"] = "sample_i shows the digit i % 10 (conditional generator)"
    return summary


def _export(args) -> dict:
    import keras
    import numpy as np
    import tensorflow as tf

    from gan_lab import evaluation, models, runs

    config = runs.read_run(args.run_dir)
    if config.get("conditional"):
        raise UsageError(
            f"{args.run_dir} is a conditional DCGAN (two inputs: noise and label); export "
            "takes one-input generators. Use `gan-lab sample` on it instead."
        )
    generators = runs.restore_generators(args.run_dir, config)
    output = args.output or args.run_dir / "export"
    paths = [output / f"{name}.keras" for name in generators]
    paths += [output / f"{name}_savedmodel" for name in generators]
    _check_output_folder(output, paths, args.overwrite)
    output.mkdir(parents=True, exist_ok=True)
    paper = config["model"] == "pix2pix"
    written = {}
    for name, trained in generators.items():
        model = recipes.portable(config, trained)
        path = output / f"{name}.keras"
        with runtime.atomic_path(path) as tmp:
            model.save(tmp)
        saved = output / f"{name}_savedmodel"
        _remove(saved)
        _write_saved_model(model, saved, paper)
        # Each file as a user loads it, against the generator restored from the checkpoint:
        # this catches a bad rebuild too.
        probe = np.random.default_rng(0).uniform(-1, 1, (2, *model.input_shape[1:]))
        probe = probe.astype("float32")
        served = tf.saved_model.load(str(saved))
        inference = keras.ops.convert_to_numpy(trained(probe, training=False))
        differences = {
            "keras": evaluation.infer(config, keras.saving.load_model(path), probe)
            - evaluation.infer(config, trained, probe),
            "serve": served.serve(probe).numpy() - inference,
        }
        if paper:
            differences["serve_paper"] = served.serve_paper(
                probe
            ).numpy() - models.pix2pix_translate(trained, probe)
        error = max(float(np.max(np.abs(d))) for d in differences.values())
        if not error <= recipes.EXPORT_TOLERANCE:  # NaN fails too
            raise RuntimeError(
                f"The exported {name} ({path}, {saved}) does not reproduce the trained {name}: "
                f"outputs differ by up to {error:.3g} (allowed {recipes.EXPORT_TOLERANCE}). "
                "This is a bug in gan_lab's export; please report it. The files are kept for "
                "inspection."
            )
        written[name] = {
            "keras": str(path),
            "saved_model": str(saved),
            "signatures": list(differences)[1:],
            "input_shape": list(model.input_shape),
            "max_error_vs_checkpoint": error,
        }
    return {"exported": written}


def _write_saved_model(model, path: Path, paper: bool) -> None:
    """A SavedModel of ``model`` with the signature ``serve`` (= ``serving_default``:
    inference mode) and, with ``paper``, ``serve_paper``: pix2pix's test protocol as
    ``models.pix2pix_translate`` runs it (each image alone in training mode, the moving
    statistics left alone, dropout masks from seed 0)."""
    import keras
    import tensorflow as tf

    archive = keras.export.ExportArchive()
    archive.track(model)
    spec = [tf.TensorSpec((None, *model.input_shape[1:]), tf.float32, name="images")]
    archive.add_endpoint("serve", lambda images: model(images, training=False), spec)
    if paper:

        def serve_paper(images):
            trainable = [v.value for v in model.trainable_variables]
            state, dropout = [], 0
            for v in model.non_trainable_variables:
                if v.path.endswith("seed_generator_state"):  # one per Dropout: (seed, k)
                    state.append(tf.constant([0, dropout], dtype=v.dtype))
                    dropout += 1
                else:
                    state.append(v.value)

            def one(image):
                return model.stateless_call(trainable, state, image[None], training=True)[0][0]

            return tf.map_fn(one, images)

        archive.add_endpoint("serve_paper", serve_paper, spec)
    archive.write_out(str(path), verbose=False)


def _score(args) -> dict:
    from gan_lab import data, inception

    files = {}
    for flag, folder in (("--real", args.real), ("--fake", args.fake)):
        files[flag] = data.list_images(folder)  # missing or empty folder: exit 2
        if len(files[flag]) < 2:
            raise UsageError(f"{flag} {folder} holds 1 image; FID and KID need at least 2.")
    if args.kid_subset_size < 2:
        raise UsageError(f"--kid-subset-size must be at least 2. Received: {args.kid_subset_size}")
    extractor = inception.build_inception()  # before reading: no weights, no waiting
    images = {flag: [data.read_rgb(path) for path in paths] for flag, paths in files.items()}
    scores = inception.inception_scores(
        images["--real"],
        images["--fake"],
        extractor=extractor,
        batch_size=args.batch_size,
        kid_subsets=args.kid_subsets,
        kid_subset_size=args.kid_subset_size,
        seed=args.seed,
        progress=sys.stderr.isatty(),
    )
    return {
        **scores,
        "real": str(args.real),
        "fake": str(args.fake),
        "features": "Keras InceptionV3, ImageNet weights, 2048-d pool, bilinear resize to 299",
    }


# --------------------------------------------------------------------------- helpers


def _check_writable_file(path: Path, overwrite: bool) -> None:
    if path.is_dir():
        raise UsageError(f"{path} is a folder; give a file name.")
    if path.exists() and not overwrite:
        raise UsageError(f"{path} exists; pass --overwrite to replace it.")


def _check_output_folder(folder: Path, files: list[Path], overwrite: bool) -> None:
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"Output {folder} is a file, not a folder; give a folder.")
    clash = [p for p in files if p.exists()]
    if clash and not overwrite:
        listed = ", ".join(p.name for p in clash[:3]) + (" ..." if len(clash) > 3 else "")
        raise UsageError(
            f"{folder} already holds {len(clash)} of the files to write ({listed}); "
            "nothing was written. Pass --overwrite or choose another folder."
        )


def _remove(path: Path) -> None:
    import shutil

    if path.is_dir():
        shutil.rmtree(path)
    elif path.exists():
        path.unlink()


COMMANDS = {
    "train": _train,
    "gif": _gif,
    "translate": _translate,
    "sample": _sample,
    "export": _export,
    "score": _score,
}


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``gan-lab``; returns the exit code (0 ok, 2 bad arguments or input,
    1 a run that could not go on, 130 training interrupted after a checkpoint). Any other
    exception propagates with its traceback."""
    parser = build_parser()
    args = parser.parse_args(argv)  # exits 2 with a usage message on bad arguments
    as_json = args.command != "train" or args.json
    out = sys.stdout
    try:
        with contextlib.redirect_stdout(sys.stderr if as_json else out):  # stdout: the result
            result = COMMANDS[args.command](args)
    except GanLabError as e:  # the user's to fix: one line
        print(f"gan-lab {args.command}: error: {e}", file=sys.stderr)
        return 2
    except TrainingStopped as e:  # diverged, disk full: one line, checkpoints intact
        print(f"gan-lab {args.command}: {e}", file=sys.stderr)
        return 1
    except TrainingInterrupted as e:  # Ctrl-C or SIGTERM: a checkpoint was saved first
        print(f"gan-lab {args.command}: {_interrupted(args, e)}", file=sys.stderr)
        return INTERRUPTED
    if as_json:
        print(json.dumps(result, indent=2), file=out)
    else:
        _print_summary(result, out)
    return 0


def _print_summary(summary: dict, out) -> None:
    if "model" not in summary:  # a worker other than the chief
        print(f"worker {summary['worker']}: {summary['steps']} steps done", file=out)
        return
    print(
        f"\n{summary['title']}: {summary['steps']} steps in {summary['seconds']} s "
        f"({summary['images_per_second']} images/s, {summary['precision']})\n"
        f"{summary['verdict']}\n"
        f"run folder: {summary['run_dir']} (all numbers in summary.json)\n"
        f"GIF: {summary['gif']}",
        file=out,
    )


if __name__ == "__main__":
    sys.exit(main())
