"""Import torch and the engine modules that need it, once, whichever worker thread asks first.

The app keeps torch off the UI thread, so several workers may want it at the
same moment (the model registry after the first frame, the dashboard's
training worker when `cifar-tui train` opens it directly, the launcher's
parameter count). torch's own import is not safe to run in two threads at once:
the second thread sees a partially initialised module and fails with a
circular-import AttributeError. One lock makes the first caller import and
every other caller wait for it.
"""
from __future__ import annotations

import threading

_lock = threading.Lock()


def import_engine() -> None:
    """Block until torch, the model registry and the training loop are imported."""
    with _lock:
        import engine.models  # noqa: F401
        import engine.models.strategies  # noqa: F401
        import engine.training.loop  # noqa: F401
