"""Where a run is told beyond its own files: TensorBoard event files, and a webhook when it ends.

Neither may fail or slow the run: each swallows its errors after saying so once (a warning in the
log), and the webhook goes out on a thread with a short timeout, waited for only at the very end.
"""
from __future__ import annotations

import json
import os
import socket
import threading
import urllib.request
from pathlib import Path
from typing import Any, Callable

from engine.events import Log, StepDone
from engine.runs.layout import tensorboard_dir

NOTIFY_ENV = "CIFAR_TUI_NOTIFY"
"""A webhook URL (--notify sets it): a JSON POST when a run ends, fails, diverges or is interrupted."""
NOTIFY_TIMEOUT_S = 5.0


class Outlets:
    """TensorBoard while the run trains; the webhook when it ends."""

    def __init__(self, emit: Callable[[Any], None]):
        self.emit = emit
        self.tensorboard: Any = None
        self.sending: threading.Thread | None = None
        self._warned = False

    def open(self, run_dir: str | Path, steps_per_epoch: int, resume_at: int | None, enabled: bool) -> None:
        if not enabled:
            return
        from engine.runs.tensorboard import TensorBoardLog

        self.tensorboard = self._guard(lambda: TensorBoardLog(tensorboard_dir(run_dir), steps_per_epoch, resume_at))

    def step(self, e: StepDone) -> None:
        if self.tensorboard is not None:
            self._guard(lambda: self.tensorboard.step(e.epoch, e.step, e.loss, e.lr))

    def epoch(self, record: dict[str, Any], per_class: dict[str, float]) -> None:
        if self.tensorboard is not None:
            self._guard(lambda: self.tensorboard.epoch(record, per_class))

    def finish(self, config: dict[str, Any], summary: dict[str, Any], run_id: str) -> None:
        if self.tensorboard is not None:
            self._guard(lambda: self.tensorboard.finish(config, summary))
            self._guard(self.tensorboard.close)
            self.tensorboard = None
        url = os.environ.get(NOTIFY_ENV)
        if url:
            payload = notify_payload(run_id, config, summary)
            self.sending = threading.Thread(target=self._post, args=(url, payload), daemon=True)
            self.sending.start()

    def wait(self) -> None:
        """At the process's end: give the webhook its timeout to go out (it runs while the run saves)."""
        if self.sending is not None:
            self.sending.join(NOTIFY_TIMEOUT_S + 1)

    def _post(self, url: str, payload: dict[str, Any]) -> None:
        request = urllib.request.Request(url, data=json.dumps(payload).encode(), method="POST",
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=NOTIFY_TIMEOUT_S) as answer:
                answer.read()
        except Exception as exc:  # noqa: BLE001 - a hook that fails is a line in the log, never the run's failure
            self.emit(Log("warning", f"--notify: the webhook did not take the message ({type(exc).__name__}: {exc})"))

    def _guard(self, action: Callable[[], Any]) -> Any:
        try:
            return action()
        except Exception as exc:  # noqa: BLE001 - TensorBoard files are a view of the run, not the run
            if not self._warned:
                self._warned = True
                self.emit(Log("warning", f"TensorBoard events not written from here on ({type(exc).__name__}: {exc})"))
            self.tensorboard = None
            return None


def notify_payload(run_id: str, config: dict[str, Any], summary: dict[str, Any]) -> dict[str, Any]:
    """What the webhook receives: Slack's ``text`` and Discord's ``content`` (the same sentence), and the facts."""
    status = summary.get("status", "?")
    best, test = summary.get("best_acc"), summary.get("test_acc")
    name = (config.get("name") or run_id)
    sentence = (f"cifar-tui run {name} {status}" + (f": best val {best:.2%}" if isinstance(best, float) else "")
                + (f", test {test:.2%}" if isinstance(test, float) else "") + f" on {socket.gethostname()}")
    return {"text": sentence, "content": sentence, "run_id": run_id, "name": config.get("name"), "status": status,
            "best_val_acc": best, "test_acc": test, "wall_time_s": summary.get("wall_time_s"),
            "host": socket.gethostname(), "model": config.get("model"), "dataset": config.get("dataset")}
