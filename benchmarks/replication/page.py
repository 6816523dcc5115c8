"""docs/replication.md and docs/replication-004.png, made from summary.json's rows alone."""
from __future__ import annotations

import platform
from pathlib import Path
from typing import Any

from benchmarks.plotting import figure, save
from benchmarks.replication.plan import GPU_PRESETS
from benchmarks.replication.report import CLOSE, findings
from engine.presets import PRESETS

PLOT_NAME = "replication-004.png"
STAGES = ("004-mlp", "004-mlp-deep-wide", "004-cnn-bn-dropout", "004-vgg-style")


def pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.2f}%"


def gap(r: dict[str, Any]) -> str:
    """Points from the study; none for a reduced budget, whose number is not meant to be the study's."""
    if r.get("ours_acc") is None or r.get("study_acc") is None:
        return ""
    if not r["full_budget"]:
        return "(budget cut)"
    return f"{100 * (r['ours_acc'] - r['study_acc']):+.2f}"


def row_line(r: dict[str, Any]) -> str:
    if r.get("ours_acc") is None:
        return f"| {r['key']} | {pct(r['study_acc'])} | not run yet | | | {r['budget']} | | | |"
    wall = f"{r['wall_s'] / 60:.1f} min"
    return (f"| {r['key']} | {pct(r['study_acc'])} | {pct(r['ours_acc'])} | {gap(r)} | {r['measured_at']} "
            f"epoch ({r['epochs']}) | {r['budget']} | {r['train_images']:,} | {r['normalize']} | {wall} |")


def table(rows: list[dict[str, Any]]) -> list[str]:
    out = ["| preset | study | ours, CIFAR-10 (JPEG q75) | points | measured at | budget | train images | "
           "inputs | wall |", "|---|---|---|---|---|---|---|---|---|"]
    return out + [row_line(r) for r in rows]


def explanations(rows: list[dict[str, Any]]) -> list[str]:
    out = ["## Gaps over 2 points, and what was measured about them", ""]
    out += [f"- **{r['key']}**: {r['explained']}" for r in rows if r.get("explained") and r["full_budget"]]
    out += ["", "## Reduced budgets: what each run shows", ""]
    out += [f"- **{r['key']}**: {r['explained']}" for r in rows if r.get("explained") and not r["full_budget"]]
    return out + [""]


def experiment_lines(rows: list[dict[str, Any]]) -> list[str]:
    out = ["## Experiments: one setting changed, same preset", "",
           "| experiment | question | test acc | train acc | best val (epoch) | wall |", "|---|---|---|---|---|---|"]
    for r in rows:
        for e in r.get("experiments", []):
            out.append(f"| {e['key']} (`{e['change']}`) | {e['question']} | {pct(e['ours_acc'])} | "
                       f"{pct(e['train_acc'])} | {pct(e['best_val'])} ({e['best_epoch']}) | {e['wall_s'] / 60:.1f} min |")
    return out + [""]


def finding_lines(rows: list[dict[str, Any]]) -> list[str]:
    out = ["## The studies' findings, checked on our numbers", ""]
    for text, holds, numbers in findings(rows):
        verdict = "" if holds is None else ("holds, " if holds else "**does not hold**, ")
        out.append(f"- {text}: {verdict}{numbers}")
    return out + [""]


def assumed_lines(rows: list[dict[str, Any]]) -> list[str]:
    out = ["## What each preset assumes (the study does not say)", "",
           "Why each value was chosen: [docs/presets.md](presets.md), under *Where a preset cannot match its "
           "study exactly*.", ""]
    for r in rows:
        p = PRESETS[r["preset"]]
        if "@" not in r["key"] and (p.assumed or p.notes):
            notes = "; ".join(p.notes)
            out.append(f"- {r['key']}: {', '.join(p.assumed) or 'nothing'}" + (f". {notes}" if notes else ""))
    return out + [""]


def plot(rows: list[dict[str, Any]], path: Path) -> bool:
    """Ours per epoch against the study's final number, for 004's stages. False without matplotlib."""
    opened = figure()
    if opened is None:
        return False
    fig, ax = opened
    from matplotlib.ticker import MaxNLocator

    for i, r in enumerate(r for r in rows if r["key"] in STAGES and r.get("test_acc_by_epoch")):
        color = f"C{i}"
        curve = [100 * a if a is not None else float("nan") for a in r["test_acc_by_epoch"]]
        ax.plot(range(1, len(curve) + 1), curve, color=color, label=f"{r['key']} (ours)")
        ax.axhline(100 * r["study_acc"], color=color, linestyle="--", linewidth=1)
        ax.annotate(f"study {100 * r['study_acc']:.2f}%", (len(curve), 100 * r["study_acc"]), color=color,
                    fontsize=8, ha="right", va="bottom")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    save(fig, ax, path, "Study 004's stages on CIFAR-10 (JPEG q75): ours per epoch (solid), the study's figure "
         "(dashed)", "epoch")
    return True


HEADER = f"""# The studies on real images: CIFAR-10 (JPEG q75)

The studies' presets run on the real CIFAR-10 as JPEG files (quality 75, so a little
lossy) on a 2-core {platform.machine()} CPU shared with other work (so wall times are long and
uneven; the accuracies do not depend on it), no GPU.
Made by `python benchmarks/replicate.py` from `benchmarks/results/replication/summary.json`;
each run's raw output is beside it. Test accuracy is the study's kind: the last epoch's, or the
best-validation epoch's where the study reports its best checkpoint (003). A row is close when it
is within {CLOSE:g} points of its study; the rest say what was measured about the gap.
"""

GPU_TEXT = f"""## On a GPU

{", ".join(GPU_PRESETS)} need ImageNet weights or hours of GPU.
`python benchmarks/replicate.py --gpu --data DIR` runs all of them at full budget on one GPU with the
official CIFAR-10 files in DIR (the weights download on first use) and writes this same page. Here
each ran on a proof budget only (rows ending in `@proof`): the recipe trains end to end, with
random weights standing in for ImageNet's, so its number says nothing about the study's.
"""


def write_page(rows: list[dict[str, Any]], docs: Path) -> None:
    drawn = plot(rows, docs / PLOT_NAME)
    parts = [HEADER, *table(rows), ""]
    if drawn:
        parts += [f"![Study 004's stages, ours per epoch against the study]({PLOT_NAME})", ""]
    parts += finding_lines(rows) + explanations(rows) + experiment_lines(rows) + assumed_lines(rows) + [GPU_TEXT]
    (docs / "replication.md").write_text("\n".join(parts))
