"""Was this process started by torchrun? Read from the environment torchrun sets, without importing torch
(the CLI asks before it decides whether to open the app)."""
from __future__ import annotations

import os

WORLD_ENV = "WORLD_SIZE"
RANK_ENV = "RANK"


def world_from_env() -> int:
    """WORLD_SIZE as torchrun sets it; 1 when absent or not a number."""
    try:
        return max(1, int(os.environ.get(WORLD_ENV, "1")))
    except ValueError:
        return 1


def under_torchrun() -> bool:
    """Started by torchrun (or any launcher that sets WORLD_SIZE) with more than one process."""
    return world_from_env() > 1


def is_main_process() -> bool:
    """Rank 0, or no job at all: the process that prints and writes."""
    return os.environ.get(RANK_ENV, "0") in ("", "0")
