"""Run the studies' presets on the real CIFAR-10 (JPEG q75) on this machine and write docs/replication.md.

Usage: python benchmarks/replicate.py [--data ../shared/data/cifar10-jpg.tar.gz] [--only NAME ...]
                                      [--runs-dir saved_runs/replication] [--table-only]

Each preset runs headless through the real command line with ``--dataset folder``
and the JPEG tarball, at its full budget where this CPU can afford it and at the
stated reduced budget below otherwise (fewer epochs and/or a stratified train
subset; the test set is always the whole 10,000 images). Raw output of every
run goes to benchmarks/results/replication/<preset>.log; the table is rebuilt
from the runs' summary.json files after each run, so a partial session still
leaves a true table. Presets that need ImageNet weights cannot run here (no
internet, no weights cache) and are listed with that reason.
"""
from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine.presets import PRESETS  # noqa: E402

# preset -> (extra flags, what the budget is). None: the preset's own full budget.
BUDGETS: dict[str, tuple[list[str], str] | None] = {
    "004-mlp": None,
    "004-mlp-deep-wide": None,
    "004-cnn-bn-dropout": None,
    "001-alexnet": (["--train-limit", "5000", "--epochs", "3"], "5,000 train images, 3 of 5 epochs"),
    "001-alexnet-skip": (["--train-limit", "5000", "--epochs", "3"], "5,000 train images, 3 of 5 epochs"),
    "002-alexnet-cifar": (["--train-limit", "5000", "--epochs", "3", "--val-split", "1000"],
                          "5,000 train images, 3 of 10 epochs, 1,000 val"),
    "003-smallcnn": (["--train-limit", "5000", "--epochs", "3", "--val-split", "1000"],
                     "5,000 train images, 3 of 15 epochs, 1,000 val"),
    "004-vgg-style": (["--train-limit", "10000", "--epochs", "5"], "10,000 train images, 5 of 30 epochs"),
    "003-resnet18-cifar-basic": (["--train-limit", "2000", "--epochs", "2", "--val-split", "1000"],
                                 "2,000 train images, 2 of 30 epochs, 1,000 val"),
    "003-resnet18-cifar-final": (["--train-limit", "2000", "--epochs", "2", "--val-split", "1000",
                                  "--early-stop-patience", "0"],
                                 "2,000 train images, 2 of 30 epochs, 1,000 val, no early stop"),
}
NEEDS_WEIGHTS = "needs ImageNet weights, which cannot be downloaded here"
NOT_AFFORDABLE = "224 px AlexNet from scratch: hours per epoch on 2 CPU cores"


def run_preset(name: str, data: str, runs_dir: Path, logs: Path) -> None:
    flags, _ = BUDGETS[name] or ([], "")
    cmd = [sys.executable, "-m", "tui", "--no-ui", "--preset", name, "--dataset", "folder", "--data-dir", data,
           "--runs-dir", str(runs_dir / name), "--name", "replication", *flags]
    t0 = time.perf_counter()
    with open(logs / f"{name}.log", "w") as log:
        log.write("$ " + " ".join(cmd[1:]) + "\n")
        log.flush()
        code = subprocess.call(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
        log.write(f"exit {code}, wall {time.perf_counter() - t0:.0f} s\n")


def newest_summary(runs_dir: Path, name: str) -> dict | None:
    found = sorted((runs_dir / name).glob("*/summary.json"))
    return json.loads(found[-1].read_text()) if found else None


def fmt(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.2f}%"


def table(runs_dir: Path) -> str:
    rows = ["| preset | study reports | ours, CIFAR-10 (JPEG q75) | measured at | budget | wall time | status |",
            "|---|---|---|---|---|---|---|"]
    for name, preset in PRESETS.items():
        study = fmt(preset.reported_test_acc)
        if name in BUDGETS:
            budget = (BUDGETS[name] or ([], "full (the preset's own)"))[1]
            s = newest_summary(runs_dir, name)
            if s is None:
                rows.append(f"| {name} | {study} | not run yet | | {budget} | | |")
                continue
            if s.get("status") == "running":
                rows.append(f"| {name} | {study} | not finished when this table was made (epoch "
                            f"{s.get('epochs_done')} of {s.get('epochs')}) | | {budget} | | |")
                continue
            at = s.get("headline_at", "last")
            wall = s.get("wall_time_s") or 0
            rows.append(f"| {name} | {study} | {fmt(s.get('headline_acc'))} | {at} epoch ({s.get('epochs_done')}) | "
                        f"{budget} | {wall / 60:.1f} min | {s.get('status')} |")
        else:
            why = NOT_AFFORDABLE if name == "000-alexnet-scratch" else (
                "needs a finished 001 run (--from)" if "probe" in name else NEEDS_WEIGHTS)
            rows.append(f"| {name} | {study} | not run: {why} | | | | |")
    return "\n".join(rows)


def write_doc(runs_dir: Path) -> None:
    header = f"""# The studies on real images: CIFAR-10 (JPEG q75)

Every preset run on the real CIFAR-10 test set as JPEG files (quality 75, so
a little lossy: expect roughly 1-3 points below the official files at the top
end) on this machine: {platform.machine()}, 2 CPU cores shared with other work, no GPU.
Made by `python benchmarks/replicate.py`; raw output of each run in
`benchmarks/results/replication/`. "measured at" says which epoch's test
accuracy is set beside the study's: the last epoch, or the best-validation
epoch where the study reports its best checkpoint (study 003). Model selection
uses the validation split only.

"""
    (ROOT / "docs" / "replication.md").write_text(header + table(runs_dir) + "\n\n" + NOTES)


NOTES = """## Reading the numbers

- **Full budget, more than 2 points above the study: 004-mlp (+5.1),
  004-mlp-deep-wide (+8.3) and 004-cnn-bn-dropout (+4.6).** All three are
  higher even on lossy JPEG images. What we think explains the MLPs: the presets standardise each channel with the
  training set's mean and std, while a Keras notebook of this kind feeds
  pixels scaled by 1/255; standardised inputs help an MLP a lot. The study
  also states neither the MLP widths nor the epochs, batch size or optimizer
  (all listed as assumed), and its deep-wide MLP "memorises the training data"
  so that test accuracy falls: ours overfits too (train 85%, validation loss
  up from 1.40 to 2.34) but its test accuracy stays near 51%. Not verified:
  checking it would need the notebook's preprocessing. For the CNN the
  architecture itself is a reading of "Conv + MaxPool with BatchNorm and
  Dropout 0.5" (widths, dense size and epochs are ours, listed as assumed),
  and its validation accuracy peaked at epoch 15 (76.79%) with the test
  accuracy at the last epoch 75.34%: a longer or wider model than the
  study's would explain a higher number.
- **A reduced budget** (fewer epochs, a train subset) predicts a lower number
  than the study's: it shows that the recipe trains on real images here, not
  that it reproduces the study's figure.
- Rows "not run yet" were queued but did not fit in the CPU time of the
  session that made this table; run `python benchmarks/replicate.py --only
  NAME` to add them.
"""



def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "cifar10-jpg.tar.gz"))
    p.add_argument("--only", nargs="*", default=None)
    p.add_argument("--runs-dir", default=str(ROOT / "saved_runs" / "replication"))
    p.add_argument("--table-only", action="store_true")
    args = p.parse_args()
    runs_dir, logs = Path(args.runs_dir), ROOT / "benchmarks" / "results" / "replication"
    logs.mkdir(parents=True, exist_ok=True)
    if not args.table_only:
        if not Path(args.data).exists():
            sys.exit(f"replicate: {args.data} not found; pass --data PATH to the JPEG CIFAR-10 tarball")
        for name in args.only or list(BUDGETS):
            print(f"{time.strftime('%H:%M:%S')} {name}", flush=True)
            run_preset(name, args.data, runs_dir, logs)
            write_doc(runs_dir)
    write_doc(runs_dir)


if __name__ == "__main__":
    main()
