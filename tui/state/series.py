"""A curve's points in bounded memory (the dashboard's loss curve over a day of steps).

Pure Python (no textual); re-exported from ``run_state``.
"""
from __future__ import annotations


class Series:
    """Points of one curve with bounded memory: when full, neighbours are averaged.

    A 10 Hz loss curve over a day is ~900k points; a terminal chart shows ~150.
    Merging pairs each time the buffer fills keeps memory at ``cap`` points and
    the curve's shape (each kept point is the mean of a fixed-size bucket).
    """

    def __init__(self, cap: int = 2048):
        self.cap = cap
        self.x: list[float] = []
        self.y: list[float] = []
        self._bucket = 1  # raw points per kept point
        self._acc: list[tuple[float, float]] = []

    def add(self, x: float, y: float) -> None:
        self._acc.append((x, y))
        if len(self._acc) < self._bucket:
            return
        self.x.append(self._acc[-1][0])
        self.y.append(sum(v for _, v in self._acc) / len(self._acc))
        self._acc = []
        if len(self.x) >= self.cap:
            self.x = self.x[1::2]
            self.y = [(a + b) / 2 for a, b in zip(self.y[::2], self.y[1::2])]
            self._bucket *= 2

    def __len__(self) -> int:
        return len(self.x)

    def view(self, max_points: int) -> tuple[list[float], list[float]]:
        """At most max_points points, bucket means, for a chart that wide."""
        return bucket_means(self.x, self.y, max_points)


def bucket_means(x: list[float], y: list[float], max_points: int) -> tuple[list[float], list[float]]:
    """At most max_points points: each the mean of a run of neighbours (its x: the run's last)."""
    n = len(x)
    if n <= max_points or max_points < 2:
        return list(x), list(y)
    step = n / max_points
    xs, ys = [], []
    for i in range(max_points):
        lo, hi = int(i * step), max(int((i + 1) * step), int(i * step) + 1)
        xs.append(x[hi - 1])
        ys.append(sum(y[lo:hi]) / (hi - lo))
    return xs, ys
