"""Errors for bad input: each message names the problem and the fix."""


class ConfigError(ValueError):
    """A config value, data set or workdir that jaxssl refuses to train on."""


class DatasetError(ConfigError):
    """A data source that is missing, empty, corrupt, or can't be split as asked."""


class WorkdirMismatchError(ConfigError):
    """The workdir holds a checkpoint or labeled split from a different run, or can't be written."""


class TrainingDivergedError(ConfigError):
    """The loss stopped being finite; the hyperparameters, not the code, need a change."""


class CheckpointUnreadableError(ConfigError):
    """No checkpoint of the workdir can be restored (truncated or corrupt files)."""


def nearest_multiples(value: int, step: int) -> str:
    """The positive multiples of `step` on either side of `value`, for a message's fix.

    nearest_multiples(10, 4) == "8 or 12"; below the first multiple only that one
    is offered: nearest_multiples(3, 4) == "4".
    """
    lower = value - value % step
    return f"{lower} or {lower + step}" if lower > 0 else f"{step}"
