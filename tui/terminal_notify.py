"""A word in the terminal when a run ends: the bell, and a desktop notification by escape sequence.

Two sequences, as terminals differ in which they understand: OSC 9 (iTerm2, Windows Terminal, kitty,
WezTerm, foot, Ghostty) and OSC 777 ``notify`` (rxvt, VTE terminals such as GNOME Terminal, kitty,
WezTerm). A terminal that knows neither ignores them; tmux passes them on to the terminal it runs in
(with ``allow-passthrough`` off it still rings the bell). The text is the run's id and how it ended.

Pure functions (no textual): the app writes what they return (CifarApp.announce_end).
"""
from __future__ import annotations

TITLE = "cifar-tui"
WORTH_A_WORD = ("completed", "failed", "diverged", "stale")
"""How a run ends that someone away from the screen wants to hear about. An interrupted run was stopped
by a key or a signal here (or by whoever stopped the run elsewhere): they know; bad input is refused at once."""


def end_text(phase: str, run_id: str) -> str:
    """'run 20260101-120000-cnn completed' (a stale run: its writer is gone)."""
    what = "stopped: its process is gone" if phase == "stale" else phase
    return f"run {run_id or '?'} {what}"


def escapes(title: str, body: str) -> str:
    """OSC 9 then OSC 777, each ended with BEL (the terminator both accept)."""
    title, body = _clean(title).replace(";", ","), _clean(body)  # OSC 777 separates its fields with ';'
    return f"\x1b]9;{title}: {body}\x07\x1b]777;notify;{title};{body}\x07"


def _clean(text: str) -> str:
    """No control characters: an ESC or BEL in a run's name would end the sequence early."""
    return "".join(c if c.isprintable() else " " for c in text)
