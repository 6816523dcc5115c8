"""Headless commands over saved runs: ``compare``, ``export`` and ``watch``.

``compare --no-ui`` prints plain aligned text (diffable, greppable, fine in CI
logs); ``export`` writes one CSV/JSON file; ``watch --no-ui`` prints an epoch
line each time a run started elsewhere appends to its metrics.jsonl, and a
progress line per tenth of an epoch from its progress.json. None of them
imports torch or textual, so they start in well under a second.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Sequence

from engine.analysis.compare import (
    RunData, config_rows, confusion_diff, largest_changes, load_compare_runs, metric_rows, per_class_rows, resume_note,
)
from engine.analysis.seed_groups import GROUP_METRICS, seed_groups
from engine.config import UserError
from engine.events import EpochDone
from engine.runs import resolve_run
from engine.runs.status import RunStatus
from engine.runs.index import RunIndex
from engine.training.selection import improves, selection_value

from tui.cli.base import EXIT_FAILED, EXIT_OK, PROG, Parser, add_no_notify, add_runs_dir, runs_dir_of
from tui import format as fmt
from tui.format import letter, real
from tui.cli.headless import ProgressLines, epoch_line, progress_line

MAX_CONFUSION_CLASSES = 20  # wider matrices do not fit a terminal line: list the largest changes instead


def text_table(rows: Sequence[Sequence[str]], indent: str = "  ") -> str:
    """Left-aligned columns separated by two spaces."""
    widths = [max(len(r[i]) for r in rows if i < len(r)) for i in range(max(len(r) for r in rows))]
    return "\n".join(indent + "  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows)


def compare_text(runs: list[RunData], show_all: bool = False) -> str:
    """The whole comparison as plain text."""
    out = ["runs"]
    out.append(text_table([
        (letter(i), r.label, r.status, f"{r.summary.get('epochs_done', len(r.metrics))}/{r.config.get('epochs', '?')} epochs",
         str(r.path)) for i, r in enumerate(runs)
    ]))
    out.extend(f"  {letter(i)}  {note}" for i, r in enumerate(runs) if (note := resume_note(r)))
    header = ["field"] + [letter(i) for i in range(len(runs))]
    rows = config_rows(runs, show_all)
    out.append("\nconfig (every field)" if show_all else "\nconfig (fields that differ; --all shows every field)")
    out.append(text_table([header, *[(k, *v) for k, v in rows]]) if rows else "  (identical)")
    out.append("\nmetrics: at the best-validation epoch / at the last epoch  (* best of the runs)")
    table = [["metric"] + [letter(i) for i in range(len(runs))]]
    for m in metric_rows(runs):
        cells = []
        for i in range(len(runs)):
            best = fmt.metric(m.best[i], m.spec.kind) + ("*" if m.best_winner == i else "")
            last = fmt.metric(m.last[i], m.spec.kind) + ("*" if m.last_winner == i else "")
            cells.append(f"{best} / {last}" if m.spec.has_best else last)
        table.append([m.spec.label, *cells])
    out.append(text_table(table))
    out.extend(_per_class_text(runs))
    if len(runs) == 2:
        out.extend(_confusion_text(runs[0], runs[1]))
    groups = seed_groups(runs)
    if groups:
        out.append("\nseed groups (runs that differ only by seed): mean ± std")
        for g in groups:
            what = " ".join(f"{k}={v}" for k, v in g.differing.items()) or "same config"
            stats = "  ".join(f"{GROUP_METRICS[k][0]} {fmt.mean_std(*g.stats[k][:2], GROUP_METRICS[k][1])}"
                              for k in g.stats)
            seeds = ",".join(str(s) for s in g.seeds)
            out.append(f"  {what}  n={len(g.runs)} seeds {seeds}\n    {stats}")
    return "\n".join(out)


def _per_class_text(runs: list[RunData]) -> list[str]:
    pc = per_class_rows(runs)
    if not pc.class_names:
        return []
    rows = [["class"] + [letter(i) for i in range(len(runs))] + [pc.delta_label]]
    for name, values, delta in zip(pc.class_names, pc.values, pc.delta):
        d = fmt.class_pct(delta)[:-1] if pc.delta_label == "spread" else fmt.points(delta)
        rows.append([name, *[fmt.class_pct(v) for v in values], d])
    return ["\nper-class accuracy (last epoch)", text_table(rows)]


def _confusion_text(a: RunData, b: RunData) -> list[str]:
    try:
        diff = confusion_diff(a, b)
    except UserError as exc:
        return [f"\nconfusion B − A: {exc}"]
    unit = "rate points" if diff.normalized else "images"
    if len(diff.class_names) > MAX_CONFUSION_CLASSES:
        rows = [["true", "predicted", "B − A"]]
        for i, j, v in largest_changes(diff, MAX_CONFUSION_CLASSES):
            rows.append([diff.class_names[i], diff.class_names[j], f"{100 * v:+.0f}" if diff.normalized else f"{v:+d}"])
        return [f"\nconfusion B − A: the {len(rows) - 1} largest changes ({unit})", text_table(rows)]
    rows = [["true \\ pred", *fmt.abbreviations(diff.class_names)]]
    for name, row in zip(diff.class_names, diff.cells):
        cells = [("." if v == 0 else (f"{100 * v:+.0f}" if diff.normalized else f"{v:+d}")) for v in row]
        rows.append([name, *cells])
    return [f"\nconfusion B − A ({unit}; rows = true class)", text_table(rows)]


# ----------------------------------------------------------------------------- commands


def cmd_compare(argv: Sequence[str]) -> int:
    parser = Parser(prog=f"{PROG} compare", description="Compare saved runs side by side.")
    parser.add_argument("runs", nargs="+", metavar="RUN", help="run id, unique part of one, display name, path or 'latest'")
    parser.add_argument("--no-ui", action="store_true", help="print a plain table instead of opening the app")
    parser.add_argument("--all", action="store_true", help="show every config field, not only those that differ")
    add_runs_dir(parser)
    args = parser.parse_args(argv)
    if len(args.runs) < 2:
        raise UserError("compare needs at least two runs")
    dirs = [resolve_run(runs_dir_of(args), ref) for ref in args.runs]
    runs = load_compare_runs(dirs)
    if len(runs) < 2:
        raise UserError("compare needs two different runs")
    if not args.no_ui and sys.stdout.isatty():  # piped output always gets the plain table
        from tui.app import run_app

        return run_app(runs_dir=runs_dir_of(args), compare=[str(d) for d in dirs])
    print(compare_text(runs, args.all))
    return EXIT_OK


def cmd_export(argv: Sequence[str]) -> int:
    parser = Parser(prog=f"{PROG} export", description="Per-epoch metrics of runs in one CSV or JSON file.")
    parser.add_argument("runs", nargs="+", metavar="RUN", help="run id, unique part of one, display name, path or 'latest'")
    parser.add_argument("--format", choices=("csv", "json", "tensorboard"), default=None,
                        help="file format (default: from -o's extension, else csv); tensorboard: event files "
                             "of each run into the folder -o names")
    parser.add_argument("-o", "--output", metavar="FILE", help="write here (atomically) instead of stdout")
    add_runs_dir(parser)
    args = parser.parse_args(argv)
    from engine.analysis.export import export_runs, format_for

    fmt = args.format or (format_for(args.output) if args.output else "csv")
    dirs = [resolve_run(runs_dir_of(args), ref) for ref in args.runs]
    if fmt == "tensorboard":
        return _export_tensorboard(dirs, args.output)
    text = export_runs(dirs, fmt, args.output)
    if args.output:
        print(f"exported {len(set(dirs))} run(s) to {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    _warn_without_epochs(dirs)
    return EXIT_OK


def _export_tensorboard(dirs: Sequence[Path], output: str | None) -> int:
    """Event files for runs trained before they were written as the run trained (or with --no-tensorboard)."""
    from engine.runs.tensorboard import export_run

    if not output:
        raise UserError("--format tensorboard writes a folder of event files: give it with -o DIR")
    out = Path(output).expanduser()
    if out.exists() and not out.is_dir():
        raise UserError(f"{out} is a file; -o names a folder for --format tensorboard")
    for run in dict.fromkeys(dirs):
        where = export_run(run, out)
        print(f"{run.name} -> {where}", file=sys.stderr)
    print(f"view them with: tensorboard --logdir {out}", file=sys.stderr)
    return EXIT_OK


def _warn_without_epochs(dirs: Sequence[Path]) -> None:
    """One stderr line when runs had no completed epoch: their export is a header, not the data expected."""
    from engine.runs import complete_records, load_run

    empty = [d.name for d in dict.fromkeys(dirs) if not complete_records(load_run(d))]
    if len(empty) == 1:
        print(f"{PROG}: warning: run {empty[0]} has no completed epoch: the export holds none of its metrics",
              file=sys.stderr)
    elif empty:
        print(f"{PROG}: warning: runs {', '.join(empty)} have no completed epoch: the export holds none of "
              "their metrics", file=sys.stderr)


def default_watch_run(runs_dir: str) -> Path:
    """The newest running run, else the newest run."""
    entries = RunIndex(runs_dir).scan()
    if not entries:
        raise UserError(f"no runs in {runs_dir} to watch; start one with '{PROG} --no-ui ...'")
    running = [e for e in entries if e.status == RunStatus.RUNNING]
    return (running or entries)[0].info.path


def cmd_watch(argv: Sequence[str]) -> int:
    parser = Parser(prog=f"{PROG} watch", description="Follow a run started elsewhere (e.g. with --no-ui) live.")
    parser.add_argument("run", nargs="?", metavar="RUN", help="run to follow (default: the newest running run, else the newest run)")
    parser.add_argument("--no-ui", action="store_true", help="print plain lines (each epoch, each tenth of one) instead of opening the app")
    parser.add_argument("--interval", type=float, default=0.5, metavar="S", help="seconds between polls (default 0.5)")
    add_no_notify(parser)
    add_runs_dir(parser)
    args = parser.parse_args(argv)
    run_dir = resolve_run(runs_dir_of(args), args.run) if args.run else default_watch_run(runs_dir_of(args))
    if not args.no_ui:
        from tui.app import run_app

        return run_app(runs_dir=runs_dir_of(args), watch=str(run_dir), notify=not args.no_notify)
    return watch_lines(run_dir, max(0.05, args.interval))


def _print_record(rec: dict, epochs: object, best: float | None, out) -> float | None:
    """Print one metrics record as an epoch line; returns the best accuracy so far.

    A record without an epoch number is skipped and a value that is not a number
    shows as '-': a damaged line never stops the watch.
    """
    epoch = rec.get("epoch")
    if not isinstance(epoch, int) or isinstance(epoch, bool):
        return best
    is_best = improves(rec, best)  # validation alone picks the best; without it there is none
    acc = selection_value(rec)
    event = EpochDone(epoch, epochs if isinstance(epochs, int) else epoch, rec, [], [], is_best,
                      real(rec.get("wall_time_s")) or 0.0, None)
    print(epoch_line(event), file=out, flush=True)
    return acc if is_best else best


class _WatchPrinter:
    """What `watch --no-ui` prints of each poll: epoch lines, and progress lines as a piped --no-ui run does."""

    def __init__(self, out) -> None:
        self.out = out
        self.best: float | None = None
        self.lines = ProgressLines()

    def show(self, update) -> None:
        epochs, done = update.config.get("epochs"), update.summary.get("epochs_done")
        for rec in update.records:
            if update.finished and isinstance(done, int) and isinstance(rec.get("epoch"), int) and rec["epoch"] > done:
                continue  # a line past the summary (writer killed between the two): not committed, as in runs/export
            self.best = _print_record(rec, epochs, self.best, self.out)
            self.lines.printed()
        if update.step is not None and self.lines.due(update.step):
            print(progress_line(update.step, epochs), file=self.out, flush=True)


def watch_lines(run_dir: Path, interval: float, out=None) -> int:
    """Print epoch and progress lines until the run stops being written.

    engine.runs.follow polls status before records, so once the status is final every
    epoch is already on disk and the last poll prints it. The exit code is the watch's
    own: 0 once it followed the run to its end, whatever the run's status (the trainer's
    exit code says how the run went); 1 only when the run cannot be read.
    """
    from engine.runs.follow import RunFollower

    out = out or sys.stdout
    follower, printer = RunFollower(run_dir), _WatchPrinter(out)
    print(f"watching {run_dir.name} (Ctrl-C stops watching, not the run)", file=out, flush=True)
    while True:
        update = follower.poll()
        if update.error and update.finished:
            break  # unreadable for good: its epoch totals would come from a config we could not read
        printer.show(update)
        if update.finished:
            break
        time.sleep(interval)
    if update.error:
        print(f"unreadable: {update.error}", file=out, flush=True)
        return EXIT_FAILED
    s = update.summary
    print(f"{update.status}: {s.get('epochs_done', 0)}/{s.get('epochs', '?')} epochs in "
          f"{fmt.duration(s.get('wall_time_s'))}; test acc {fmt.pct(s.get('test_acc'))}", file=out, flush=True)
    if update.status == RunStatus.STALE:
        print("the process writing this run is gone (killed or crashed); the run will not finish", file=out)
    return EXIT_OK
