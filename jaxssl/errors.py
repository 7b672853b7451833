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
