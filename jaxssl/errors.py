"""Errors for bad input: each message names the problem and the fix."""

import contextlib
import os
import traceback


class ConfigError(ValueError):
    """A config value, data set or workdir that jaxssl refuses to train on."""


class DatasetError(ConfigError):
    """A data source that is missing, empty, corrupt, or can't be split as asked."""


class WorkdirMismatchError(ConfigError):
    """The workdir holds a checkpoint or labeled split from a different run, or can't be written."""


class TrainingDivergedError(ConfigError):
    """The loss stopped being finite; the hyperparameters, not the code, need a change."""


class ConfigFileError(ConfigError):
    """A config file that fails to load: a bug in that Python file, not a bad value."""


class CheckpointUnreadableError(ConfigError):
    """No checkpoint of the workdir can be restored (truncated or corrupt files)."""


def nearest_multiples(value: int, step: int) -> str:
    """The positive multiples of `step` on either side of `value`, for a message's fix.

    nearest_multiples(10, 4) == "8 or 12"; below the first multiple only that one
    is offered: nearest_multiples(3, 4) == "4".
    """
    lower = value - value % step
    return f"{lower} or {lower + step}" if lower > 0 else f"{step}"


def _config_file_problem(error: BaseException, path: str) -> str | None:
    """A one-line report of `error` if it arose in the config file `path`'s own code, else None.

    For a syntax error, an exception raised by the file's code (with the file's
    line), or a file without get_config(): a bug in the Python file, not a bad
    value, so the message points at the file rather than at a field.
    """
    if not os.path.isfile(path):
        return None

    def in_config_file(filename) -> bool:
        return bool(filename) and os.path.isfile(filename) and os.path.samefile(filename, path)

    if isinstance(error, SyntaxError) and in_config_file(error.filename):
        line = error.lineno
    else:
        frames = [f for f in traceback.extract_tb(error.__traceback__)
                  if in_config_file(f.filename)]
        if not frames:
            if isinstance(error, AttributeError) and "get_config" in str(error):
                return (f"The config file {path} defines no get_config(): a config file needs "
                        "a get_config() (or get_config(arg), for <file>:<arg>) that returns an "
                        "ml_collections.ConfigDict.")
            if isinstance(error, TypeError) and "get_config()" in str(error):
                return (f"The config file {path} was called with an argument its get_config "
                        f"does not take ({error}): give it a parameter for the text after "
                        "':' in <file>:<arg> (the sweep passes '<preset>,labels=N,seed=S').")
            return None
        line = frames[-1].lineno
    return (f"The config file {path} fails at line {line}: {type(error).__name__}: {error}. "
            "Fix the file (run it with python to see the whole error).")


@contextlib.contextmanager
def config_file_loading(path: str, passthrough=()):
    """Turns an error of the config file `path`'s own code into a one-line ConfigFileError.

    Wraps the loading of the file and the call of its get_config. Errors of the
    types in `passthrough` (the caller's own reports) and errors that did not
    arise in the file propagate unchanged.
    """
    try:
        yield
    except passthrough:
        raise
    except Exception as error:  # the config file's own code may raise anything
        problem = _config_file_problem(error, path)
        if problem is None:
            raise
        raise ConfigFileError(problem) from None
