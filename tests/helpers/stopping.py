"""A Control that stops the training loop at an exact step boundary (tests of stop and resume)."""
from __future__ import annotations

import time

from engine.control import Control


class StopAt(Control):
    """Asks the loop to stop when it checks for the n-th time (a step boundary, exactly).

    The loop checks once before every step and once after every epoch but the last.
    """

    def __init__(self, n: int, drag_s: float = 0.0) -> None:
        super().__init__()
        self.left = n
        self.drag_s = drag_s
        """Seconds each check sleeps: every step that long at least, as on a busy machine."""

    @property
    def stop_requested(self) -> bool:
        time.sleep(self.drag_s)
        self.left -= 1
        return self.left < 0 or super().stop_requested
