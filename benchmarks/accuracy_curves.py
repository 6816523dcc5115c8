"""The two sides of benchmarks/time_to_accuracy.py: the usual DataLoader loop, and the engine with a preset.

Each returns a Curve: test accuracy against wall seconds (and CPU seconds) since its clock started,
before its data was read. plot() draws the curves (matplotlib, the ``bench`` extra).
"""
from __future__ import annotations

import os
import resource
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from benchmarks import DATA
from benchmarks.plotting import figure, save
from engine.config import RunConfig
from engine.control import Control
from engine.data.load import load_config_dataset
from engine.events import EpochDone
from engine.models.registry import get_spec
from engine.models.strategies import build_model
from engine.presets import preset_run_config
from engine.training.loop import train

REFERENCE = "004-cnn-bn-dropout"


def cpu_seconds() -> float:
    """CPU time of this process and its children, live (DataLoader workers) or ended.

    Other people's work on the same cores stretches wall time but not this, so the
    ratio of CPU seconds is the steadier figure on a shared machine.
    """
    total = time.process_time()
    ticks = os.sysconf("SC_CLK_TCK")
    for children in Path("/proc/self/task").glob("*/children"):
        for pid in children.read_text().split():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
            except OSError:
                continue  # ended meanwhile
            total += (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
    ended = resource.getrusage(resource.RUSAGE_CHILDREN)
    return total + ended.ru_utime + ended.ru_stime


@dataclass
class Curve:
    """Test accuracy against wall-clock seconds since the side's clock started (and CPU seconds)."""

    name: str
    points: list[tuple[float, float]] = field(default_factory=list)
    note: str = ""
    cpu: list[float] = field(default_factory=list)
    """CPU seconds (this process and its children) at each point."""

    def time_to(self, acc: float) -> float | None:
        return next((t for t, a in self.points if a >= acc), None)

    def cpu_to(self, acc: float) -> float | None:
        return next((c for (_, a), c in zip(self.points, self.cpu) if a >= acc), None)

    def acc_at(self, seconds: float) -> float | None:
        within = [a for t, a in self.points if t <= seconds]
        return within[-1] if within else None

    @property
    def end(self) -> float:
        return self.points[-1][0] if self.points else 0.0


def data_args(quick: bool) -> dict[str, Any]:
    if quick:
        return dict(dataset="synthetic", train_limit=400, test_limit=100)
    return dict(dataset="folder", data_dir=str(DATA))


def reference_config(quick: bool, runs: str) -> RunConfig:
    extra = dict(val_split=100) if quick else {}
    return preset_run_config(REFERENCE, **data_args(quick), **extra, runs_dir=runs, device="cpu", seed=0)


def fast_config(preset: str, quick: bool, runs: str, epochs: int = 0, seed: int = 0) -> RunConfig:
    changes: dict[str, Any] = dict(data_args(quick), runs_dir=runs, device="cpu", seed=seed, checkpoints=False,
                                   predictions=False, tensorboard=False)
    if epochs:
        changes["epochs"] = epochs
    if quick:
        changes.update(batch_size=64, epochs=epochs or 2)
    return preset_run_config(preset, **changes)


def run_reference(config: RunConfig, budget: float, eval_every: float, stop_at: float = 1.0) -> Curve:
    """Study 004's CNN in the usual loop until ``budget`` seconds of training (evaluations not counted),
    or until a measurement reaches ``stop_at`` (a repeat that only needs the time to 70%)."""
    import numpy as np
    import torchvision.transforms as T
    from PIL import Image

    t0, c0 = time.perf_counter(), cpu_seconds()
    paused = paused_cpu = 0.0  # seconds spent measuring, taken off the clocks
    data = load_config_dataset(config)
    mean, std = data.mean_std()
    tf = T.Compose([T.ToTensor(), T.Normalize(mean, std)])  # the preset has no augmentation

    class Images(torch.utils.data.Dataset):  # as torchvision.datasets.CIFAR10 holds them: uint8 HWC arrays
        def __init__(self, x: np.ndarray, y: np.ndarray):
            self.x, self.y = x, y

        def __len__(self) -> int:
            return len(self.y)

        def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
            return tf(Image.fromarray(self.x[i])), int(self.y[i])

    def loader(split: Any, shuffle: bool, batch: int) -> torch.utils.data.DataLoader:
        return torch.utils.data.DataLoader(Images(np.asarray(split.x), np.asarray(split.y)), batch_size=batch,
                                           shuffle=shuffle, num_workers=2, persistent_workers=True)

    torch.manual_seed(config.seed)
    model, _ = build_model(config, get_spec(config.model), data.num_classes, data.channels, data.image_size)
    opt = torch.optim.Adam(model.parameters(), lr=config.lr)
    crit = torch.nn.CrossEntropyLoss()
    train_loader, test_loader = loader(data.train, True, config.batch_size), loader(data.test, False, 512)
    curve, next_eval = Curve("reference"), eval_every
    for epoch in range(config.epochs):
        model.train()
        for xb, yb in train_loader:
            loss = crit(model(xb), yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            clock = time.perf_counter() - t0 - paused
            if clock >= next_eval or clock >= budget:
                m0, mc = time.perf_counter(), cpu_seconds()
                curve.cpu.append(mc - c0 - paused_cpu)
                curve.points.append((clock, _accuracy(model, test_loader)))
                paused += time.perf_counter() - m0
                paused_cpu += cpu_seconds() - mc
                next_eval += eval_every
                print(f"  reference  {clock:7.1f} s  (cpu {curve.cpu[-1]:7.1f} s)  epoch {epoch + 1} (part)  "
                      f"test acc {curve.points[-1][1]:.4f}", flush=True)
                if clock >= budget or curve.points[-1][1] >= stop_at:
                    why = f"its {budget:.0f} s budget" if clock >= budget else f"{stop_at:.0%}, all it was run for"
                    curve.note = f"stopped at {why} in epoch {epoch + 1}"
                    return curve
                model.train()
    curve.note = f"all {config.epochs} epochs within the budget"
    return curve


@torch.no_grad()
def _accuracy(model: torch.nn.Module, loader: torch.utils.data.DataLoader) -> float:
    model.eval()
    correct = sum(int((model(xb).argmax(1) == yb).sum()) for xb, yb in loader)
    return correct / len(loader.dataset)  # type: ignore[arg-type]


class Deadline(Control):
    """Stops the engine's run (at the next step, saved as interrupted) once ``seconds`` have passed."""

    def __init__(self, seconds: float) -> None:
        super().__init__()
        self.end = time.perf_counter() + seconds

    @property
    def stop_requested(self) -> bool:
        return time.perf_counter() >= self.end or super().stop_requested


def run_fast(config: RunConfig, budget: float) -> Curve:
    """The engine with a preset: each epoch's recorded test accuracy, at the wall time it was known."""
    curve = Curve(config.preset or config.model)
    t0, c0 = time.perf_counter(), cpu_seconds()

    def on_event(event: Any) -> None:
        if isinstance(event, EpochDone):
            clock = time.perf_counter() - t0
            acc = event.metrics["test_acc"]
            curve.points.append((clock, acc))
            curve.cpu.append(cpu_seconds() - c0)
            print(f"  {curve.name:<10} {clock:7.1f} s  (cpu {curve.cpu[-1]:7.1f} s)  epoch {event.epoch}  test acc {acc:.4f}",
                  flush=True)

    result = train(config, on_event=on_event, control=Deadline(budget))
    if result.status not in ("completed", "interrupted"):
        raise RuntimeError(f"fast run {result.status}: {result.error}")
    done = "" if result.status == "completed" else f" of which {len(curve.points)} before its {budget:.0f} s budget"
    curve.note = f"{config.epochs} epochs{done}, {time.perf_counter() - t0:.0f} s in all"
    return curve


def plot(curves: list[Curve], path: Path, title: str) -> bool:
    """Test accuracy against wall seconds, one line per side and repeat; False without matplotlib."""
    opened = figure()
    if opened is None:
        return False
    fig, ax = opened
    colours: dict[str, str] = {}
    for c in curves:
        colour = colours.setdefault(c.name, f"C{len(colours)}")
        first = c is next(d for d in curves if d.name == c.name)  # one legend entry per side
        ax.plot([t for t, _ in c.points], [100 * a for _, a in c.points], marker="o", markersize=3,
                color=colour, label=c.name if first else None, alpha=0.9)
    for level in (70, 80):
        ax.axhline(level, color="grey", linestyle=":", linewidth=1)
    ax.set_ylim(bottom=10)
    save(fig, ax, path, title, "wall seconds from the start (data loading included)")
    return True
