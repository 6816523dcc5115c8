"""A word when a run ends: the bell and the OSC 9 / OSC 777 desktop notification, once per run; --no-notify."""
from __future__ import annotations

from pathlib import Path

import tui.app as app_module
import tui.cli.main as cli
from engine.runs.follow import FollowUpdate
from engine.runs.status import RunStatus
from tui.app import CifarApp
from tui.screens.dashboard import DashboardScreen, FollowUpdateMessage
from tui.terminal_notify import end_text, escapes
from tests.helpers.tui_fixtures import tiny_config
from tests.helpers.waiting import pilot_wait_until


def test_escapes_carry_the_text_and_cannot_be_broken_by_it() -> None:
    seq = escapes("cifar-tui", "run r1 completed")
    assert seq == "\x1b]9;cifar-tui: run r1 completed\x07\x1b]777;notify;cifar-tui;run r1 completed\x07"
    assert escapes("a;b", "x\x07\x1by").count("\x07") == 2  # a BEL or ESC in the text would end it early
    assert end_text("stale", "r2") == "run r2 stopped: its process is gone"


class Capture:
    """The terminal as the app's driver writes to it, and the bells rung."""

    def __init__(self, app: CifarApp, monkeypatch) -> None:
        self.written: list[str] = []
        self.bells = 0
        monkeypatch.setattr(app._driver, "write", self.written.append)
        monkeypatch.setattr(app, "bell", self.ring)

    def ring(self) -> None:
        self.bells += 1

    def text(self) -> str:
        return "".join(self.written)


async def _train_tiny(tmp_path: Path, monkeypatch, notify: bool) -> tuple[Capture, str]:
    app = CifarApp(tiny_config(tmp_path, epochs=1), notify=notify)
    async with app.run_test(size=(80, 24)) as pilot:
        capture = Capture(app, monkeypatch)
        dash = app.screen
        assert isinstance(dash, DashboardScreen)
        await pilot_wait_until(pilot, lambda: dash.state.status == "completed", timeout=60)
        await pilot.pause(0.3)
        run_id = dash.state.run_id
        app.announce_end("completed", run_id)  # a second word about the same run changes nothing
    return capture, run_id


async def test_a_run_that_ends_rings_and_notifies_once(tmp_path: Path, monkeypatch) -> None:
    capture, run_id = await _train_tiny(tmp_path, monkeypatch, notify=True)
    assert capture.text().count(f"\x1b]9;cifar-tui: run {run_id} completed\x07") == 1
    assert capture.text().count(f"\x1b]777;notify;cifar-tui;run {run_id} completed\x07") == 1
    assert capture.bells == 1


async def test_no_notify_says_nothing(tmp_path: Path, monkeypatch) -> None:
    capture, _ = await _train_tiny(tmp_path, monkeypatch, notify=False)
    assert "\x1b]9;" not in capture.text() and "\x1b]777;" not in capture.text() and capture.bells == 0


def _update(status: str) -> FollowUpdate:
    return FollowUpdate(status=RunStatus(status))


async def test_a_followed_run_notifies_only_when_seen_ending(tmp_path: Path, monkeypatch) -> None:
    app = CifarApp(runs_dir=str(tmp_path), start_screen=DashboardScreen.for_events([]))
    async with app.run_test(size=(80, 24)) as pilot:
        capture = Capture(app, monkeypatch)
        dash = app.screen
        assert isinstance(dash, DashboardScreen)
        dash.state.run_id = "r-done"
        dash.post_message(FollowUpdateMessage(_update("completed")))  # opened after it ended: no word
        await pilot.pause(0.2)
        assert capture.bells == 0
        dash.state.run_id = "r-live"
        dash.post_message(FollowUpdateMessage(_update("running")))
        dash.post_message(FollowUpdateMessage(_update("diverged")))
        await pilot_wait_until(pilot, lambda: capture.bells == 1, timeout=5)
        assert "\x1b]777;notify;cifar-tui;run r-live diverged\x07" in capture.text()


def test_no_notify_flag_reaches_the_app(monkeypatch, tmp_path) -> None:
    got: dict = {}
    monkeypatch.setattr(app_module, "run_app", lambda **kw: got.update(kw) or 0)
    assert cli.main(["train", "--model", "mlp", "--runs-dir", str(tmp_path), "--no-notify"]) == 0
    assert got["notify"] is False
    assert cli.main(["train", "--model", "mlp", "--runs-dir", str(tmp_path)]) == 0
    assert got["notify"] is True



def test_watch_takes_no_notify_too(monkeypatch, tmp_path) -> None:
    """`cifar-tui watch` opens the app on a run that may end while it is open: the same flag turns the word off."""
    from engine.training.loop import train

    run = train(tiny_config(tmp_path, epochs=1)).run_dir  # a real run's folder for watch to resolve
    got: dict = {}
    monkeypatch.setattr(app_module, "run_app", lambda **kw: got.update(kw) or 0)
    assert cli.main(["watch", str(run), "--runs-dir", str(tmp_path), "--no-notify"]) == 0
    assert got["notify"] is False and Path(got["watch"]) == Path(run)
    assert cli.main(["watch", "--runs-dir", str(tmp_path)]) == 0  # the newest run, the word on
    assert got["notify"] is True and Path(got["watch"]) == Path(run)
