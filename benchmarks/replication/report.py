"""From the replication runs to benchmarks/results/replication/summary.json, and from that file to
docs/replication.md and its plot. The summary holds everything the page says, so the page can be
remade from the committed summary alone (``replicate.py --table-only``), without the runs.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from benchmarks.replication.plan import Job, Plan
from benchmarks.replication.runner import newest_run
from engine.presets import PRESETS

CLOSE = 2.0
"""Points of test accuracy within which a row counts as matching its study."""


def _read(run: Path, name: str) -> Any:
    return json.loads((run / name).read_text())


def _curve(run: Path) -> list[float | None]:
    """Test accuracy after each epoch, as the run recorded it (None where an epoch had no test pass)."""
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines() if line.strip()]
    return [r.get("test_acc") for r in rows]


def _loss_ends(run: Path) -> tuple[float, float] | None:
    """The training loss at the first and the last step the run logged (steps.jsonl): a proof run's evidence."""
    path = run / "steps.jsonl"
    if not path.is_file():
        return None
    losses = [json.loads(line)["loss"] for line in path.read_text().splitlines() if line.strip()]
    return (losses[0], losses[-1]) if losses else None


def measure(job: Job, runs_dir: Path) -> dict[str, Any] | None:
    """What the newest finished run of a job measured; None when it has none."""
    run = newest_run(runs_dir, job.key)
    if run is None:
        return None
    s, c = _read(run, "summary.json"), _read(run, "config.json")
    return {
        "key": job.key, "preset": job.preset, "run_id": s["run_id"], "ours_acc": s.get("headline_acc"),
        "measured_at": s.get("headline_at", "last"), "full_budget": job.full_budget, "budget": job.budget,
        "epochs": s.get("epochs_done"), "train_images": s.get("n_train"), "test_images": s.get("n_test"),
        "batch_size": c.get("batch_size"), "normalize": c.get("normalize"), "wall_s": round(s.get("wall_time_s") or 0),
        "train_acc": s.get("train_acc"), "best_val": s.get("best_acc"), "best_epoch": s.get("best_epoch"),
        "test_acc_by_epoch": _curve(run), "question": job.question or None, "change": " ".join(job.flags),
        "train_loss_ends": _loss_ends(run),
    }


def epoch_match(curve: list[float | None], study: float) -> tuple[int, float] | None:
    """The first epoch whose test accuracy is within CLOSE points of the study's, with that accuracy."""
    for epoch, acc in enumerate(curve, 1):
        if acc is not None and abs(acc - study) * 100 <= CLOSE:
            return epoch, acc
    return None


def explain(row: dict[str, Any], experiments: list[dict[str, Any]]) -> str | None:
    """A sentence of measured facts for a row further than CLOSE points from its study: at which epoch our
    run was at the study's number, and what each experiment on the preset changed. None when close."""
    study, ours = row["study_acc"], row["ours_acc"]
    if study is None or ours is None or abs(ours - study) * 100 <= CLOSE:
        return None
    facts = []
    match = epoch_match(row["test_acc_by_epoch"], study)
    if match and match[0] < len(row["test_acc_by_epoch"]):
        facts.append(f"our run tested {100 * match[1]:.2f}% after epoch {match[0]} of {row['epochs']}, within "
                     f"{CLOSE:g} points of the study, which states no epoch count")
    elif not match:
        best = max((a for a in row["test_acc_by_epoch"] if a is not None), default=None)
        if best is not None:
            facts.append(f"no epoch of our run came within {CLOSE:g} points (its best test: {100 * best:.2f}%)")
    for e in experiments:
        if e["ours_acc"] is not None:
            facts.append(f"with {e['change']}: {100 * e['ours_acc']:.2f}% ({100 * (e['ours_acc'] - ours):+.2f} points)")
    side = "above" if ours > study else "below"
    return f"{100 * abs(ours - study):.2f} points {side} the study; " + "; ".join(facts) + "."


def reduced(row: dict[str, Any]) -> str | None:
    """What a reduced-budget row shows: that the recipe ran end to end and its loss moved, not the study's number."""
    if row["ours_acc"] is None:
        return None
    ends = row.get("train_loss_ends")
    loss = f"; training loss {ends[0]:.3f} at its first step, {ends[1]:.3f} at its last" if ends else ""
    return (f"a reduced budget ({row['budget']}): the recipe runs end to end here (its weights file loaded, "
            f"every phase, every evaluation){loss}; too few steps to show learning, and not the study's number")


def collect(plan: Plan, runs_dir: Path) -> list[dict[str, Any]]:
    """One object per preset row of the plan (the summary.json of the issue), experiments nested in it."""
    out = []
    for job in plan.rows + plan.extra:
        preset = PRESETS[job.preset]
        row = measure(job, runs_dir) or {"key": job.key, "preset": job.preset, "ours_acc": None,
                                          "full_budget": job.full_budget, "budget": job.budget,
                                          "test_acc_by_epoch": []}
        row["study_acc"] = preset.reported_test_acc
        row["assumed"] = list(preset.assumed)
        exps = [m for e in plan.experiments if e.preset == job.preset and job.key == job.preset
                if (m := measure(e, runs_dir))]
        row["experiments"] = exps
        row["explained"] = explain(row, exps) if job.full_budget else reduced(row)
        out.append(row)
    return out


def by_key(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r["key"]: r for r in rows}


def findings(rows: list[dict[str, Any]]) -> list[tuple[str, bool | None, str]]:
    """The studies' qualitative findings, each checked on our numbers: (finding, holds?, the numbers)."""
    k = by_key(rows)

    def acc(key: str) -> float | None:
        return k.get(key, {}).get("ours_acc")

    def exp(preset: str, label: str) -> float | None:
        return next((e["ours_acc"] for e in k.get(preset, {}).get("experiments", []) if e["key"].endswith(label)), None)

    # (finding, the side that should be higher, its accuracy, the other side, its accuracy, by more than)
    checks = [
        ("004: the deep-wide MLP tests below the plain MLP", "mlp", acc("004-mlp"), "deep-wide",
         acc("004-mlp-deep-wide"), 0.0),
        ("004: the same at Keras's default batch of 32", "mlp", exp("004-mlp", "@batch32"), "deep-wide",
         exp("004-mlp-deep-wide", "@batch32"), 0.0),
        ("004: the same on unscaled 0-255 pixels", "mlp", exp("004-mlp", "@raw"), "deep-wide",
         exp("004-mlp-deep-wide", "@raw"), 0.0),
        ("004: the same after 60 epochs, three times the preset's", "mlp", exp("004-mlp", "@epochs60"), "deep-wide",
         exp("004-mlp-deep-wide", "@epochs60"), 0.0),
        ("004: a CNN is far above the MLP (over 15 points)", "cnn", acc("004-cnn-bn-dropout"), "mlp",
         acc("004-mlp"), 0.15),
        ("004: VGG-style with augmentation beats the CNN", "vgg-style", acc("004-vgg-style"), "cnn",
         acc("004-cnn-bn-dropout"), 0.0),
        ("001: AlexNet with skips beats the one without", "skips", acc("001-alexnet-skip"), "no skips",
         acc("001-alexnet"), 0.0),
        ("001: the skip model's frozen features probe better", "skips", acc("001-alexnet-skip-linear-probe"),
         "no skips", acc("001-alexnet-linear-probe"), 0.0),
    ]
    out: list[tuple[str, bool | None, str]] = []
    for text, high_name, high, low_name, low, margin in checks:
        if low is None or high is None:
            out.append((text, None, "not measured"))
        else:
            out.append((text, high - low > margin, f"{high_name} {100 * high:.2f}%, {low_name} {100 * low:.2f}%"))
    return out


def write_summary(rows: list[dict[str, Any]], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(rows, indent=1) + "\n")
