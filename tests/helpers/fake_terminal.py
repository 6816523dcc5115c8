"""A terminal played by the test: a child process on a pty whose queries the test answers like a given
terminal would (sixel in the DA1 answer, an OK to a kitty graphics query, the cell size in pixels), or not.

The child's stdin, stdout and stderr are the pty, so it sees a real terminal (isatty, TIOCGWINSZ).
"""
from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time
from dataclasses import dataclass

from tests.helpers import ROOT

DA1 = b"\x1b[c"
CELL_QUERY = b"\x1b[16t"
KITTY_QUERY = re.compile(rb"\x1b_Gi=(\d+),[^;]*a=q[^;]*;[A-Za-z0-9+/=]*\x1b\\")


@dataclass
class Answers:
    """How the played terminal answers (None: it stays silent, as many terminals do to what they don't know)."""

    da1: bytes | None = b"\x1b[?62;22c"  # a VT220-class terminal without sixel
    kitty: bool = False  # answer the kitty graphics query with OK
    cell: tuple[int, int] | None = None  # (width, height) pixels: in TIOCGWINSZ, else answered to CSI 16 t
    cell_in_winsize: bool = True


def run_on_fake_terminal(code: str, answers: Answers, env: dict[str, str] | None = None,
                         timeout: float = 30.0) -> tuple[str, list[bytes], float]:
    """Run ``python -c code`` on a pty answered per ``answers``; (its output, the queries it sent, seconds)."""
    master, slave = pty.openpty()
    cols, rows = 80, 24
    cw, ch = answers.cell if answers.cell and answers.cell_in_winsize else (0, 0)
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, cols * cw, rows * ch))
    child_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    start = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-c", code], stdin=slave, stdout=slave, stderr=slave, cwd=ROOT,
                            env=child_env, close_fds=True)
    os.close(slave)
    seen = b""
    queries: list[bytes] = []
    try:
        while time.monotonic() - start < timeout:
            ready, _, _ = select.select([master], [], [], 0.05)
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # the child closed the pty: it is done
                    break
                seen += chunk
                seen = _answer(master, seen, answers, queries)
            elif proc.poll() is not None:
                break
        proc.wait(timeout=5)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
    return seen.decode(errors="replace").replace("\r\n", "\n"), queries, time.monotonic() - start


def ask_on_fake_terminal(answers: Answers, timeout: float = 0.5) -> str:
    """tui.terminal_images.ask_terminal in this process, on a pty whose other end answers per ``answers``."""
    import threading

    from tui.terminal_images import ask_terminal

    master, slave = pty.openpty()
    stop = threading.Event()

    def play() -> None:
        seen = b""
        while not stop.is_set():
            if select.select([master], [], [], 0.02)[0]:
                seen = _answer(master, seen + os.read(master, 65536), answers, [])

    player = threading.Thread(target=play, daemon=True)
    player.start()
    try:
        return ask_terminal(slave, slave, timeout)
    finally:
        stop.set()
        player.join(5)
        os.close(slave)
        os.close(master)


def _answer(master: int, seen: bytes, answers: Answers, queries: list[bytes]) -> bytes:
    """Answer every complete query in ``seen``, in the order sent, and cut it out; the rest is the child's output."""
    while True:
        found = [(seen.find(q), len(q), q) for q in (DA1, CELL_QUERY) if q in seen]
        match = KITTY_QUERY.search(seen)
        if match:
            found.append((match.start(), match.end() - match.start(), b"kitty"))
        if not found:
            return seen
        at, length, query = min(found)
        queries.append(query)
        seen = seen[:at] + seen[at + length:]
        if query == DA1 and answers.da1 is not None:
            os.write(master, answers.da1)
        elif query == CELL_QUERY and answers.cell is not None:
            os.write(master, b"\x1b[6;%d;%dt" % (answers.cell[1], answers.cell[0]))
        elif query == b"kitty" and answers.kitty and match is not None:
            os.write(master, b"\x1b_Gi=%s;OK\x1b\\" % match.group(1))
