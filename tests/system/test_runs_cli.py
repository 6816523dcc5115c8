"""`cifar-tui runs / compare / export / watch` through a real subprocess."""
from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys

from tests.helpers.cli_process import cli, one_line_error
from tests.helpers.runs_fixture import EPOCHS, run_named


def test_runs_lists_and_json(runs):
    out = cli("runs", "--runs-dir", runs)
    assert out.returncode == 0 and len(out.stdout.strip().splitlines()) == 1 + 6
    listed = json.loads(cli("runs", "--json", "--runs-dir", runs).stdout)
    assert {r["status"] for r in listed} == {"completed"}


def test_compare_prints_a_plain_table(runs):
    a, b = run_named(runs, "seed1"), run_named(runs, "lowlr")
    out = cli("compare", a.name, "lowlr", "--no-ui", "--runs-dir", runs)
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert f"A  {a.name}" in text and f"B  {b.name}" in text
    config = text.split("\nconfig")[1].split("\nmetrics")[0].splitlines()
    assert any(line.split() == ["lr", "0.05", "0.005"] for line in config)
    assert not any(line.split()[:1] == ["seed"] for line in config)  # same seed: not a differing field
    assert "per-class accuracy" in text and "confusion B − A" in text
    assert "\x1b[" not in text  # plain text, no colour codes


def test_compare_seed_group_and_all_fields(runs):
    dirs = [run_named(runs, k) for k in ("seed1", "seed2", "seed3")]
    out = cli("compare", *dirs, "--no-ui", "--all", "--runs-dir", runs)
    assert out.returncode == 0, out.stderr
    assert "seed groups" in out.stdout and "n=3 seeds" in out.stdout and "±" in out.stdout
    assert "batch_size" in out.stdout  # --all shows identical fields too


def test_compare_errors_are_one_line(runs):
    one_line_error(cli("compare", "no-such-run", "seed", "--no-ui", "--runs-dir", runs), "no run matches 'no-such-run'")
    one_line_error(cli("compare", run_named(runs, "seed1").name, "--no-ui", "--runs-dir", runs), "at least two")
    one_line_error(cli("compare", "mlp", "cnn", "--no-ui", "--runs-dir", runs), "matches", "runs")
    broken = run_named(runs, "cnn")
    (broken / "summary.json").write_text("{")
    one_line_error(cli("compare", broken, run_named(runs, "seed1"), "--no-ui", "--runs-dir", runs), "unreadable")


def test_export_csv_one_row_per_epoch_per_run(runs, tmp_path):
    names = [run_named(runs, k).name for k in ("seed1", "seed2", "cnn")]
    out = cli("export", *names, "--format", "csv", "--runs-dir", runs)
    assert out.returncode == 0, out.stderr
    rows = list(csv.DictReader(io.StringIO(out.stdout)))
    per_run = {n: [int(r["epoch"]) for r in rows if r["run_id"] == n] for n in names}
    assert per_run == {names[0]: [1, 2, 3], names[1]: [1, 2, 3], names[2]: [1, 2]}
    target = tmp_path / "m.json"
    out = cli("export", *names[:2], "-o", target, "--runs-dir", runs)  # format from the extension
    assert out.returncode == 0 and out.stdout == ""
    doc = json.loads(target.read_text())
    assert [len(r["epochs"]) for r in doc["runs"]] == [EPOCHS, EPOCHS]


def test_export_errors_are_one_line(runs, tmp_path):
    one_line_error(cli("export", "nope", "--runs-dir", runs), "no run matches")
    one_line_error(cli("export", "seed", "--format", "xml", "--runs-dir", runs), "invalid choice")
    one_line_error(cli("export", run_named(runs, "seed1").name, "-o", tmp_path / "missing" / "x.csv",
                       "--runs-dir", runs), "does not exist")


def test_watch_no_ui_of_a_finished_run(runs):
    target = run_named(runs, "lowlr")
    out = cli("watch", "lowlr", "--no-ui", "--runs-dir", runs)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == f"watching {target.name} (Ctrl-C stops watching, not the run)"
    assert sum(line.startswith("epoch ") and f"/{EPOCHS}" in line for line in lines) == EPOCHS
    assert lines[-1].startswith(f"completed: {EPOCHS}/{EPOCHS} epochs")
    one_line_error(cli("watch", "--no-ui", "--runs-dir", runs / "empty"), "no runs")


def _set_summary(run, **fields) -> None:
    summary = json.loads((run / "summary.json").read_text())
    (run / "summary.json").write_text(json.dumps({**summary, **fields}))


def test_watch_exits_0_once_it_followed_a_run_to_its_end_whatever_its_status(runs):
    """The watch's exit code is its own: the trainer's says how the run went."""
    for key, status in (("seed1", "interrupted"), ("seed2", "failed"), ("seed3", "diverged")):
        _set_summary(run_named(runs, key), status=status)
        out = cli("watch", run_named(runs, key).name, "--no-ui", "--runs-dir", runs)
        assert out.returncode == 0, (status, out.stdout, out.stderr)
        assert out.stdout.splitlines()[-1].startswith(f"{status}: {EPOCHS}/{EPOCHS} epochs")
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = run_named(runs, "cnn")
    _set_summary(stale, status="running")
    (stale / "lock").write_text(json.dumps({"pid": dead.pid, "host": os.uname().nodename}))
    out = cli("watch", stale.name, "--no-ui", "--runs-dir", runs)
    assert out.returncode == 0 and "the process writing this run is gone" in out.stdout, out.stdout
    one_line_error(cli("watch", "no-such-run", "--no-ui", "--runs-dir", runs), "no run matches")


def test_export_of_a_run_without_epochs_warns_in_one_line(runs, tmp_path):
    empty, full = run_named(runs, "seed1"), run_named(runs, "seed2")
    (empty / "metrics.jsonl").write_text("")
    _set_summary(empty, status="interrupted", epochs_done=0)
    out = cli("export", empty.name, "--runs-dir", runs)
    assert out.returncode == 0 and out.stdout.count("\n") == 1  # the CSV header alone
    [line] = out.stderr.splitlines()
    assert line.startswith("cifar-tui: warning: run ") and empty.name in line and "no completed epoch" in line
    out = cli("export", empty.name, full.name, "-o", tmp_path / "both.csv", "--runs-dir", runs)
    assert out.returncode == 0 and len((tmp_path / "both.csv").read_text().splitlines()) == 1 + EPOCHS
    assert [line for line in out.stderr.splitlines() if "warning" in line] == [line]
    out = cli("export", full.name, "--runs-dir", runs)
    assert out.returncode == 0 and out.stderr == ""


def test_help_lists_the_commands():
    out = cli("--help")
    assert all(f"cifar-tui {c}" in out.stdout for c in ("compare", "export", "watch"))


def test_compare_of_100_classes_lists_the_largest_changes(cifar100_dir, tmp_path):
    """A 100×100 confusion difference does not fit a terminal: the biggest changes are listed."""
    from engine.config import RunConfig
    from engine.training.loop import train

    runs_dir = tmp_path / "runs100"
    base = RunConfig(dataset="cifar100", data_dir=str(cifar100_dir), download=False, model="mlp", epochs=1,
                     runs_dir=str(runs_dir), checkpoints=False, batch_size=100)
    dirs = [train(base.replace(seed=s)).run_dir for s in (1, 2)]
    out = cli("compare", *dirs, "--no-ui", "--runs-dir", runs_dir)
    assert out.returncode == 0, out.stderr
    section = out.stdout.split("confusion B − A: the ")[1]
    assert section.startswith("20 largest changes") and "class" in section
    assert max(len(line) for line in out.stdout.splitlines()) < 200


def test_headless_run_commands_import_neither_textual_nor_torch():
    code = ("import sys, tui.cli.runs; "
            "bad = [m for m in ('textual', 'torch') if m in sys.modules]; assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)
