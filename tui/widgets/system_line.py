"""The header's system line: the machine while a run trains here (engine SystemSample).

Each GPU's utilisation, memory, temperature and power, then the process's CPU (% of one core) and
resident memory, then the free disk where the run writes. Nothing about GPUs without one. The line
takes the most detailed form that fits the width: wide terminals name every GPU; narrow ones get a
compact form, and many GPUs on a narrow terminal one summary (their mean utilisation, total memory,
hottest temperature, total power).
"""
from __future__ import annotations

from rich.text import Text

from engine.events import GpuSample, SystemSample
from tui import format as fmt

HOT_C = 85.0  # from here a GPU's temperature is shown in red: most throttle near 90 °C


def gpu_detail(g: GpuSample) -> str:
    """'GPU0 H100 87% 12.3/80.0G 65°C 301W' (the name and units a wide terminal has room for)."""
    return " ".join(filter(None, (f"GPU{g.index} {g.name}".strip(), f"{g.util_pct:.0f}%",
                                  _mem(g.mem_used, g.mem_total), _temp(g.temp_c), _power(g.power_w))))


def gpu_compact(g: GpuSample) -> str:
    """'GPU0 87% 12/80G 65° 301W'."""
    return " ".join(filter(None, (f"GPU{g.index} {g.util_pct:.0f}%", _mem(g.mem_used, g.mem_total),
                                  _temp(g.temp_c, short=True), _power(g.power_w))))


def gpu_summary(gpus: tuple[GpuSample, ...]) -> str:
    """'4 GPUs 87% 48/320G ≤71° 1204W': the mean utilisation, the memory summed, the hottest, the power summed."""
    util = sum(g.util_pct for g in gpus) / len(gpus)
    temps = [g.temp_c for g in gpus if g.temp_c is not None]
    powers = [g.power_w for g in gpus if g.power_w is not None]
    return " ".join(filter(None, (
        f"{len(gpus)} GPUs {util:.0f}%", _mem(sum(g.mem_used for g in gpus), sum(g.mem_total for g in gpus)),
        "≤" + _temp(max(temps), short=True) if temps else "", _power(sum(powers)) if powers else "")))


def process_text(sample: SystemSample) -> str:
    """'CPU 150% RSS 2.1G  disk 120G free'."""
    text = f"CPU {sample.cpu_pct:.0f}% RSS {fmt.size(sample.rss)}"
    if sample.disk_free is not None:
        text += f"  disk {fmt.size(sample.disk_free)} free"
    return text


def system_text(sample: SystemSample, width: int) -> Text:
    """The most detailed line that fits ``width`` (the last form is cut with an ellipsis if even it does not)."""
    forms = [[gpu_detail(g) for g in sample.gpus], [gpu_compact(g) for g in sample.gpus]]
    if len(sample.gpus) > 1:
        forms.append([gpu_summary(sample.gpus)])
    rest = process_text(sample)
    for gpus in forms:
        line = "  ".join([*gpus, rest])
        if len(line) + 1 <= width:
            break
    text = Text(" " + line, style="dim")
    for g in sample.gpus:  # a hot GPU stands out whatever form the line took
        if g.temp_c is not None and g.temp_c >= HOT_C:
            text.highlight_words([_temp(g.temp_c), _temp(g.temp_c, short=True)], style="bold red")
    return text


def _mem(used: int, total: int) -> str:
    gb = 1e9
    digits = 1 if total < 100 * gb else 0
    return f"{used / gb:.{digits}f}/{total / gb:.{digits}f}G"


def _temp(c: float | None, short: bool = False) -> str:
    return "" if c is None else f"{c:.0f}°" + ("" if short else "C")


def _power(w: float | None) -> str:
    return "" if w is None else f"{w:.0f}W"
