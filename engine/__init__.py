"""The training engine: data, models, loop, metrics and run store. Knows no UI."""
from engine.config import ConfigError, RunConfig, UserError

__all__ = ["RunConfig", "UserError", "ConfigError", "train"]


def __getattr__(name: str):
    # torch is heavy: `from engine import train` imports it only when asked.
    if name == "train":
        from engine.training.loop import train

        return train
    raise AttributeError(name)
