"""gan_lab's own error types, so that every failure says whose fault it is.

- ``GanLabError`` and its subclasses are user mistakes: a bad argument, file or folder. The
  message names it and says what to do; the command line prints it in one line and exits
  with code 2.
- ``TrainingStopped`` and its subclasses stop a run through no fault of the arguments (it
  diverged, the disk is full): one line, exit code 1, the last checkpoint intact.
- Anything else (a Keras shape error, a bug) keeps its traceback and exits with code 1: a
  bug is never passed off as bad input.

Each type also derives from the built-in exception that describes it (``ValueError``,
``FileNotFoundError`` ...), so code that catches those keeps working.
"""


class GanLabError(Exception):
    """A user mistake; the message names the culprit and says what to do."""


class UsageError(GanLabError, ValueError):
    """A bad argument or setting: a wrong combination, a value out of range."""


class DataError(GanLabError, ValueError):
    """A data file exists but is not what it should be (corrupt, wrong checksum, wrong shape)."""


class DatasetNotFoundError(GanLabError, FileNotFoundError):
    """A real dataset (or a folder of images) is neither on disk nor downloadable."""


class RunError(GanLabError, ValueError):
    """A run folder that cannot be used as asked: not a run, a run of another model, no
    checkpoint, or a checkpoint that does not match the models (or is damaged)."""


class RunExistsError(GanLabError, FileExistsError):
    """A run folder already holds checkpoints and would be overwritten."""


class NotAFolderError(GanLabError, NotADirectoryError):
    """A path that must be a folder is a file."""


class TrainingStopped(Exception):
    """Training cannot go on: reported in one line (exit code 1); checkpoints stay intact."""


class DivergedError(TrainingStopped, FloatingPointError):
    """A loss became NaN or infinite."""


class CheckpointWriteError(TrainingStopped, OSError):
    """A checkpoint could not be written (disk full, quota, file-size limit)."""


class WorkerLostError(TrainingStopped):
    """Under a multi-worker strategy, another worker stopped answering (killed, crashed,
    unreachable); restarting every worker with ``--resume`` continues the run."""


class TrainingInterrupted(KeyboardInterrupt):
    """Training was stopped by Ctrl-C (SIGINT) or SIGTERM after a checkpoint was saved; the
    message names it, and so do its attributes ``run_dir`` and ``checkpoint``. A
    ``KeyboardInterrupt``, so a notebook cell stops as on Ctrl-C and ``except Exception``
    does not swallow it."""

    def __init__(self, signal_name: str, step: int, run_dir, checkpoint: str | None):
        super().__init__(
            f"{signal_name} at step {step}: training stopped; the last checkpoint is "
            f"{checkpoint}. Resume the run folder {run_dir} to go on."
        )
        self.run_dir, self.checkpoint = run_dir, checkpoint
