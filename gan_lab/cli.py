"""``gan-lab`` (or ``python -m gan_lab``): train from a terminal and use what was trained.

    gan-lab train dcgan --quick                   # a lesson's training, headless
    gan-lab train pix2pix --resume RUN_DIR        # continue an interrupted run
    gan-lab gif RUN_DIR                           # training-progress GIF from saved frames
    gan-lab sample RUN_DIR -n 64                  # DCGAN (or toy) samples as PNGs
    gan-lab translate RUN_DIR --input DIR --output DIR   # Pix2Pix / CycleGAN on a folder
    gan-lab export RUN_DIR                        # .keras + SavedModel, no gan_lab needed
    gan-lab score --real DIR --fake DIR           # FID and KID between two image folders

Wrong arguments and bad input (missing folders, unreadable images, a run of another
model, ...) print one line naming the culprit and exit with code 2; a run that cannot go
on (it diverged, the disk is full) prints one line and exits with code 1; anything else
is a bug and keeps its traceback (exit code 1). Nothing already written is overwritten
unless ``--overwrite`` is given.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
from pathlib import Path

from gan_lab.errors import GanLabError, TrainingStopped, UsageError, WorkerLostError

EXAMPLES = {
    "train": "examples:\n  gan-lab train dcgan --quick\n"
    "  gan-lab train pix2pix --data-dir ~/datasets --steps 40000 --precision auto\n"
    "  gan-lab train dcgan --resume outputs/cli_dcgan/20261125-101500 --steps 2400",
    "gif": "example:\n  gan-lab gif outputs/cli_dcgan/20261125-101500",
    "translate": "examples:\n  gan-lab translate RUN_DIR --input my_labels/ --output out/\n"
    "  gan-lab translate CYCLEGAN_RUN --input oranges/ --output apples/ --direction b2a "
    "--mode tile",
    "sample": "example:\n  gan-lab sample outputs/cli_dcgan/20261125-101500 -n 64",
    "export": "example:\n  gan-lab export outputs/cli_dcgan/20261125-101500\n"
    "  python -c \"import keras; keras.saving.load_model('RUN_DIR/export/generator.keras')\"",
    "score": "examples:\n  gan-lab score --real photos/ --fake translated/\n"
    "  gan-lab score --real real/ --fake fake/ --kid-subset-size 100 > scores.json\n"
    "Needs Keras' ImageNet InceptionV3 weights (downloaded once into ~/.keras/models/).",
}


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


def _check_image_size(model: str, size: int) -> None:
    if model == "pix2pix" and (size < 32 or size & (size - 1)):
        raise UsageError(
            f"--image-size for pix2pix must be a power of 2, at least 32 (the U-Net halves it "
            f"down to 1x1). Received: {size}"
        )
    if model == "cyclegan" and (size < 32 or size % 4):
        raise UsageError(
            f"--image-size for cyclegan must be a multiple of 4, at least 32 (two stride-2 "
            f"down-samplings). Received: {size}"
        )


def build_parser() -> argparse.ArgumentParser:
    from gan_lab import recipes, runtime

    parser = argparse.ArgumentParser(
        prog="gan-lab",
        description="gan_lab from the command line: train a lesson's GAN headless, then "
        "make its GIF, sample, translate images or export the generator.",
        epilog="Run `gan-lab COMMAND --help` for each command's options and an example.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    kw = {"formatter_class": argparse.RawDescriptionHelpFormatter}

    p = sub.add_parser(
        "train",
        help="train toy, dcgan, pix2pix or cyclegan with the notebooks' defaults",
        description="Train a lesson's GAN with the notebook's defaults (quick or full mode); "
        "write checkpoints, frames, a GIF and a summary into a new run folder.",
        epilog=EXAMPLES["train"],
        **kw,
    )
    p.add_argument("model", choices=recipes.MODELS)
    p.add_argument(
        "--quick",
        action="store_true",
        help="quick mode: small synthetic data (same as GAN_LAB_QUICK=1)",
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
    p.add_argument(
        "--precision",
        choices=[*runtime.PRECISIONS, "auto"],
        help="float32, mixed_bfloat16, mixed_float16 or auto (default: auto, printed at "
        "start-up: bf16 where the CPU or GPU has it, float16 on older GPUs, else float32)",
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
    p.add_argument("--seed", type=_non_negative)
    p.add_argument(
        "--checkpoint-every",
        type=_positive,
        help="steps between checkpoints (default: a tenth of the run, at most 1000)",
    )
    p.add_argument(
        "--resume",
        type=Path,
        metavar="RUN_DIR",
        help="continue this run from its latest checkpoint (to --steps/--epochs)",
    )
    p.add_argument(
        "--strategy",
        choices=["auto", "one", "mirrored", "multiworker"],
        default="auto",
        help="auto (default): all local GPUs if several, else one device; one; mirrored: "
        "MirroredStrategy over this machine's GPUs; multiworker: MultiWorkerMirroredStrategy "
        "over the machines of TF_CONFIG (start the same command on each; README: Scale-out)",
    )
    p.add_argument(
        "--json",
        action="store_true",
        help="print only a JSON summary on stdout (logs go to stderr)",
    )

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

    p = sub.add_parser(
        "translate",
        help="apply a trained Pix2Pix or CycleGAN generator to a folder of images",
        description="Translate every image of --input with a run's generator and write PNGs "
        "of the same names and sizes into --output. Images of any size: 'resize' (default) "
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

    p = sub.add_parser(
        "export",
        help="save the generator as .keras and SavedModel, loadable without gan_lab",
        description="Save a run's generator(s) in float32 as a .keras file (load with "
        "keras.saving.load_model, no gan_lab or custom objects needed) and as a TensorFlow "
        "SavedModel for serving, into RUN_DIR/export unless --output.",
        epilog=EXAMPLES["export"],
        **kw,
    )
    p.add_argument("run_dir", type=Path, metavar="RUN_DIR")
    p.add_argument("--output", type=Path, help="folder to write into")
    p.add_argument("--overwrite", action="store_true", help="replace existing files")

    p = sub.add_parser(
        "score",
        help="FID and KID between two folders of images (InceptionV3 features)",
        description="Compute the Frechet Inception Distance and the Kernel Inception Distance "
        "between the images of --real and --fake (any sizes; resized to 299x299) with Keras' "
        "ImageNet InceptionV3, and print them as JSON. Compare only with numbers computed "
        "under the same protocol and image counts (README: Quality numbers).",
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
    return parser


# --------------------------------------------------------------------------- commands


def _train(args) -> dict:
    from gan_lab import distribute

    strategy = distribute.make_strategy(args.strategy)  # first: it fixes TensorFlow's devices
    where = distribute.describe(strategy)
    print(
        f"gan_lab: worker {where['worker']} of {where['workers']}"
        f"{' (chief: writes the run folder)' if where['chief'] else ''}, strategy "
        f"{where['strategy']}, {where['replicas']} replica(s) in all",
        flush=True,
    )
    scratch = None
    if not where["chief"]:  # writes only here, removed at the end
        scratch = distribute.scratch_folder(where["worker"])
    try:
        summary = _train_on(args, strategy, where, scratch)
        distribute.finish_together(where)
        return summary
    finally:
        if scratch is not None:
            import shutil

            shutil.rmtree(scratch, ignore_errors=True)


def _train_on(args, strategy, where: dict, scratch: Path | None) -> dict:
    from gan_lab import recipes, runtime, training, viz

    if args.output_dir is not None:
        if args.output_dir.exists() and not args.output_dir.is_dir():
            raise UsageError(f"--output-dir {args.output_dir} is a file; give a folder.")
        os.environ[runtime.OUTPUT_ENV] = str(args.output_dir)
    if args.data_dir is not None and not args.data_dir.is_dir():
        raise UsageError(f"--data-dir {args.data_dir} is not a folder.")
    if args.resume is not None:
        config = recipes.read_run(args.resume, expect=args.model)
        fixed = {"batch_size": args.batch_size, "image_size": args.image_size, "seed": args.seed}
        changed = [k for k, v in fixed.items() if v is not None and v != config.get(k)]
        if changed or (args.quick and not config["quick"]):
            raise UsageError(
                f"--resume continues {args.resume} with its own settings (run.json); it cannot "
                f"change {', '.join(changed) or 'quick mode'}. Start a new run instead."
            )
        if not training.find_checkpoints(args.resume):
            raise UsageError(f"--resume {args.resume}: the run has no complete checkpoint.")
    else:
        config = recipes.defaults(args.model, args.quick or runtime.is_quick())
        given = {
            "batch_size": args.batch_size,
            "image_size": args.image_size,
            "seed": args.seed,
        }
        config.update({k: v for k, v in given.items() if v is not None})
        _check_image_size(args.model, config["image_size"])
    if config["batch_size"] % where["replicas"]:
        raise UsageError(
            f"--batch-size {config['batch_size']} is the global batch: it must split evenly "
            f"across the {where['replicas']} replicas (give a multiple of {where['replicas']})."
        )
    if args.steps or args.epochs:  # one replaces the other (they are mutually exclusive)
        config.update(steps=args.steps, epochs=args.epochs)
    if args.data_dir is not None:
        config["data_dir"] = str(args.data_dir)
    precision = args.precision or config.get("precision") or "auto"
    config["precision"] = runtime.setup(config["seed"], precision, quick=config["quick"])
    if os.environ.get("GAN_LAB_DETERMINISTIC") == "1":  # for the exact-resume tests
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()
    layout = {k: where[k] for k in ("strategy", "replicas", "workers")}
    config.update(layout)

    with strategy.scope() if strategy is not None else contextlib.nullcontext():
        experiment = recipes.build(config)
    total = recipes.total_steps(config, experiment.dataset)
    if scratch is not None:
        run_dir = scratch
    elif args.resume is not None:
        run_dir = args.resume
        recipes.write_run(run_dir, {**recipes.read_run(run_dir), **layout})
    else:
        run_dir = runtime.new_run_dir(f"cli_{args.model}")
        recipes.write_run(run_dir, config)
    interactive = sys.stderr.isatty() and not args.json
    trainer = training.Trainer(
        experiment.step,
        run_dir,
        experiment.trackables,
        sample_fn=experiment.sample_fn if where["chief"] else None,
        title=experiment.title,
        sample_every=max(1, total // config["frames"]),
        log_every=max(1, min(50, total // 20)),
        checkpoint_every=args.checkpoint_every or max(1, min(1000, total // 10)),
        resume=args.resume is not None and scratch is None,
        callbacks=[] if interactive else [_plain_progress(total)],
        jit_compile=args.jit_compile,
        strategy=strategy,
    )
    if args.resume is not None:
        latest = training.find_checkpoints(args.resume)[-1]
        if scratch is not None:  # a worker other than the chief: from the chief's checkpoint
            trainer.restore(latest)
        print(f"gan_lab: resuming at step {int(trainer.step)} from {latest}", flush=True)
    if int(trainer.step) >= total:
        raise UsageError(
            f"{args.resume or run_dir} is already at step {int(trainer.step)}; give a larger "
            "--steps (or --epochs) to train further."
        )
    began = time.perf_counter()
    try:
        trainer.fit(experiment.dataset, steps=total, progress=interactive)
    except WorkerLostError as e:
        if where["chief"]:
            e.args = (f"{e} Run folder: {run_dir} (last checkpoint {trainer.latest_checkpoint}).",)
        raise
    seconds = time.perf_counter() - began
    if not where["chief"]:
        print(f"gan_lab: worker {where['worker']} done; the chief writes the run folder.")
        return {"worker": where["worker"], "steps": int(trainer.step), **layout}
    gif = viz.save_gif(trainer.frames, run_dir / "progress.gif") if trainer.frames else None
    print("gan_lab: measuring the result ...")
    if strategy is not None:  # evaluate on this machine alone, on copies outside the strategy
        experiment = recipes.build(config)
        training.read_checkpoint(experiment.trackables, trainer.latest_checkpoint)
    summary = {
        "model": config["model"],
        "synthetic_data": experiment.synthetic,
        "precision": config["precision"],
        **layout,
        "steps": int(trainer.step),
        "seconds": round(seconds, 1),
        "images_per_second": round(trainer.images_per_second, 1),
        "metric": experiment.evaluate(),
        "run_dir": str(run_dir),
        "checkpoint": trainer.latest_checkpoint,
        "gif": str(gif) if gif else None,
    }
    with runtime.atomic_path(run_dir / "summary.json") as tmp:
        tmp.write_text(json.dumps(summary, indent=2))
    return summary


def _plain_progress(total: int):
    def callback(trainer, step, logs):
        losses = " ".join(f"{k}={v:.3f}" for k, v in logs.items())
        print(f"step {step}/{total} {losses}", flush=True)

    return callback


def _gif(args) -> dict:
    from gan_lab import viz

    if not args.run_dir.is_dir():  # any run folder with frames: CLI runs and the lessons' runs
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

    from gan_lab import data, recipes, viz

    config = recipes.read_run(args.run_dir, expect=("pix2pix", "cyclegan"))
    files = data.list_images(args.input)
    images = [data.read_rgb(path) for path in files]  # all checked before anything is written
    targets = [args.output / f"{path.stem}.png" for path in files]
    _check_output_folder(args.output, targets, args.overwrite)
    generators = recipes.restore_generators(args.run_dir, config)
    if config["model"] == "pix2pix":
        model = generators["generator"]  # the paper's test phase: models.pix2pix_translate
    else:
        model = generators["g" if args.direction == "a2b" else "f"]
    size = config["image_size"]

    def run(batch):  # uint8 (n, size, size, 3) -> uint8, in the lesson's inference protocol
        return viz.to_uint8(recipes.infer(config, model, data.normalize(batch)))

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

    from gan_lab import recipes, viz

    config = recipes.read_run(args.run_dir, expect=("dcgan", "toy"))
    output = args.output or args.run_dir / "samples"
    names = (
        [f"sample_{i:04d}.png" for i in range(args.n)] + ["grid.png"]
        if config["model"] == "dcgan"
        else ["samples.csv"]
    )
    _check_output_folder(output, [output / n for n in names], args.overwrite)
    generator = recipes.restore_generators(args.run_dir, config)["generator"]
    noise = tf.random.normal([args.n, generator.input_shape[-1]], seed=args.seed)
    samples = generator.predict(noise, verbose=0, batch_size=256)
    output.mkdir(parents=True, exist_ok=True)
    if config["model"] == "toy":
        np.savetxt(output / "samples.csv", samples, delimiter=",", header="x,y", comments="")
    else:
        images = viz.to_uint8(samples)
        for name, image in zip(names, images):
            viz.save_png(np.repeat(image, 3, axis=-1), output / name)
        viz.save_png(viz.image_grid(samples, scale=2), output / "grid.png")
    return {"samples": args.n, "output": str(output)}


def _export(args) -> dict:
    import keras
    import numpy as np

    from gan_lab import recipes, runtime

    config = recipes.read_run(args.run_dir)
    generators = recipes.restore_generators(args.run_dir, config)
    output = args.output or args.run_dir / "export"
    paths = [output / f"{name}.keras" for name in generators]
    paths += [output / f"{name}_savedmodel" for name in generators]
    _check_output_folder(output, paths, args.overwrite)
    output.mkdir(parents=True, exist_ok=True)
    written = {}
    for name, trained in generators.items():
        model = recipes.portable(config, trained)
        path = output / f"{name}.keras"
        with runtime.atomic_path(path) as tmp:
            model.save(tmp)
        saved = output / f"{name}_savedmodel"
        _remove(saved)
        model.export(str(saved), format="tf_saved_model", verbose=False)
        # The file as a user loads it, against the generator restored from the checkpoint,
        # both in the lesson's inference protocol: this catches a bad rebuild too.
        shape = (2, *model.input_shape[1:])
        probe = np.random.default_rng(0).uniform(-1, 1, shape).astype("float32")
        reloaded = keras.saving.load_model(path)
        got, want = recipes.infer(config, reloaded, probe), recipes.infer(config, trained, probe)
        error = float(np.max(np.abs(got - want)))
        if not error <= recipes.EXPORT_TOLERANCE:  # NaN fails too
            raise RuntimeError(
                f"The exported {path} does not reproduce the trained {name}: outputs differ by "
                f"up to {error:.3g} (allowed {recipes.EXPORT_TOLERANCE}). This is a bug in "
                "gan_lab's export; please report it. The file is kept for inspection."
            )
        written[name] = {
            "keras": str(path),
            "saved_model": str(saved),
            "input_shape": list(model.input_shape),
            "max_error_vs_checkpoint": error,
        }
    return {"exported": written}


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


def _score(args) -> dict:
    from gan_lab import data, metrics

    files = {}
    for flag, folder in (("--real", args.real), ("--fake", args.fake)):
        files[flag] = data.list_images(folder)  # missing or empty folder: exit 2
        if len(files[flag]) < 2:
            raise UsageError(f"{flag} {folder} holds 1 image; FID and KID need at least 2.")
    if args.kid_subset_size < 2:
        raise UsageError(f"--kid-subset-size must be at least 2. Received: {args.kid_subset_size}")
    extractor = metrics.build_inception()  # before reading: no weights, no waiting
    images = {flag: [data.read_rgb(path) for path in paths] for flag, paths in files.items()}
    scores = metrics.inception_scores(
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
    1 a run that could not go on). Any other exception propagates with its traceback."""
    parser = build_parser()
    args = parser.parse_args(argv)  # exits 2 with a usage message on bad arguments
    as_json = getattr(args, "json", False) or args.command != "train"
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
    if as_json:
        print(json.dumps(result, indent=2), file=out)
    else:
        _print_summary(result, out)
    return 0


def _print_summary(summary: dict, out) -> None:
    if "model" not in summary:  # a worker other than the chief
        print(f"worker {summary['worker']}: {summary['steps']} steps done", file=out)
        return
    data = "SYNTHETIC data (quick mode)" if summary["synthetic_data"] else "real data"
    print(
        f"\ntrained {summary['model']} on {data}: {summary['steps']} steps in "
        f"{summary['seconds']} s ({summary['images_per_second']} images/s, "
        f"{summary['precision']})",
        file=out,
    )
    for key, value in summary["metric"].items():
        print(
            f"  {key}: {value:.4g}" if isinstance(value, float) else f"  {key}: {value}", file=out
        )
    print(f"run folder: {summary['run_dir']}\nGIF: {summary['gif']}", file=out)


if __name__ == "__main__":
    sys.exit(main())
