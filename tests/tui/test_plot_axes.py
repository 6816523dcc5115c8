"""The charts' ticks (tui/widgets/plot_axes.py): nice steps that fit, whole epochs, durations with a unit, and a
log axis labelled with the real values though textual-plot draws it on log10 of them."""
from __future__ import annotations

import math

from tui.widgets.plot_axes import labels, log_ticks, nice_ticks, time_ticks, value_text


def test_nice_ticks_fit_the_room_and_stay_inside() -> None:
    assert nice_ticks(0.33, 2.44, 5) == [0.5, 1.0, 1.5, 2.0]
    assert nice_ticks(0.33, 2.44, 2) == [1.0, 2.0]
    for lo, hi, n in ((0.0, 1.0, 3), (36.8, 92.2, 4), (-5.0, 5.0, 6), (1e-4, 3e-4, 5)):
        ticks = nice_ticks(lo, hi, n)
        assert 1 <= len(ticks) <= n and all(lo <= t <= hi for t in ticks), (lo, hi, ticks)
    assert nice_ticks(0.1, 6.0, 6, whole=True) == [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]  # epochs: never 1.5
    assert nice_ticks(0.9, 2.2, 8, whole=True) == [1.0, 2.0]
    assert nice_ticks(1.0, 1.0, 4) == [1.0] and nice_ticks(2.0, 1.0, 4) == []


def test_labels_share_their_decimals() -> None:
    assert labels([0.25, 0.5, 0.75]) == ["0.25", "0.50", "0.75"]
    assert labels([40.0, 60.0, 80.0]) == ["40", "60", "80"]


def test_time_ticks_carry_a_unit_that_fits_the_span() -> None:
    ticks, text = time_ticks(21.7, 166.1, 5)
    assert ticks == [50.0, 100.0, 150.0] and text == ["50s", "100s", "150s"]
    assert time_ticks(0, 5000, 5)[1][-1].endswith("min") and time_ticks(0, 20_000, 4)[1][-1].endswith("h")


def test_log_ticks_sit_at_the_logs_of_round_values_and_read_as_the_values() -> None:
    positions, text = log_ticks(math.log10(0.33), math.log10(2.44), 5)
    assert text == ["0.5", "1", "2"] and positions == [math.log10(0.5), 0.0, math.log10(2.0)]
    _, text = log_ticks(math.log10(0.001), math.log10(2.44), 5)  # four decades: the powers of ten
    assert text == ["0.001", "0.01", "0.1", "1"]
    _, text = log_ticks(math.log10(0.001), math.log10(2.44), 3)  # too many for the room: every other one
    assert text == ["0.001", "0.1"]
    positions, text = log_ticks(math.log10(0.33), math.log10(0.45), 4)  # within a decade: evenly spaced
    assert len(positions) == 4 and text[0] == "0.33" and text[-1] == "0.45"


def test_value_text_keeps_two_significant_digits() -> None:
    assert [value_text(v) for v in (0.05, 0.5, 2.0, 1.26, 20.0, 150.0, 0.333)] == \
        ["0.05", "0.5", "2", "1.3", "20", "150", "0.33"]
