"""Runs as TensorBoard sees them (read back with TensorBoard's own reader), and a webhook when a run ends."""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from engine.config import RunConfig
from engine.control import Control
from engine.events import StepDone
from engine.runs.reader import read_metrics
from engine.runs.steps import read_steps
from engine.runs.tensorboard import EPOCH_TAGS
from engine.training.loop import train
from engine.training.outlets import NOTIFY_ENV
from tests.helpers.cli_process import cli

event_accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator",
                                        reason="TensorBoard's reader comes with the test extra")


def scalars(folder: Path) -> dict[str, list[tuple[int, float]]]:
    acc = event_accumulator.EventAccumulator(str(folder))
    acc.Reload()
    return {tag: [(e.step, e.value) for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}


def assert_matches_metrics(run: Path, folder: Path) -> None:
    got = scalars(folder)
    records = read_metrics(run)
    for key, tag in EPOCH_TAGS.items():
        expected = [r[key] for r in records if isinstance(r.get(key), (int, float))]
        assert [pytest.approx(v, rel=1e-6) for _, v in got.get(tag, [])] == expected, tag
    assert len(got["train/loss_step"]) == len(read_steps(run))


def tiny(runs_dir: Path, **changes: object) -> RunConfig:
    return RunConfig(dataset="synthetic", model="mlp", epochs=3, train_limit=600, test_limit=100, batch_size=32,
                     runs_dir=str(runs_dir)).replace(**changes)


def test_every_epoch_in_tensorboard_equals_metrics_jsonl(runs_dir: Path) -> None:
    result = train(tiny(runs_dir))
    run = Path(result.run_dir)
    assert_matches_metrics(run, run / "tensorboard")
    hparams = scalars(run / "tensorboard" / "hparams")
    assert hparams["hparam/test_acc"][0][1] == pytest.approx(result.summary["test_acc"])
    assert any(tag.startswith("per_class/") for tag in scalars(run / "tensorboard"))


def test_a_resumed_run_keeps_one_value_per_epoch(runs_dir: Path) -> None:
    control = Control()

    def stop_in_epoch_2(event: object) -> None:
        if isinstance(event, StepDone) and event.epoch == 2 and event.step >= 10:
            control.stop()

    first = train(tiny(runs_dir), stop_in_epoch_2, control)
    assert first.status == "interrupted"
    train(tiny(runs_dir), resume=first.run_dir)
    run = Path(first.run_dir)
    assert_matches_metrics(run, run / "tensorboard")


@pytest.mark.slow
def test_no_tensorboard_then_export(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    out = cli("--no-ui", "--dataset", "synthetic", "--model", "mlp", "--epochs", "2", "--train-limit", "400",
              "--test-limit", "100", "--no-tensorboard", "--runs-dir", runs)
    assert out.returncode == 0, out.stderr
    (run,) = [p for p in runs.iterdir() if p.is_dir()]
    assert not (run / "tensorboard").exists()
    exported = cli("export", run.name, "--format", "tensorboard", "-o", tmp_path / "tb", "--runs-dir", runs)
    assert exported.returncode == 0, exported.stderr
    assert_matches_metrics(run, tmp_path / "tb" / run.name)
    assert "tensorboard --logdir" in exported.stderr


def test_the_webhook_hears_the_end_of_a_run(runs_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    got: list[dict] = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the standard library's name
            got.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        monkeypatch.setenv(NOTIFY_ENV, f"http://127.0.0.1:{server.server_port}/hook")
        result = train(tiny(runs_dir, epochs=1, name="hooked"))
    finally:
        server.shutdown()
    assert len(got) == 1
    message = got[0]
    assert message["status"] == "completed" and message["run_id"] == result.run_id and message["name"] == "hooked"
    assert message["text"] == message["content"] and "completed" in message["text"]


def test_a_webhook_that_fails_never_fails_the_run(runs_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(NOTIFY_ENV, "http://127.0.0.1:9/nobody-listens")
    logs: list[str] = []
    result = train(tiny(runs_dir, epochs=1), lambda e: logs.append(getattr(e, "message", "")))
    assert result.status == "completed"
    assert any("--notify" in line for line in logs)
