"""Tick positions and labels for the charts' axes: linear, whole numbers (epochs, steps), durations and log.

Plain Python (no textual): tui.widgets.plot hands the ticks to textual-plot, which draws them where we say.
textual-plot has no log scale, so a log axis is drawn on log10 of the values; ``log_ticks`` gives the
positions there and labels them with the real values (0.5, 1, 2), as a log axis reads.
"""
from __future__ import annotations

import math

NICE = (1.0, 2.0, 5.0)


def nice_ticks(lo: float, hi: float, max_ticks: int, whole: bool = False) -> list[float]:
    """Ticks at 1, 2 or 5 × 10^k steps inside [lo, hi], at most ``max_ticks`` of them (and at least one where
    the range holds a nice number); ``whole``: only integers (epochs, steps)."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi < lo:
        return []
    span = hi - lo
    if span <= 0:
        return [lo]
    max_ticks = max(1, max_ticks)
    power = math.floor(math.log10(span / max_ticks))
    while True:
        for nice in NICE:
            step = nice * 10.0 ** power
            if whole and step < 1:
                continue
            first = math.ceil(lo / step - 1e-9)
            count = math.floor(hi / step + 1e-9) - first + 1
            if count <= max_ticks:
                return [round((first + i) * step, 12) for i in range(max(0, count))]
        power += 1


def labels(ticks: list[float]) -> list[str]:
    """The ticks as text, all with the decimals their spacing needs (0.25 0.50 0.75, not 0.25 0.5 0.75)."""
    decimals = next((d for d in range(10) if all(abs(round(t, d) - t) < 1e-9 * max(1.0, abs(t)) for t in ticks)), 10)
    return [f"{t:.{decimals}f}" for t in ticks]


TIME_UNITS = (("h", 3600.0, 3 * 3600.0), ("min", 60.0, 300.0), ("s", 1.0, 0.0))
"""(suffix, seconds in one, the span from which it is used): a 10-minute run reads in minutes."""


def time_ticks(lo: float, hi: float, max_ticks: int) -> tuple[list[float], list[str]]:
    """Ticks (in seconds) and labels with a unit ('30s', '2min', '1.5h') for an axis of seconds."""
    suffix, unit = next((s, u) for s, u, start in TIME_UNITS if hi - lo >= start)
    ticks = nice_ticks(lo / unit, hi / unit, max_ticks)
    return [t * unit for t in ticks], [text + suffix for text in labels(ticks)]


def log_ticks(lo: float, hi: float, max_ticks: int) -> tuple[list[float], list[str]]:
    """Ticks on an axis that runs from 10^lo to 10^hi (positions are log10 of the values): at 1, 2, 5 × 10^k
    where they fit, else the powers of ten alone, else (a range within one decade) evenly spaced positions
    labelled with the values they stand for."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi < lo:
        return [], []
    for mantissas in (NICE, (1.0, 3.0), (1.0,)):
        values = [m * 10.0 ** k for k in range(math.floor(lo) - 1, math.ceil(hi) + 1) for m in mantissas]
        inside = [v for v in values if lo - 1e-9 <= math.log10(v) <= hi + 1e-9]
        if len(inside) < 2:
            break  # the range is narrower than these steps: evenly spaced positions below
        if len(inside) <= max(2, max_ticks) or mantissas == (1.0,):
            inside = inside[::-(-len(inside) // max(2, max_ticks))]  # many decades: every k-th power
            return [math.log10(v) for v in inside], [value_text(v) for v in inside]
    count = max(2, min(max_ticks, 4))
    positions = [lo + (hi - lo) * i / (count - 1) for i in range(count)] if hi > lo else [lo]
    return positions, [value_text(10.0 ** p) for p in positions]


def value_text(value: float) -> str:
    """A real value for a log axis: two significant digits without a trailing '.0' (0.05, 0.5, 2, 1.3, 20)."""
    if value == 0:
        return "0"
    digits = max(0, 1 - math.floor(math.log10(abs(value))))
    text = f"{value:.{digits}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text
