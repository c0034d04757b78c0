"""Run folders, and the one way an experiment is trained into one.

``train(experiment)`` is what every lesson notebook and ``gan-lab train`` call: it records
the settings (``run.json``), trains with ``training.Trainer`` (checkpoints named after
``experiment.trackables``, progress frames, loss history), makes the GIF, measures the
result (``experiment.evaluate``) and writes ``summary.json`` with a one-sentence verdict.
A run folder that already holds checkpoints is resumed. So any run folder, from a lesson
or from the command line, works with ``gan-lab gif``, ``export``, ``translate``,
``sample`` and ``train --resume``.

A run folder::

    run.json        the settings (recipes.defaults) and where the run trained
    checkpoints/    step_NNNNNN/: the latest few checkpoints (training.Trainer)
    frames/         step_NNNNNN.png: progress frames
    history.json    the logged losses
    progress.gif    the frames as an animation
    summary.json    the final numbers and the verdict

TensorFlow is imported only when something is trained or restored.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from gan_lab import __version__, errors, recipes, runtime

if TYPE_CHECKING:
    import keras

RUN_FILE = "run.json"
SUMMARY_FILE = "summary.json"
GIF_FILE = "progress.gif"
RESUME_MAY_CHANGE = (
    "steps",
    "epochs",
    "precision",
    "deterministic",
    "data_dir",
    "checkpoint_every",
    "frames",
)
"""Settings a resumed run may take new values of; the others make other networks, other
data or another objective, which the checkpoint does not fit."""
LAYOUT = ("strategy", "replicas", "workers")  # where a run trained: run.json and summary.json


# --------------------------------------------------------------------------- the run folder


def read_run(run_dir: str | Path, expect: str | tuple[str, ...] | None = None) -> dict:
    """The settings of a run folder (its ``run.json``); settings that gan_lab added after
    the run was written take their defaults.

    Args:
        run_dir: a folder written by ``train`` (a lesson or ``gan-lab train``).
        expect: the model (or models) the caller can use, e.g. ``("pix2pix", "cyclegan")``.

    Raises:
        RunError: ``run_dir`` is not a gan_lab run folder, its ``run.json`` is damaged, or
            it trained another model than ``expect``.
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise errors.RunError(f"Run folder {run_dir} does not exist (or is a file).")
    path = run_dir / RUN_FILE
    if not path.is_file():
        raise errors.RunError(
            f"{run_dir} is not a gan_lab run folder: it has no {RUN_FILE}. Give a folder that "
            "a lesson or `gan-lab train` wrote (its path is printed when training starts)."
        )
    try:
        config = json.loads(path.read_text())
        settings = recipes.defaults(config["model"], config["quick"])
    except (json.JSONDecodeError, KeyError, TypeError, errors.UsageError) as e:
        raise errors.RunError(
            f"{path} is damaged ({type(e).__name__}: {e}); it cannot say which model was trained."
        ) from e
    allowed = (expect,) if isinstance(expect, str) else expect
    if allowed is not None and config["model"] not in allowed:
        raise errors.RunError(
            f"{run_dir} is a {config['model']} run, but this command needs a "
            f"{' or '.join(allowed)} run."
        )
    return {**settings, **config}


def write_run(run_dir: str | Path, config: dict) -> None:
    """Record the settings of a run in ``run_dir/run.json`` (atomically)."""
    with runtime.atomic_path(Path(run_dir) / RUN_FILE) as tmp:
        tmp.write_text(json.dumps({**config, "gan_lab_version": __version__}, indent=2))


def check_resumable(run_dir: str | Path, config: dict) -> None:
    """Refuse to resume the run of ``run_dir`` with settings that change what it trains.

    Raises:
        RunError: ``run_dir`` is not a run folder, or ``config`` differs from its
            ``run.json`` in a setting outside ``RESUME_MAY_CHANGE``.
    """
    saved = read_run(run_dir)
    given = json.loads(json.dumps(config))  # as run.json holds it (lists, not tuples)
    ignored = {*RESUME_MAY_CHANGE, *LAYOUT, "gan_lab_version"}
    keys = (set(saved) | set(given)) - ignored
    changed = sorted(k for k in keys if saved.get(k) != given.get(k))
    if changed:
        listed = ", ".join(f"{k}={saved.get(k)!r} (given {given.get(k)!r})" for k in changed)
        raise errors.RunError(
            f"{run_dir} continues with its own settings (run.json); it cannot change "
            f"{listed}. Only {', '.join(RESUME_MAY_CHANGE)} may change when resuming; start "
            "a new run folder to change the others."
        )


def restore_generators(run_dir: str | Path, config: dict) -> dict[str, keras.Model]:
    """Rebuild a run's generators (float32) and load their weights from its latest checkpoint.

    The global precision policy is left as it was.

    Raises:
        RunError: no complete checkpoint, or one that does not fit ``run.json``'s models.
    """
    from gan_lab import checkpoints

    with runtime.precision_policy("float32"):
        networks = recipes.networks(config)
    generators = {role: networks[role] for role in recipes.GENERATORS[config["model"]]}
    found = checkpoints.find(run_dir)
    if not found:
        raise errors.RunError(
            f"{run_dir} has no complete checkpoint yet (checkpoints/step_*/). Train it first, "
            "or resume it with `gan-lab train ... --resume`."
        )
    checkpoints.read(generators, found[-1])
    print(f"gan_lab: loaded {', '.join(generators)} from {found[-1]}")
    return generators


def has_checkpoints(run_dir: str | Path) -> bool:
    """Whether ``run_dir`` holds a complete checkpoint (a run to resume)."""
    from gan_lab import checkpoints

    return bool(checkpoints.find(run_dir))


def latest_step(run_dir: str | Path) -> int:
    """The step of a run's latest complete checkpoint (0 without one)."""
    import tensorflow as tf

    from gan_lab import checkpoints

    found = checkpoints.find(run_dir)
    return int(tf.train.load_variable(found[-1], "step/.ATTRIBUTES/VARIABLE_VALUE")) if found else 0


# --------------------------------------------------------------------------- training


def cadences(total_steps: int, frames: int, checkpoint_every: int | None = None) -> dict:
    """How often a run of ``total_steps`` logs, draws a frame and checkpoints.

    Args:
        total_steps: steps of the whole run.
        frames: progress frames wanted (besides the first).
        checkpoint_every: steps between checkpoints, or None for a tenth of the run, at most
            1,000 (the Trainer also saves every 10 minutes, and at the end).

    Returns:
        ``{"sample_every", "log_every", "checkpoint_every"}`` for ``training.Trainer``.
    """
    return {
        "sample_every": max(1, total_steps // max(1, frames)),
        "log_every": max(1, min(50, total_steps // 20)),
        "checkpoint_every": checkpoint_every or max(1, min(1000, total_steps // 10)),
    }


def plan(experiment: recipes.Experiment, run_dir: str | Path | None = None) -> str:
    """One line saying what ``train(experiment, run_dir)`` will do. The time it takes here
    is measured and printed once the first steps have run."""
    c = experiment.config
    every = cadences(experiment.total_steps, c["frames"], c["checkpoint_every"])
    if run_dir is None:
        where = "into a new run folder"
    elif has_checkpoints(run_dir):
        where = f"resuming {run_dir}"
    else:
        where = f"into {run_dir}"
    return (
        f"Training {experiment.title}: {experiment.total_steps:,} steps of batch "
        f"{c['batch_size']} ({'quick' if c['quick'] else 'full'} mode, {_precision(experiment)}) "
        f"{where}; a frame every {every['sample_every']:,} steps, a checkpoint every "
        f"{every['checkpoint_every']:,} steps or 10 minutes. The time it takes here is printed "
        "after the first steps."
    )


@dataclass(frozen=True)
class RunResult:
    """What ``train`` leaves: the run folder, the loss history (``{"step": [...], key:
    [...]}``), the GIF (None without frames) and ``summary.json``'s contents."""

    run_dir: Path
    history: dict
    gif: Path | None
    summary: dict


def train(
    experiment: recipes.Experiment,
    run_dir: str | Path | None = None,
    *,
    evaluate: bool = True,
    progress: bool = True,
    strategy=None,
    name: str | None = None,
    output_root: str | Path | None = None,
    callbacks: Iterable[Callable] = (),
    jit_compile: bool = False,
) -> RunResult:
    """Train ``experiment`` into a run folder, make its GIF and measure the result.

    Args:
        experiment: from ``recipes.build`` (and perhaps ``with_train_step``), built under
            ``strategy.scope()`` when a strategy is given.
        run_dir: None for a new run folder (``runtime.new_run_dir``); a folder with
            checkpoints to resume it (its settings must match: ``check_resumable``); or
            an empty or new folder to train into.
        evaluate: measure the result (``experiment.evaluate``; default True).
        progress: show a progress bar (default True).
        strategy: a ``tf.distribute`` strategy (``distribute.make_strategy``), or None.
        name: the new run folder's parent name (default: the model, e.g. ``"dcgan"``).
        output_root: where new run folders go (default: ``runtime.output_root()``).
        callbacks: more ``(trainer, step, logs)`` functions, called at each log entry.
        jit_compile: compile the train step with XLA too (default False).

    Returns:
        A ``RunResult``.

    Raises:
        TrainingInterrupted: Ctrl-C or SIGTERM; a checkpoint was saved first, and the
            message says how to continue (``run_dir`` is set on the exception too).
        TrainingStopped: the run diverged, a checkpoint could not be written, or (under a
            multi-worker strategy) another worker was lost.
        RunError: ``run_dir`` holds a run of other settings.
    """
    from gan_lab import distribute

    where = distribute.describe(strategy)
    resume = run_dir is not None and has_checkpoints(run_dir)
    if resume:
        check_resumable(run_dir, experiment.config)
    if not where["chief"]:  # its share of each checkpoint goes to a folder of its own
        folder = distribute.scratch_folder(where["worker"])
    elif run_dir is None:
        folder = runtime.new_run_dir(name or experiment.config["model"], output_root)
    else:
        folder = Path(run_dir)
    try:
        trainer = _trainer(
            experiment, folder, where, resume, run_dir, callbacks, jit_compile, strategy
        )
        history, seconds = _fit(trainer, experiment, folder, where, resume, progress)
        if where["chief"]:
            result = _finish(
                experiment, trainer, folder, where, history, seconds, evaluate, strategy
            )
        else:
            print(f"gan_lab: worker {where['worker']} done; the chief writes the run folder.")
            steps = {"worker": where["worker"], "steps": int(trainer.step)}
            result = RunResult(folder, history, None, {**steps, **_layout(where)})
        distribute.finish_together(where)
        return result
    finally:
        if not where["chief"]:
            import shutil

            shutil.rmtree(folder, ignore_errors=True)


def _trainer(experiment, folder, where, resume, run_dir, callbacks, jit_compile, strategy):
    """The Trainer of ``experiment`` writing into ``folder``; resumed from the latest
    checkpoint of ``run_dir`` (a worker other than the chief: from the chief's)."""
    from gan_lab import checkpoints, training

    c = experiment.config
    if where["chief"]:
        write_run(folder, {**c, "precision": _precision(experiment), **_layout(where)})
    every = cadences(experiment.total_steps, c["frames"], c["checkpoint_every"])
    estimate = _Estimate(experiment.title, experiment.total_steps, every["checkpoint_every"])
    trainer = training.Trainer(
        experiment.train_step,
        folder,
        experiment.trackables,
        sample_fn=experiment.sample_fn if where["chief"] else None,
        title=experiment.title,
        **every,
        callbacks=[estimate, *callbacks],
        resume=resume and where["chief"],
        jit_compile=jit_compile,
        strategy=strategy,
    )
    if resume and not where["chief"]:
        trainer.restore(checkpoints.latest(run_dir))
    return trainer


def _fit(trainer, experiment, folder, where, resume, progress) -> tuple[dict, float]:
    """Train to ``experiment.total_steps``; return the history and the seconds it took.
    An interrupted or lost run's error says how to go on."""
    total = experiment.total_steps
    resuming = f" (resuming at step {int(trainer.step):,} of {total:,})" if resume else ""
    print(f"gan_lab: run folder {folder}{resuming}", flush=True)
    began = time.perf_counter()
    try:
        history = trainer.fit(experiment.batches, steps=total, progress=progress)
    except errors.TrainingInterrupted as e:
        e.run_dir = folder if where["chief"] else None  # the others write a scratch folder
        if where["chief"]:
            e.args = (
                f"{e} To continue, train again with this run folder: run_dir={str(folder)!r} "
                "(in a lesson: RUN_DIR in the parameters cell).",
            )
        raise
    except errors.WorkerLostError as e:
        if where["chief"]:
            e.args = (f"{e} Run folder: {folder} (last checkpoint {trainer.latest_checkpoint}).",)
        raise
    return history, time.perf_counter() - began


def _finish(experiment, trainer, folder, where, history, seconds, evaluate, strategy):
    """The GIF, the measured result and ``summary.json`` of a finished run."""
    c = experiment.config
    gif = _save_gif(trainer.frames, folder / GIF_FILE)
    metric = _measure(experiment, trainer.latest_checkpoint, strategy) if evaluate else None
    summary = {
        "model": c["model"],
        "title": experiment.title,
        "synthetic_data": experiment.synthetic,
        "precision": _precision(experiment),
        **_layout(where),
        "steps": int(trainer.step),
        "seconds": round(seconds, 1),
        "images_per_second": round(trainer.images_per_second, 1),
        "verdict": verdict(c, metric) if metric else "The result was not measured.",
        "metric": metric,
        "run_dir": str(folder),
        "checkpoint": trainer.latest_checkpoint,
        "gif": str(gif) if gif else None,
    }
    with runtime.atomic_path(folder / SUMMARY_FILE) as tmp:
        tmp.write_text(json.dumps(summary, indent=2))
    return RunResult(folder, history, gif, summary)


def _layout(where: dict) -> dict:
    return {k: where[k] for k in LAYOUT}


def _measure(experiment, checkpoint: str, strategy) -> dict:
    """``experiment.evaluate()``; under a strategy on this machine alone, on copies built
    outside it and loaded from the final checkpoint."""
    from gan_lab import checkpoints

    print("gan_lab: measuring the result ...", flush=True)
    if strategy is not None:
        experiment = recipes.build(experiment.config)
        checkpoints.read(experiment.trackables, checkpoint)
    return experiment.evaluate()


def _save_gif(frames, path: Path) -> Path | None:
    from gan_lab import viz

    return viz.save_gif(frames, path) if frames else None


def _precision(experiment) -> str:
    """The dtype policy the networks were built under (what "auto" became)."""
    return next(iter(experiment.networks.values())).dtype_policy.name


class _Estimate:
    """A Trainer callback that prints, once, how long the run takes here. Measured from the
    first log entry of this session (after compiling the step) over at least
    ``checkpoint_every`` steps, so the frames and a checkpoint count in their share."""

    def __init__(self, title: str, total: int, checkpoint_every: int):
        self.title, self.total, self.window = title, total, checkpoint_every
        self.first: tuple[int, float] | None = None
        self.done = False

    def __call__(self, trainer, step: int, logs: dict) -> None:
        now = time.perf_counter()
        if self.first is None:
            self.first = (step, now)
            return
        first_step, first_time = self.first
        if self.done or (step - first_step < self.window and step < self.total):
            return
        self.done = True
        rate = (now - first_time) / (step - first_step)
        print(
            f"gan_lab: training {self.total:,} steps of {self.title}: about "
            f"{_duration(rate * self.total)} here ({rate:.3g} s/step measured over steps "
            f"{first_step:,}-{step:,}; {_duration(rate * (self.total - step))} to go)",
            flush=True,
        )


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.1f} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


# --------------------------------------------------------------------------- verdicts


def verdict(config: dict, metric: dict) -> str:
    """One sentence saying whether training worked, from the lesson's numbers ``metric``
    (``experiment.evaluate()``), against the trivial result each lesson must beat."""
    sentences = {
        "toy": _toy_verdict,
        "dcgan": _dcgan_verdict,
        "pix2pix": _pix2pix_verdict,
        "cyclegan": _cyclegan_verdict,
    }
    return sentences[config["model"]](metric)


def _toy_verdict(m: dict) -> str:
    modes, of = m["modes_covered"], m["of_modes"]
    if modes == of:
        head = "Training worked"
    elif modes > 1:
        head = "Training partly worked"
    else:
        head = "Training did not work (mode collapse)"
    return (
        f"{head}: the generator covers {modes} of the {of} modes of the ring (a collapsed "
        f"generator covers 1 or none), {m['high_quality']:.0%} of its samples near a mode."
    )


CONDITIONAL_TARGET = 0.8
"""The share of generated digits a conditional DCGAN's judge must read as the digit asked
for before its verdict says conditioning worked (chance: 0.1)."""


def _dcgan_verdict(m: dict) -> str:
    better = (
        m["frechet_generated"] < m["frechet_untrained"]
        and m["confident_share_generated"] > m["confident_share_untrained"]
    )
    gap = m["frechet_untrained"] - m["frechet_real_floor"]  # how far training had to go
    closed = (m["frechet_untrained"] - m["frechet_generated"]) / gap if gap > 0 else 0.0
    head = (
        f"Beats the untrained generator, closing {closed:.0%} of its Fréchet distance to the floor"
        if better
        else "Training did not work"
    )
    sentence = (
        f"{head}: the digit judge reads "
        f"{m['confident_share_generated']:.0%} of the generated digits with confidence, in "
        f"{m['classes_covered']} of the 10 classes (untrained generator "
        f"{m['confident_share_untrained']:.0%}, {m['classes_covered_untrained']} classes; real "
        f"digits {m['confident_share_real']:.0%}, {m['classes_covered_real']} classes), "
        f"Fréchet distance {m['frechet_generated']:.1f} "
        f"(untrained {m['frechet_untrained']:.1f}, real-vs-real floor "
        f"{m['frechet_real_floor']:.1f})."
    )
    if "asked_digit_accuracy" not in m:
        return sentence
    accuracy, baseline = m["asked_digit_accuracy"], m["asked_digit_accuracy_untrained"]
    per_class = m["asked_digit_accuracy_per_class"]
    worst = min(range(len(per_class)), key=lambda k: per_class[k])
    if accuracy >= CONDITIONAL_TARGET:
        head = "Conditioning worked"
    elif accuracy > 2 * max(m["asked_digit_chance"], baseline):
        head = "Conditioning partly worked"
    else:
        head = "Conditioning did not work"
    return (
        f"{sentence} {head}: the judge reads the digit asked for in {accuracy:.0%} of the "
        f"generated digits (chance {m['asked_digit_chance']:.0%}, untrained generator "
        f"{baseline:.0%}; hardest digit {worst}: {per_class[worst]:.0%})."
    )


def _pix2pix_verdict(m: dict) -> str:
    # Working: a segmenter trained on real photos reads more of the label map back from the
    # generated photos than from the mean training photo (the FCN-score's floor).
    reads = m["fcn_pixel_acc"] > m["fcn_pixel_acc_mean_photo"]
    head = "Training worked" if reads else "Not yet"
    beaten = m["l1"] < min(m["l1_mean_photo"], m["l1_flat_grey"])
    return (  # per-pixel scores favour blur: the mean photo is the blurriest guess of all
        f"{head}: a segmenter trained on real photos reads the label maps back from the "
        f"generated photos with {m['fcn_pixel_acc']:.0%} per-pixel accuracy (class accuracy "
        f"{m['fcn_class_acc']:.0%}, IoU {m['fcn_iou']:.0%}), against {m['fcn_pixel_acc_real']:.0%}"
        f" from the real photos and {m['fcn_pixel_acc_mean_photo']:.0%} from the mean training "
        f"photo; the test L1 error, {m['l1']:.3f}, is {'below' if beaten else 'not below'} the "
        f"mean training photo's {m['l1_mean_photo']:.3f} and a flat grey image's "
        f"{m['l1_flat_grey']:.3f} (SSIM {m['ssim']:.2f}), and per-pixel scores favour blurry "
        "outputs."
    )


def _cyclegan_verdict(m: dict) -> str:
    # Translating: each direction fools the judge at least half the time and more often than
    # the identity map. Keeping the content: the cycle comes back closer than half the error
    # of a map that swaps each image for another.
    directions = ("x_to_y", "y_to_x")
    translates = all(m[k] >= 0.5 and m[k] > m[f"{k}_identity"] for k in directions)
    keeps = m["reconstruction_l1"] < 0.5 * m["reconstruction_l1_swapped"]
    if translates and keeps:
        head = "Training worked: both generators translate, and the cycle keeps the content"
    elif translates:
        head = "Not yet: both generators translate, but the cycle loses the content"
    else:
        head = "Not yet: the judge finds too few translations in the other domain"
    return (
        f"{head} (the judge reads {m['x_to_y']:.0%} of translated apples as oranges and "
        f"{m['y_to_x']:.0%} of translated oranges as apples; the identity map: "
        f"{m['x_to_y_identity']:.0%} and {m['y_to_x_identity']:.0%}; reconstruction error "
        f"{m['reconstruction_l1']:.3f}, against {m['reconstruction_l1_swapped']:.3f} for "
        "swapping images)."
    )
