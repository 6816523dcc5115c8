"""The real ``cifar-tui`` binary in a detached tmux session: keys in, the screen read back."""
from __future__ import annotations

import shutil
import subprocess
import time
import uuid
from pathlib import Path

import pytest

needs_tmux = pytest.mark.skipif(shutil.which("tmux") is None or shutil.which("cifar-tui") is None,
                                reason="needs tmux and the installed cifar-tui script")


class Tmux:
    """One detached tmux session running a shell command, on a tmux server of its own.

    A private server (-L) per session: killing it, or a test that crashes, never touches the
    user's tmux or another test's sessions.
    """

    def __init__(self, command: str, cwd: Path, size: tuple[int, int] = (80, 24)) -> None:
        self.name = f"cifar-tui-test-{uuid.uuid4().hex[:8]}"
        self.tmux = ["tmux", "-L", self.name]
        # `; echo EXIT=$?` runs once the app has restored the terminal: proof of a clean exit.
        subprocess.run([*self.tmux, "new-session", "-d", "-s", self.name, "-x", str(size[0]), "-y", str(size[1]),
                        "-c", str(cwd), f"{command}; echo EXIT=$?; sleep 30"], check=True)
        self.socket = self.pane("#{socket_path}")

    def screen(self) -> str:
        return subprocess.run([*self.tmux, "capture-pane", "-p", "-t", self.name], capture_output=True,
                              text=True).stdout

    def keys(self, *keys: str, pause: float = 0.4) -> None:
        for key in keys:
            subprocess.run([*self.tmux, "send-keys", "-t", self.name, key], check=True)
            time.sleep(pause)  # escape needs a gap, or ESC+next key reads as alt+key

    def pane(self, fmt: str) -> str:
        """A tmux format of the pane, e.g. '#{alternate_on}' (1 while an app holds the alternate screen)."""
        return subprocess.run([*self.tmux, "display-message", "-p", "-t", self.name, fmt], capture_output=True,
                              text=True).stdout.strip()

    def app_pid(self) -> int:
        """The app's process: the child of the pane's shell (the shell runs the command, then echo)."""
        shell = self.pane("#{pane_pid}")
        out = subprocess.run(["pgrep", "-P", shell], capture_output=True, text=True).stdout.split()
        assert len(out) == 1, f"expected one child of the pane's shell {shell}, got {out}"
        return int(out[0])

    def terminal_restored(self) -> bool:
        """The app left the alternate screen and turned every mouse mode off (the shell's terminal again)."""
        flags = self.pane("#{alternate_on}#{mouse_any_flag}#{mouse_button_flag}#{mouse_standard_flag}"
                          "#{mouse_sgr_flag}")
        return flags == "00000"

    def wait_for(self, text: str, timeout: float = 60.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            screen = self.screen()
            if text in screen:
                return screen
            time.sleep(0.25)
        raise AssertionError(f"{text!r} never appeared; screen:\n{self.screen()}")

    def close(self) -> None:
        subprocess.run([*self.tmux, "kill-server"], capture_output=True)
        if self.socket:
            Path(self.socket).unlink(missing_ok=True)  # tmux leaves its socket file behind
