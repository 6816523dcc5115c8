"""engine.analysis.compare, engine.analysis.export and engine.runs over runs made by real training."""
from __future__ import annotations

import csv
import io
import json
import os

import pytest

from engine.analysis.compare import (
    config_rows, confusion_diff, curves, load_compare_runs, metric_rows, per_class_rows,
)
from engine.analysis.seed_groups import seed_groups
from engine.config import UserError
from engine.analysis.export import export_runs, to_csv
from engine.runs import delete_run, read_meta, resolve_run, set_name, set_note, set_tags, writer_alive
from engine.runs.index import RunIndex
from engine.runs.meta import parse_tags
from tests.helpers.runs_fixture import EPOCHS, dead_pid, mark_running, run_named



def test_config_rows_show_only_what_differs(built_runs):
    a, b = load_compare_runs([run_named(built_runs, "seed1"), run_named(built_runs, "lowlr")])
    rows = dict(config_rows([a, b]))
    assert rows["lr"] == ["0.05", "0.005"] and rows["name"] == ["-", "lowlr"]
    assert "seed" not in rows and "run_id" not in rows and "environment.pid" not in rows
    assert "batch_size" in dict(config_rows([a, b], show_all=True))


def test_metric_rows_at_the_best_validation_epoch_and_last_with_winner(built_runs):
    """'Best' is the value at the epoch validation chose, never the maximum of a test metric over epochs."""
    runs = load_compare_runs([run_named(built_runs, k) for k in ("seed1", "seed2", "noval")])
    rows = {m.spec.key: m for m in metric_rows(runs)}
    for i, run in enumerate(runs):
        accs = [r["test_acc"] for r in run.metrics]
        chosen = run.summary["best_epoch"] if run.summary.get("best_metric") == "val_acc" else len(accs)
        assert rows["test_acc"].best[i] == accs[chosen - 1] and rows["test_acc"].last[i] == accs[-1]
        assert rows["test_acc"].best[i] == run.summary["test_acc_at_best"]
    best = rows["test_acc"].best
    if best.count(max(best)) == 1:
        assert best[rows["test_acc"].best_winner] == max(best)
    else:
        assert rows["test_acc"].best_winner is None  # a shared best has no single winner
    assert rows["val_acc"].best[2] is None  # the run without a val split has none
    assert rows["val_acc"].best[0] == max(r["val_acc"] for r in runs[0].metrics)


def test_per_class_and_confusion_difference(built_runs):
    a, b = load_compare_runs([run_named(built_runs, "seed1"), run_named(built_runs, "cnn")])
    pc = per_class_rows([a, b])
    assert pc.delta_label == "B−A" and len(pc.class_names) == 10
    first = pc.class_names[0]
    assert pc.delta[0] == pytest.approx(b.summary["per_class_acc"][first] - a.summary["per_class_acc"][first])
    diff = confusion_diff(a, b)
    assert not diff.normalized  # same test set: counts
    assert diff.cells[3][4] == b.summary["confusion"][3][4] - a.summary["confusion"][3][4]
    assert sum(sum(row) for row in diff.cells) == 0  # same number of test images


def test_curves_by_epoch_and_wall_time(built_runs):
    runs = load_compare_runs([run_named(built_runs, "seed1"), run_named(built_runs, "noval")])
    by_epoch = curves(runs, "val_acc", "epoch")
    assert by_epoch[0].x == list(range(1, EPOCHS + 1)) and by_epoch[1].x == []  # no val split: no curve
    wall = curves(runs, "test_acc", "wall")
    assert wall[0].x == sorted(wall[0].x) and wall[0].x[-1] == runs[0].metrics[-1]["wall_time_s"]
    with pytest.raises(UserError):
        curves(runs, "nope")


def test_seed_groups_mean_and_std(built_runs):
    runs = load_compare_runs([run_named(built_runs, k) for k in ("seed1", "seed2", "seed3", "lowlr")])
    groups = seed_groups(runs)
    assert len(groups) == 1 and sorted(groups[0].seeds) == [1, 2, 3]
    accs = [r.summary["test_acc"] for r in runs[:3]]
    mean, std, n = groups[0].stats["test_acc"]
    assert n == 3 and mean == pytest.approx(sum(accs) / 3)
    assert std == pytest.approx((sum((x - mean) ** 2 for x in accs) / 2) ** 0.5)
    assert groups[0].differing.get("lr") == "0.05"


def test_csv_export_one_row_per_epoch_per_run(built_runs, tmp_path):
    dirs = [run_named(built_runs, k) for k in ("seed1", "cnn", "noval")]
    out = tmp_path / "all.csv"
    export_runs(dirs, "csv", out)
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    expected = sum(len((d / "metrics.jsonl").read_text().splitlines()) for d in dirs)
    assert len(rows) == expected == 3 + 2 + 3
    assert {r["run_id"] for r in rows} == {d.name for d in dirs}
    assert rows[0]["epoch"] == "1" and float(rows[0]["test_acc"]) >= 0
    assert any(c.startswith("acc:") for c in rows[0])
    assert rows[-1]["val_acc"] == ""  # no val split: empty cell, not a missing column


def test_json_export_holds_every_record(built_runs):
    d = run_named(built_runs, "seed2")
    doc = json.loads(export_runs([d], "json"))
    assert doc["runs"][0]["run_id"] == d.name and len(doc["runs"][0]["epochs"]) == EPOCHS
    assert "confusion" in doc["runs"][0]["epochs"][0]


def test_meta_edits_are_atomic_files_and_survive_damage(runs):
    d = run_named(runs, "seed1")
    set_name(d, "  base\nline  ")
    set_note(d, "the reference run")
    set_tags(d, "keep, baseline keep #cifar")
    meta = read_meta(d)
    assert (meta.name, meta.note, meta.tags) == ("base line", "the reference run", ["keep", "baseline", "cifar"])
    assert resolve_run(runs, "base line") == d
    assert not [p for p in os.listdir(d) if p.endswith(".tmp")]
    (d / "meta.json").write_text("{not json")
    assert read_meta(d).name is None  # damaged meta never breaks a listing
    assert parse_tags("a,,b a") == ["a", "b"]


def test_delete_refuses_a_running_run_and_non_runs(runs, tmp_path):
    live, dead, done = (run_named(runs, k) for k in ("seed1", "seed2", "seed3"))
    mark_running(live, os.getpid())  # this very process holds the lock: alive
    mark_running(dead, dead_pid())
    assert writer_alive(live) and not writer_alive(dead)
    with pytest.raises(UserError, match="still running"):
        delete_run(live, runs)
    assert live.exists()
    delete_run(dead, runs)  # a stale run may go
    delete_run(done, runs)
    assert not dead.exists() and not done.exists()
    (tmp_path / "other").mkdir()
    with pytest.raises(UserError):
        delete_run(tmp_path / "other")
    statuses = {e.info.run_id: e.status for e in RunIndex(runs).scan()}
    assert statuses[live.name] == "running" and not any(n.startswith(".") for n in statuses)


def test_run_index_rereads_changed_runs_and_reports_unreadable(runs):
    index = RunIndex(runs)
    assert len(index.scan()) == 6
    broken = run_named(runs, "lowlr")
    (broken / "summary.json").write_text('{"status": "completed", ')
    entries = {e.info.run_id: e for e in index.scan()}
    assert entries[broken.name].status == "unreadable" and "corrupted" in entries[broken.name].info.error
    assert sum(e.status == "completed" for e in entries.values()) == 5


def test_engine_modules_import_no_ui_and_no_torch():
    import subprocess
    import sys

    code = ("import sys, engine.analysis.compare, engine.analysis.export, engine.runs; "
            "bad = [m for m in ('textual', 'rich', 'torch') if m in sys.modules]; assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_to_csv_of_no_epochs_is_just_a_header(runs):
    from engine.analysis.compare import load_compare_run

    d = run_named(runs, "seed3")
    (d / "metrics.jsonl").write_text("")
    text = to_csv([load_compare_run(d)])
    assert text.splitlines()[0].startswith("run_id,name") and len(text.splitlines()) == 1


def test_a_run_being_created_is_starting_not_unreadable(runs):
    new = runs / "20991231-000000-mlp-scratch"
    new.mkdir()
    (new / "lock").write_text(json.dumps({"pid": os.getpid(), "host": __import__("socket").gethostname()}))
    entries = {e.info.run_id: e for e in RunIndex(runs).scan()}
    assert entries[new.name].status == "starting"
    (new / "lock").unlink()
    old = os.path.getmtime(new) - 3600
    os.utime(new, (old, old))
    assert {e.info.run_id: e for e in RunIndex(runs).scan()}[new.name].status == "unreadable"


def test_strip_stamp_drops_only_a_run_id_timestamp():
    from engine.runs.meta import strip_stamp

    assert strip_stamp("20261123-115406-cnn-scratch") == "cnn-scratch"
    assert strip_stamp("20261123-115406-cnn-scratch-live-2") == "cnn-scratch-live-2"
    assert strip_stamp("my-run-name") == "my-run-name" and strip_stamp("2026-1-x") == "2026-1-x"
