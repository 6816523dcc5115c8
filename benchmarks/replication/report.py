"""From the replication runs to benchmarks/results/replication/summary.json, and from that file to
docs/replication.md and its plot. The summary holds everything the page says, so the page can be
remade from the committed summary alone (``replicate.py --table-only``), without the runs.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

from benchmarks.replication.plan import Job, Plan
from benchmarks.replication.runner import newest_run
from engine.config import input_scaling
from engine.presets import PRESETS

CLOSE = 2.0
"""Points of test accuracy within which a row counts as matching its study."""
PCA_COMPONENTS = 2
"""Study 001 draws its feature space in two dimensions; its shares (33.9% with skips, 43.9% without) are theirs."""


def _read(run: Path, name: str) -> Any:
    return json.loads((run / name).read_text())


def _epochs(run: Path) -> list[dict[str, Any]]:
    """The run's per-epoch records, read once for the curve and the loss gap."""
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines() if line.strip()]


def _loss_gap(epochs: list[dict[str, Any]]) -> float | None:
    """Held-out minus train loss at the last epoch (study 001's generalisation gap), by the engine's own rule."""
    from engine.training.metrics import generalization_gap

    return generalization_gap(epochs[-1]).get("gap_loss") if epochs else None


def pca_share(run: Path, cache: Path) -> float | None:
    """The share of variance in the first PCA_COMPONENTS principal components of the run's features on 2,000 of
    its test images (``cifar-tui pca``), kept in ``cache`` with the run id so --report does not recompute it."""
    if cache.is_file() and (known := json.loads(cache.read_text())).get("run_id") == run.name:
        return known["cumulative"][PCA_COMPONENTS - 1]
    from engine.analysis.pca import run_feature_pca

    found = run_feature_pca(run, k=PCA_COMPONENTS)
    cache.write_text(json.dumps(found.to_dict(), indent=1) + "\n")
    return found.cumulative[PCA_COMPONENTS - 1]


def _loss_ends(run: Path) -> tuple[float, float] | None:
    """The training loss at the first and the last step the run logged (steps.jsonl): a proof run's evidence."""
    path = run / "steps.jsonl"
    if not path.is_file():
        return None
    losses = [json.loads(line)["loss"] for line in path.read_text().splitlines() if line.strip()]
    return (losses[0], losses[-1]) if losses else None


def measure(job: Job, runs_dir: Path, results: Path | None = None) -> dict[str, Any] | None:
    """What the newest finished run of a job measured; None when it has none. ``results`` is where a PCA job
    keeps its measurement (none without it)."""
    run = newest_run(runs_dir, job.key)
    if run is None:
        return None
    s, c, epochs = _read(run, "summary.json"), _read(run, "config.json"), _epochs(run)
    share = pca_share(run, results / f"{job.key}.pca.json") if job.pca and results is not None else None
    accs = [r.get("test_acc") for r in epochs]
    return {
        "key": job.key, "preset": job.preset, "run_id": s["run_id"], "ours_acc": s.get("headline_acc"),
        "measured_at": s.get("headline_at", "last"), "full_budget": job.full_budget, "budget": job.budget,
        "epochs": s.get("epochs_done"), "train_images": s.get("n_train"), "test_images": s.get("n_test"),
        "batch_size": c.get("batch_size"), "normalize": input_scaling(c.get("strategy", ""), c.get("normalize", "")),
        "wall_s": round(s.get("wall_time_s") or 0),
        "train_acc": s.get("train_acc"), "best_val": s.get("best_acc"), "best_epoch": s.get("best_epoch"),
        "test_acc_by_epoch": accs, "tail_acc": tail_mean(accs), "question": job.question or None,
        "change": " ".join(job.flags),
        "train_loss_ends": _loss_ends(run), "loss_gap": _loss_gap(epochs), "pca_share": share,
    }


def epoch_match(curve: list[float | None], study: float) -> tuple[int, float] | None:
    """The first epoch whose test accuracy is within CLOSE points of the study's, with that accuracy."""
    for epoch, acc in enumerate(curve, 1):
        if acc is not None and abs(acc - study) * 100 <= CLOSE:
            return epoch, acc
    return None


def explain(row: dict[str, Any], experiments: list[dict[str, Any]]) -> str | None:
    """A sentence of measured facts for a row further than CLOSE points from its study: where our run's curve
    met the study's number, and what each experiment on the preset changed. None when close."""
    study, ours = row["study_acc"], row["ours_acc"]
    if study is None or ours is None or abs(ours - study) * 100 <= CLOSE:
        return None
    facts = [fact] if (fact := _curve_fact(row, study)) else []
    for e in experiments:
        if e["ours_acc"] is not None:
            facts.append(f"with {e['change']}: {100 * e['ours_acc']:.2f}% ({_versus(e['ours_acc'], study)})")
    if bracket := _bracket_fact(row, experiments):
        facts.append(bracket)
    return f"{_versus(ours, study)}; " + "; ".join(facts) + "."


def _versus(acc: float, study: float) -> str:
    """'3.87 points above the study': how far one of our accuracies is from the study's number."""
    points = f"{100 * abs(acc - study):.2f}"
    if points == "0.00":
        return "at the study's number"
    return f"{points} points {'above' if acc > study else 'below'} the study"


def _bracket_fact(row: dict[str, Any], experiments: list[dict[str, Any]]) -> str | None:
    """Where one setting the study does not state, changed alone, lands our run on the study's other side:
    the experiment nearest the study's number that crosses it. None when no experiment crosses."""
    study, ours, assumed = row["study_acc"], row["ours_acc"], row.get("assumed", [])
    crossing = [e for e in experiments if e["ours_acc"] is not None and (e["ours_acc"] - study) * (ours - study) < 0
                and _flag_field(e["change"]) in assumed]
    if not crossing:
        return None
    e = min(crossing, key=lambda e: abs(e["ours_acc"] - study))
    close = f", and that run is within {CLOSE:g} points of it" if abs(e["ours_acc"] - study) * 100 <= CLOSE else ""
    return (f"the study's {100 * study:.2f}% lies between the preset's run and the one with {e['change']}: "
            f"{_flag_field(e['change'])}, which the study does not state, alone moves this row across its number"
            + close)


def _flag_field(change: str) -> str:
    """The RunConfig field an experiment's flag sets (``--batch-size 32`` -> batch_size)."""
    return change.split()[0].removeprefix("--").replace("-", "_") if change else ""


def _curve_fact(row: dict[str, Any], study: float) -> str | None:
    """The epoch at which our run was at the study's number (an explanation only where the study states no
    epoch count), the two epochs it passed between, or its best."""
    curve, stated = row["test_acc_by_epoch"], "epochs" not in row.get("assumed", ["epochs"])
    match = epoch_match(curve, study)
    if match and match[0] < len(curve):
        return (f"our run tested {100 * match[1]:.2f}% after epoch {match[0]} of {row['epochs']}, within {CLOSE:g} "
                "points of the study, " + (f"which ran all {row['epochs']}" if stated else "which states no epoch count"))
    if match:
        return None
    for n, (a, b) in enumerate(zip(curve, curve[1:]), 1):
        if a is not None and b is not None and min(a, b) < study < max(a, b):
            return (f"the study's number lies between our epochs {n} ({100 * a:.2f}%) and {n + 1} ({100 * b:.2f}%)"
                    + (f", though the study ran {row['epochs']}" if stated else ", and the study states no epoch count"))
    best = max((a for a in curve if a is not None), default=None)
    return None if best is None else f"no epoch of our run came within {CLOSE:g} points (its best test: {100 * best:.2f}%)"


def reduced(row: dict[str, Any]) -> str | None:
    """What a reduced-budget row shows: that the recipe ran end to end and its loss moved, not the study's number."""
    if row["ours_acc"] is None:
        return None
    ends = row.get("train_loss_ends")
    loss = f"; training loss {ends[0]:.3f} at its first step, {ends[1]:.3f} at its last" if ends else ""
    return (f"a reduced budget ({row['budget']}): the recipe runs end to end here (its weights file loaded, "
            f"every phase, every evaluation){loss}; too few steps to show learning, and not the study's number")


def collect(plan: Plan, runs_dir: Path, results: Path | None = None) -> list[dict[str, Any]]:
    """One object per preset row of the plan (the summary.json of the issue), experiments nested in it."""
    out = []
    for job in plan.rows + plan.extra:
        preset = PRESETS[job.preset]
        row = measure(job, runs_dir, results) or {"key": job.key, "preset": job.preset, "ours_acc": None,
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


TAIL = 5
"""Epochs averaged where one epoch's test accuracy swings (a plain MLP's moves by up to 2 points an epoch)."""


def tail_mean(accs: list[float | None]) -> float | None:
    """The mean test accuracy of the last TAIL epochs: a comparison that one noisy epoch cannot flip."""
    last = [a for a in accs[-TAIL:] if a is not None]
    return sum(last) / len(last) if len(accs) >= TAIL and len(last) == TAIL else None


def _pct(x: float) -> str:
    return f"{100 * x:.2f}%"


def _check(text: str, high: tuple[str, float | None], low: tuple[str, float | None], margin: float = 0.0,
           show: Callable[[float], str] = _pct) -> tuple[str, bool | None, str]:
    """A finding that says ``high`` comes out above ``low`` (by more than margin): holds, does not, or unmeasured."""
    (high_name, h), (low_name, lo) = high, low
    if h is None or lo is None:
        return text, None, "not measured"
    return text, h - lo > margin, f"{high_name} {show(h)}, {low_name} {show(lo)}"


def findings(rows: list[dict[str, Any]]) -> list[tuple[str, bool | None, str]]:
    """The studies' qualitative findings, each checked on our numbers: (finding, holds?, the numbers)."""
    k = by_key(rows)

    def of(key: str, field: str = "ours_acc") -> float | None:
        return k.get(key, {}).get(field)

    def exp(preset: str, label: str, field: str = "ours_acc") -> float | None:
        return next((e.get(field) for e in k.get(preset, {}).get("experiments", []) if e["key"].endswith(label)), None)

    mlp, deep = ("mlp", "004-mlp"), ("deep-wide", "004-mlp-deep-wide")
    skips, plain = ("skips", "001-alexnet-skip"), ("no skips", "001-alexnet")
    return [
        _check("004: the deep-wide MLP tests below the plain MLP", (mlp[0], of(mlp[1])), (deep[0], of(deep[1]))),
        *(_check(f"004: the same {when}", (mlp[0], exp(mlp[1], label)), (deep[0], exp(deep[1], label)))
          for when, label in (("at Keras's default batch of 32", "@batch32"), ("on unscaled 0-255 pixels", "@raw"),
                              ("after 60 epochs, three times the preset's", "@epochs60"))),
        _check(f"004: the same after 60 epochs, each MLP's last {TAIL} epochs averaged",
               (mlp[0], exp(mlp[1], "@epochs60", "tail_acc")), (deep[0], exp(deep[1], "@epochs60", "tail_acc"))),
        _check("004: a CNN is far above the MLP (over 15 points)", ("cnn", of("004-cnn-bn-dropout")),
               (mlp[0], of(mlp[1])), 0.15),
        _check("004: VGG-style with augmentation beats the CNN", ("vgg-style", of("004-vgg-style")),
               ("cnn", of("004-cnn-bn-dropout"))),
        _check("001: AlexNet with skips beats the one without", (skips[0], of(skips[1])), (plain[0], of(plain[1]))),
        *(_check(f"001: the same {when}", (skips[0], exp(skips[1], label)), (plain[0], exp(plain[1], label)))
          for when, label in (("on [0, 1] pixels", "@unit"), ("on [-1, 1] pixels", "@signed"))),
        _check("001: the skip model's frozen features probe better", (skips[0], of(f"{skips[1]}-linear-probe")),
               (plain[0], of(f"{plain[1]}-linear-probe"))),
        _check(f"001: the skip model's features spread wider: less variance in {PCA_COMPONENTS} principal components "
               "(study: 33.9% with skips, 43.9% without)", (plain[0], of(plain[1], "pca_share")),
               (skips[0], of(skips[1], "pca_share"))),
        _check("001: the skip model generalises with a smaller loss gap, held-out minus train loss at the end "
               "(study: 0.1031 with skips, 0.1517 without)", (plain[0], of(plain[1], "loss_gap")),
               (skips[0], of(skips[1], "loss_gap")), show=lambda x: f"{x:.4f}"),
    ]


def write_summary(rows: list[dict[str, Any]], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(rows, indent=1) + "\n")
