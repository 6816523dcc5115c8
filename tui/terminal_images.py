"""How the app shows one image large: real pixels (kitty's graphics protocol or sixel), or half blocks.

textual-image (the optional ``images`` extra) draws real pixels in terminals that speak the kitty graphics
protocol or sixel. Which one a terminal speaks it can only learn by asking, and the answers come back on
stdin, so they must be read before Textual's driver starts reading it. ``ImageProbe`` asks once per
process, in a thread that runs while the app is built and its CSS parsed; CifarApp joins it on Load, which
comes before the driver takes the terminal (tui/app.py).

The asking is ours, not textual-image's import-time detection: one write of a kitty graphics query followed
by a DA1 query, then one read until the DA1 answer, which every terminal sends (kitty's own advice for
telling whether the graphics protocol is there). A kitty answer before it means the kitty protocol; a 4
among the DA1 attributes means sixel, preferred when both (as textual-image prefers it: Konsole and WezTerm
answer the kitty query but do not draw the placeholders textual-image uses). So a terminal without
graphics costs one round trip and no import; textual-image's import (numpy, Pillow, and its own queries)
and the cell size in pixels, which it sizes images by, follow only where graphics were found. Half blocks
(tui/widgets/pixels.py) stay wherever textual-image is not installed, under NO_COLOR, on a terminal that
answers no graphics (or nothing within ANSWER_S), and in Pilot tests.

``CIFAR_TUI_IMAGES`` forces the choice: ``halfblock`` never asks; ``kitty`` or ``sixel`` use that
protocol without asking (a terminal that answers wrongly, or a link slower than ANSWER_S); ``auto`` (the
default) asks. Plain Python: textual-image is imported only in the probe's thread.
"""
from __future__ import annotations

import importlib.util
import logging
import os
import re
import select
import sys
import threading
import time
from typing import Mapping

from engine.config import UserError

ENV = "CIFAR_TUI_IMAGES"
AUTO, HALFBLOCK, KITTY, SIXEL = "auto", "halfblock", "kitty", "sixel"
CHOICES = (AUTO, HALFBLOCK, KITTY, SIXEL)
GRAPHICS = (KITTY, SIXEL)
EXTRA = "pip install 'cifar-tui[images]'"
ANSWER_S = 0.5
"""How long to wait for the DA1 answer: a round trip over a slow SSH link fits; only a terminal that never
answers waits it out (in the probe's thread, while the app is being built)."""

KITTY_QUERY = b"\x1b_Gi=31,s=1,v=1,a=q,t=d,f=24;AAAA\x1b\\"  # a 1x1 RGB image, queried, never stored
DA1 = b"\x1b[c"
DA1_ANSWER = re.compile(rb"\x1b\[\?([\d;]*)c")
KITTY_OK = re.compile(rb"\x1b_Gi=31;OK\x1b\\")


def requested(environ: Mapping[str, str]) -> str:
    """CIFAR_TUI_IMAGES, checked: auto when unset; UserError (one line) for anything else unknown."""
    value = environ.get(ENV, "").strip().lower() or AUTO
    if value not in CHOICES:
        raise UserError(f"{ENV}={environ.get(ENV)!r} is not a choice: use {', '.join(CHOICES)}")
    return value


def installed() -> bool:
    """Whether textual-image can be imported (found, not imported: its import asks the terminal)."""
    try:
        return importlib.util.find_spec("textual_image") is not None
    except (ImportError, ValueError):
        return False


def ask_terminal(fd_in: int, fd_out: int, timeout: float = ANSWER_S) -> str:
    """KITTY, SIXEL or HALFBLOCK by the terminal's answers to a kitty graphics query and DA1 (module doc).

    stdin is in cbreak mode meanwhile (no echo of the answers) and restored after; a key typed during the
    round trip is read with the answers and lost.
    """
    import termios  # POSIX only: on Windows nothing is asked (ImageProbe)
    import tty

    saved = termios.tcgetattr(fd_in)
    tty.setcbreak(fd_in, termios.TCSANOW)
    try:
        os.write(fd_out, KITTY_QUERY + DA1)
        seen = b""
        deadline = time.monotonic() + timeout
        while (answer := DA1_ANSWER.search(seen)) is None:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd_in], [], [], left)[0]:
                return HALFBLOCK
            seen += os.read(fd_in, 1024)
    finally:
        termios.tcsetattr(fd_in, termios.TCSANOW, saved)
    if "4" in answer.group(1).decode().split(";"):
        return SIXEL
    return KITTY if KITTY_OK.search(seen[: answer.start()]) else HALFBLOCK


def prepare_textual_image() -> None:
    """Import textual-image and have it ask the cell size in pixels (cached), while stdin is still ours.

    Its import runs its own detection when stdout is a terminal (answered at once where graphics were found).
    """
    # textual-image logs a warning when the terminal does not answer the cell-size query: Python's
    # last-resort handler would print it on the terminal, under the app about to start.
    quiet = logging.getLogger("textual_image")
    quiet.addHandler(logging.NullHandler())
    quiet.propagate = False
    from textual_image._terminal import get_cell_size
    import textual_image.widget  # noqa: F401 - the widgets FullImage mounts, imported before the app runs

    get_cell_size()


class ImageProbe:
    """The renderer for this process's app, found in a thread started at construction; ``result()`` joins it.

    Nothing is asked (and no thread started) for halfblock, under NO_COLOR, without textual-image, when
    stdin or stdout is no terminal, on the Linux console (TERM=linux: neither protocol), or on Windows
    (no termios: auto means half blocks there; kitty or sixel still force textual-image). A bad
    CIFAR_TUI_IMAGES, or kitty/sixel asked for without textual-image, raises UserError here, before the
    terminal is touched.
    """

    def __init__(self, environ: Mapping[str, str] = os.environ) -> None:
        asked = requested(environ)
        if asked in GRAPHICS and not installed():
            raise UserError(f"{ENV}={asked} needs textual-image: {EXTRA}")
        self._asked = asked
        self._result = HALFBLOCK
        self._thread: threading.Thread | None = None
        if asked == HALFBLOCK or "NO_COLOR" in environ or environ.get("TERM") == "linux" or not installed() \
                or not _terminal(sys.__stdin__) or not _terminal(sys.__stdout__) \
                or (asked == AUTO and sys.platform == "win32"):
            return
        self._thread = threading.Thread(target=self._run, name="image-probe", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            found = self._asked
            if found not in GRAPHICS:
                assert sys.__stdin__ is not None and sys.__stdout__ is not None  # both terminals (__init__)
                found = ask_terminal(sys.__stdin__.fileno(), sys.__stdout__.fileno())
            if found in GRAPHICS:
                prepare_textual_image()
            self._result = found
        except Exception:  # noqa: BLE001 - a broken install or a terminal that answers nonsense: half blocks
            self._result = HALFBLOCK

    @property
    def asks(self) -> bool:
        """Whether the terminal is being (or was) asked."""
        return self._thread is not None

    def result(self) -> str:
        """KITTY, SIXEL or HALFBLOCK, once the probe is done (one round trip; ANSWER_S at most for a silent
        terminal; plus textual-image's import where graphics were found)."""
        if self._thread is not None:
            self._thread.join()
        return self._result


def _terminal(stream: object) -> bool:
    try:
        return stream is not None and bool(stream.isatty())  # type: ignore[attr-defined]
    except (AttributeError, ValueError, OSError):  # closed or replaced streams
        return False
