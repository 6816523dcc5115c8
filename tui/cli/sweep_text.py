"""The words of ``cifar-tui sweep``/``sweeps``: a line per event, the trials table, the best trial,
parameter importance, and the sweeps listing. Plain text from engine.sweeps' plain data."""
from __future__ import annotations

from typing import Any, Sequence

from engine.sweeps.events import SweepEvent, SweepNote, SweepStarted, TrialEnded, TrialResumed
from engine.sweeps.space import params_text, value_text
from engine.sweeps.table import MIN_IMPORTANCE_TRIALS, STATUSES, SweepTable, TrialRow

from tui import format as fmt


def table_text(rows: Sequence[Sequence[str]], indent: str = "  ") -> str:
    """Left-aligned columns, two spaces apart."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join(indent + "  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows)


def event_line(event: SweepEvent) -> str:
    if isinstance(event, SweepStarted):
        return started_line(event)
    if isinstance(event, TrialResumed):
        return f"trial {event.number} resumes its run {event.run_id} after epoch {event.epochs_done}"
    if isinstance(event, TrialEnded):
        return ended_line(event)
    assert isinstance(event, SweepNote)
    return event.text


def started_line(e: SweepStarted) -> str:
    where = f"GPUs {','.join(e.gpus)}, " if e.gpus else ""
    line = (f"sweep {e.name}: {fmt.count(e.trials, 'trial')} ({e.sampler}), {e.parallel} at once, {where}"
            f"{fmt.count(e.threads, 'CPU thread')} each; study in {e.storage}")
    ended = sum(e.done_before.values())
    if ended:
        line += f"\ncontinuing: {ended} ended before ({counts_text(e.done_before)})"
    return line


def ended_line(e: TrialEnded) -> str:
    epochs = f"{e.epochs_done}/{e.epochs} epochs" if e.epochs_done is not None and e.epochs else ""
    head = f"trial {e.number} {e.status}"
    if e.status == "completed":
        head += f"  best val {fmt.pct(e.best_val)}"
    elif e.status == "pruned":
        head += f" at epoch {e.pruned_at}  val {fmt.pct(e.best_val)}"
    elif e.status == "interrupted":
        head += " (saved; the same command continues it)"
    parts = [head, epochs, fmt.duration(e.wall_time_s) if e.wall_time_s else "", params_text(e.params)]
    if e.run_id:
        parts.append(f"run {e.run_id}")
    if e.error:
        parts.append(f"error: {e.error}")
    return "  ".join(p for p in parts if p)


def counts_text(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {state}" for state, n in counts.items() if n) or "none"


def trials_table(table: SweepTable) -> str:
    """Every trial, best validation accuracy first."""
    header = ["trial", "status", "best val", "epochs", *table.params, "run"]
    rows = [header] + [_row(r, table.params) for r in table.rows]
    return table_text(rows)


def _row(r: TrialRow, params: list[str]) -> list[str]:
    epochs = f"{r.epochs_done}/{r.epochs}" if r.epochs_done is not None and r.epochs else fmt.MISSING
    status = f"pruned@{r.pruned_at}" if r.status == "pruned" and r.pruned_at else r.status
    values = [value_text(r.params[p]) if p in r.params else fmt.MISSING for p in params]
    return [str(r.number), status, fmt.pct(r.best_val), epochs, *values, r.run_id or fmt.MISSING]


def summary_text(table: SweepTable) -> str:
    """The table, the best trial, importances and the counts: what a sweep prints when it ends."""
    out = [f"\ntrials of sweep {table.name}, best validation accuracy first"]
    out.append(trials_table(table) if table.rows else "  (none yet)")
    best = table.best
    if best is not None:
        out.append(f"\nbest: trial {best.number}  val {fmt.pct(best.best_val)}  {params_text(best.params)}  "
                   f"run {best.run_id or fmt.MISSING}")
        if best.run_dir:
            out.append(f"  {best.run_dir}")
    else:
        out.append("\nbest: none yet (no trial has completed)")
    out.append(importance_text(table))
    out.append(f"{fmt.count(len(table.rows), 'trial')} of {table.trials}: {counts_text(table.counts)}")
    return "\n".join(out)


def importance_text(table: SweepTable) -> str:
    done = table.counts.get("completed", 0)
    if table.importances:
        items = "  ".join(f"{k} {v:.2f}" for k, v in table.importances.items())
        return f"parameter importance (PED-ANOVA over {done} completed trials): {items}"
    if done < MIN_IMPORTANCE_TRIALS:
        return f"parameter importance: after {MIN_IMPORTANCE_TRIALS} completed trials ({done} so far)"
    return "parameter importance: none (no parameter varies among the completed trials)"


def sweeps_text(listings: list[Any]) -> str:
    """One line per sweep: trials ended of all, each status, the best."""
    header = ["sweep", "ended", *STATUSES[:-1], "best val", "best trial", "storage"]
    rows = [header]
    for s in listings:
        if s.table is None:
            rows.append([s.name, "unreadable", *[""] * (len(STATUSES) - 1), "", s.error or "", s.storage])
            continue
        t = s.table
        best = t.best
        ended = sum(t.counts.get(k, 0) for k in ("completed", "pruned", "failed"))
        rows.append([s.name, f"{ended}/{t.trials}", *[str(t.counts.get(k, 0)) for k in STATUSES[:-1]],
                     fmt.pct(best.best_val if best else None),
                     f"t{best.number} {params_text(best.params)} {best.run_id or ''}".strip() if best else fmt.MISSING,
                     s.storage])
    return table_text(rows, indent="")


def listing_json(s: Any) -> dict[str, Any]:
    """One sweep for `sweeps --json`: counts, the best trial and every trial."""
    if s.table is None:
        return {"name": s.name, "storage": s.storage, "error": s.error}
    t = s.table
    return {"name": s.name, "storage": s.storage, "error": None, "sampler": t.sampler, "trials": t.trials,
            "params": t.params, "counts": t.counts, "best": vars(t.best) if t.best else None,
            "importances": t.importances, "rows": [vars(r) for r in t.rows]}
