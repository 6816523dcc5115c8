"""One style for every number the app and the CLI show.

Percentages, losses, times, parameter counts, rates, learning rates, run
letters, class-name abbreviations and truncation: each has one function here,
used by the headless lines, the CLI tables and every screen, so a value reads
the same wherever it appears. A missing or damaged value (None, NaN, text
where a number belongs in a hand-edited file) always shows as "-".

Pure functions of plain values: no textual, rich or torch import.
"""
from __future__ import annotations

import math

MISSING = "-"
ELLIPSIS = "…"


def real(x: object) -> float | None:
    """x as a finite float, else None: saved files may hold null, NaN or text where a number belongs."""
    if isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x):
        return float(x)
    return None


def pct(x: object) -> str:
    """An accuracy: 83.59%."""
    v = real(x)
    return MISSING if v is None else f"{100 * v:.2f}%"


def class_pct(x: object) -> str:
    """A per-class accuracy (coarser: a class has a tenth of the test set): 83.6%."""
    v = real(x)
    return MISSING if v is None else f"{100 * v:.1f}%"


def points(delta: object) -> str:
    """A change of accuracy in percentage points, signed: +1.3 / -0.4."""
    v = real(delta)
    return MISSING if v is None else f"{100 * v:+.1f}"


def loss_delta(delta: object) -> str:
    """A difference of losses, signed: +0.412 / -0.030 (the generalisation gap)."""
    v = real(delta)
    return MISSING if v is None else f"{v:+.3f}"


def share(x: object) -> str:
    """How much of something is done, whole: 36% (progress, never an accuracy)."""
    v = real(x)
    return MISSING if v is None else f"{100 * v:.0f}%"


def memory(in_use: object, peak: object = None) -> str:
    """Bytes in use and the peak, in the peak's unit: 3.2/4.1 GB, 310/415 MB."""
    now, top = real(in_use), real(peak)
    if now is None:
        return MISSING
    top = max(now, top or 0.0)
    if top >= 1e9:
        return f"{now / 1e9:.1f}/{top / 1e9:.1f} GB"
    return f"{now / 1e6:.0f}/{top / 1e6:.0f} MB"


def size(n: object) -> str:
    """Bytes, short: 2.1G, 310M, 1.4T (the system line, where columns are scarce)."""
    v = real(n)
    if v is None:
        return MISSING
    for unit, scale in (("T", 1e12), ("G", 1e9), ("M", 1e6)):
        if v >= scale:
            return f"{v / scale:.1f}{unit}" if v < 100 * scale else f"{v / scale:.0f}{unit}"
    return f"{v / 1e3:.0f}k"


def loss(x: object) -> str:
    v = real(x)
    return MISSING if v is None else f"{v:.4f}"


def duration(s: object) -> str:
    """Seconds as 4.2s, 42s, 1m58s or 1h02m: the one time format of the app."""
    v = real(s)
    if v is None or v < 0:
        return MISSING
    if v < 9.95:
        return f"{v:.1f}s"
    t = int(round(v))
    if t < 60:
        return f"{t}s"
    if t < 3600:
        return f"{t // 60}m{t % 60:02d}s"
    return f"{t // 3600}h{(t % 3600) // 60:02d}m"


def params(n: object) -> str:
    """A parameter count in millions: 0.17M, 2.39M, 23.53M; a small head in thousands: 5.1k."""
    v = real(n)
    if v is None:
        return MISSING
    return f"{v / 1e6:.2f}M" if v >= 10_000 else f"{v / 1e3:.1f}k"


def rate(x: object) -> str:
    """Images per second, whole."""
    v = real(x)
    return MISSING if not v else f"{v:.0f}"


def lr(x: object) -> str:
    v = real(x)
    return MISSING if v is None else f"{v:.3g}"


def mean_std(mean: float, std: float, kind: str) -> str:
    """A mean over seeds with its spread, in the metric's own style."""
    if kind == "pct":
        return f"{100 * mean:.2f} ± {100 * std:.2f}%"
    if kind == "time":
        return f"{duration(mean)} ± {duration(std)}"
    return f"{mean:.4f} ± {std:.4f}" if kind == "loss" else f"{mean:.0f} ± {std:.0f}"


def metric(value: object, kind: str) -> str:
    """A metric cell by kind: pct, points (a signed accuracy gap), loss, loss_delta, rate or time."""
    kinds = {"pct": pct, "points": lambda v: f"{points(v)} pts" if real(v) is not None else MISSING,
             "loss": loss, "loss_delta": loss_delta, "rate": rate}
    return kinds.get(kind, duration)(value)


def progress(done: int, total: int | None, unit: str) -> str:
    """How far a phase is: '12,000/60,000 images (20%)', '41/160 MB (26%)', or '3,000 images' with no total."""
    if unit == "bytes":
        mb = f"{done / 1e6:.0f}" + (f"/{total / 1e6:.0f}" if total else "") + " MB"
        return mb + (f" ({share(done / total)})" if total else "")
    text = f"{done:,}" + (f"/{total:,}" if total is not None else "") + f" {unit}"
    return text + (f" ({share(done / total)})" if total else "")


def count(n: int, noun: str) -> str:
    """'1 run', '3 runs' (nouns taking an s)."""
    return f"{n} {noun}" + ("" if n == 1 else "s")


def truncate(text: str, width: int) -> str:
    """text cut to width characters, the cut marked with one ellipsis."""
    if width <= 0:
        return ""
    return text if len(text) <= width else text[: width - 1] + ELLIPSIS


def shorten_middle(text: str, width: int) -> str:
    """text cut to width in its middle: run names differ at both ends ('mlp-scratch-…-seed-3')."""
    if len(text) <= width:
        return text
    if width <= 2:
        return truncate(text, width)
    head = (width - 1) // 2
    return text[:head] + ELLIPSIS + text[len(text) - (width - 1 - head):]


def letter(i: int) -> str:
    """Run labels A, B, ..., Z, AA, AB, ... (B − A reads naturally)."""
    s = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        s = chr(65 + r) + s
    return s


def abbreviations(names: list[str], width: int = 4) -> list[str]:
    """Short, unique class labels: 'airplane' -> 'airp', 'red-horizontal' -> 'reho'."""
    out: list[str] = []
    for name in names:
        parts = [p for p in name.replace("_", "-").replace(" ", "-").split("-") if p]
        if len(parts) > 1:
            per = max(1, width // len(parts))
            short = "".join(p[:per] for p in parts)[:width]
        else:
            short = name[:width]
        out.append(short)
    seen: dict[str, int] = {}
    for i, short in enumerate(out):  # clashes (e.g. CIFAR-100 'maple_tree'/'maple...') get a digit
        if out.count(short) > 1:
            seen[short] = seen.get(short, 0) + 1
            out[i] = short[: width - 1] + str(seen[short] % 10)
    return out
