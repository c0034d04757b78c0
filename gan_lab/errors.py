"""gan_lab's own error types: the mistakes a user can make and fix.

The command line reports these in one line and exits with code 2; every other exception
(a Keras shape error, a bug) keeps its traceback and exits with code 1, so a bug is never
passed off as bad input.
"""


class GanLabError(Exception):
    """A user mistake: a bad argument, file or folder. The message names it and says what
    to do."""


class UsageError(GanLabError):
    """Bad command-line arguments (a wrong combination, a value out of range)."""


class RunError(GanLabError):
    """A run folder that cannot be used as asked: not a run, a run of another model, no
    checkpoint, or a checkpoint that does not match its ``run.json``."""


class DataError(GanLabError, ValueError):
    """A data file exists but is not what it should be (corrupt, wrong checksum, wrong shape)."""


class DatasetNotFoundError(GanLabError, FileNotFoundError):
    """A real dataset is neither on disk nor downloadable."""
