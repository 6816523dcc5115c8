"""A real terminal for benchmarks: a command run on a pseudo-terminal of a given size, every byte it writes
timestamped as it arrives.

Textual's headless mode (App.run_test) lays out and renders frames but never writes them, so the cost of
turning frames into escape sequences and the bytes a terminal has to take stay unmeasured there. Here the
app runs as a user runs it (`python -m tui ...`), on a pty this process reads continuously (as a terminal
emulator would: a full pty buffer would block the app's writes), and that answers a primary device
attributes query (DA1) as every terminal emulator does, without sixel: the app asks it before it starts
(tui/terminal_images.py), and a terminal that never answers would make it wait.

    with Terminal.spawn([sys.executable, "-m", "tui"], size=(80, 24), cwd=root) as term:
        t = term.wait_for(b"new training run")     # seconds after the spawn
        term.send(b"\\x11")                          # ctrl+q
"""
from __future__ import annotations

import fcntl
import os
import select
import signal
import struct
import subprocess
import termios
import threading
import time
from pathlib import Path
from typing import Sequence


DA1 = b"\x1b[c"
DA1_ANSWER = b"\x1b[?62;22c"  # a VT220-class terminal: no sixel (attribute 4)


class Terminal:
    """The child's controlling terminal; ``chunks`` holds (monotonic seconds, bytes) of its output."""

    def __init__(self, proc: subprocess.Popen[bytes], master: int, started: float) -> None:
        self.proc = proc
        self.master = master
        self.started = started
        self.chunks: list[tuple[float, bytes]] = []
        self._lock = threading.Lock()
        self._pending = b""
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    @classmethod
    def spawn(cls, argv: Sequence[str], size: tuple[int, int] = (80, 24), cwd: str | Path | None = None,
              env: dict[str, str] | None = None) -> "Terminal":
        """Start argv on a new pty of size (columns, rows), as its session leader (keys and signals reach it)."""
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", size[1], size[0], 0, 0))
        environment = {**os.environ, "TERM": "xterm-256color", "COLUMNS": str(size[0]), "LINES": str(size[1]),
                       **(env or {})}
        started = time.perf_counter()
        proc = subprocess.Popen(list(argv), stdin=slave, stdout=slave, stderr=slave, cwd=cwd, env=environment,
                                start_new_session=True, preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0))
        os.close(slave)
        return cls(proc, master, started)

    def _read(self) -> None:
        while True:
            try:
                ready, _, _ = select.select([self.master], [], [], 0.2)
                if not ready:
                    if self.proc.poll() is not None:
                        return
                    continue
                data = os.read(self.master, 65536)
            except OSError:  # EIO: the child closed the terminal
                return
            if not data:
                return
            with self._lock:
                self.chunks.append((time.perf_counter(), data))
            pending = self._pending + data  # a query split over two reads is still seen
            self._pending = pending.rsplit(DA1, 1)[-1][-(len(DA1) - 1):]
            try:
                for _ in range(pending.count(DA1)):
                    os.write(self.master, DA1_ANSWER)
            except OSError:  # closed meanwhile
                return

    def output(self) -> bytes:
        with self._lock:
            return b"".join(data for _, data in self.chunks)

    def wait_for(self, *needles: bytes, timeout: float = 60.0) -> float:
        """Seconds from the spawn until every needle has appeared in the output (TimeoutError otherwise)."""
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            with self._lock:
                chunks = list(self.chunks)
            seen = b""
            for when, data in chunks:
                seen += data
                if all(n in seen for n in needles):
                    return when - self.started
            if self.proc.poll() is not None:
                break
            time.sleep(0.005)
        tail = self.output()[-600:]
        raise TimeoutError(f"{needles!r} not seen (exit {self.proc.poll()}); last output: {tail!r}")

    def bytes_between(self, start: float, end: float) -> int:
        """Bytes written between two moments (seconds after the spawn)."""
        with self._lock:
            return sum(len(d) for t, d in self.chunks if start <= t - self.started < end)

    def cpu_s(self) -> float:
        """CPU seconds the child has used so far (Linux /proc; user + system)."""
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def send(self, keys: bytes) -> None:
        os.write(self.master, keys)

    def close(self, timeout: float = 30.0) -> int | None:
        """Wait for the child to exit (SIGTERM, then SIGKILL, when it does not); its exit code."""
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                return self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                return self.proc.wait()
        finally:
            self._reader.join(1)
            if self.master >= 0:
                os.close(self.master)
                self.master = -1

    def __enter__(self) -> "Terminal":
        return self

    def __exit__(self, *exc: object) -> None:
        if self.master < 0:
            return
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
        self.close()
