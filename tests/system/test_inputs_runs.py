"""Damaged run files through the real CLI: one bad run never hides the others or crashes a command;
and the files the store writes get the user's umask (fault injection)."""
from __future__ import annotations

import json
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.cli_process import cli
from tests.helpers.runs_fixture import EPOCHS, RUNS, run_named


def ok(out: subprocess.CompletedProcess) -> str:
    assert out.returncode == 0 and "Traceback" not in out.stderr, out.stdout + out.stderr
    return out.stdout


def strict_json(text: str):
    """json.loads that refuses NaN/Infinity, as jq and browsers do."""
    def refuse(name: str):
        raise AssertionError(f"bare {name} in JSON output")
    return json.loads(text, parse_constant=refuse)


def edit_json(path: Path, **changes) -> None:
    path.write_text(json.dumps({**json.loads(path.read_text()), **changes}))


@pytest.fixture
def damaged(runs: Path) -> tuple[Path, dict[str, Path]]:
    """The six fixture runs (by key) with three made unreadable and one with junk lines in metrics.jsonl."""
    run = {key: run_named(runs, key) for key in RUNS}  # before the damage: run_named reads config.json
    edit_json(run["seed2"] / "summary.json", best_acc="high")
    edit_json(run["seed3"] / "config.json", dataset=7)
    (run["noval"] / "config.json").write_text("[1, 2, 3]")
    metrics = run["lowlr"] / "metrics.jsonl"
    first, *rest = metrics.read_bytes().splitlines(keepends=True)
    metrics.write_bytes(first + b"[1, 2]\n\xff\xfe\x00binary\n\"text\"\n{\"epoch\": \"two\"}\n" + b"".join(rest))
    return runs, run


def test_runs_lists_bad_runs_as_unreadable_with_their_reason(damaged):
    damaged, run = damaged
    rows = {line.split()[0]: line for line in ok(cli("runs", "--runs-dir", damaged)).splitlines()[1:]}
    reasons = {"seed2": "summary.json: best_acc is str 'high'", "seed3": "config.json: dataset is int",
               "noval": "config.json is not a JSON object"}
    for key, reason in reasons.items():
        row = rows[run[key].name]
        assert "unreadable" in row and reason in row, row
    for key in ("seed1", "lowlr", "cnn"):
        assert "completed" in rows[run[key].name]

    listed = {r["run_id"]: r for r in strict_json(ok(cli("runs", "--json", "--runs-dir", damaged)))}
    assert len(listed) == 6
    assert listed[run["seed2"].name]["status"] == "unreadable"
    assert "best_acc" in listed[run["seed2"].name]["error"]
    assert listed[run["lowlr"].name]["status"] == "completed"


def test_compare_export_watch_skip_junk_metrics_lines(damaged):
    damaged, run = damaged
    lowlr, seed1 = run["lowlr"], run["seed1"]
    text = ok(cli("compare", lowlr.name, seed1.name, "--no-ui", "--runs-dir", damaged))
    assert f"{EPOCHS}/{EPOCHS} epochs" in text
    rows = ok(cli("export", lowlr.name, "--runs-dir", damaged)).splitlines()
    assert [r.split(",")[7] for r in rows[1:]] == [str(e) for e in range(1, EPOCHS + 1)]  # the epoch column
    doc = strict_json(ok(cli("export", lowlr.name, "--format", "json", "--runs-dir", damaged)))
    assert [r["epoch"] for r in doc["runs"][0]["epochs"]] == list(range(1, EPOCHS + 1))
    lines = ok(cli("watch", lowlr.name, "--no-ui", "--runs-dir", damaged)).splitlines()
    assert sum(line.startswith("epoch ") for line in lines) == EPOCHS and lines[-1].startswith("completed")


@pytest.mark.parametrize("key", ["seed2", "seed3", "noval"])
def test_commands_on_an_unreadable_run_say_so_in_one_line(damaged, key):
    damaged, run = damaged
    bad, good = run[key], run["seed1"]
    for args in (("compare", bad.name, good.name, "--no-ui"), ("export", bad.name)):
        out = cli(*args, "--runs-dir", damaged)
        assert out.returncode == 2 and "Traceback" not in out.stderr, out.stderr
        [line] = out.stderr.strip().splitlines()
        assert f"run {bad.name} is unreadable" in line
    out = cli("watch", bad.name, "--no-ui", "--runs-dir", damaged)
    assert out.returncode == 1 and "Traceback" not in out.stderr, out.stderr
    assert "unreadable: " in out.stdout and "epoch " not in out.stdout  # no epoch lines with made-up totals


def garble(run: Path) -> None:
    """Values of the right JSON type at the top level but wrong inside, and non-finite numbers (old writers)."""
    summary = json.loads((run / "summary.json").read_text())
    summary.update(class_names=[1, 2, 3], confusion=[[1, "a"], [2]], per_class_acc={"1": "x"})
    text = json.dumps(summary)[:-1] + ', "wall_time_s": NaN, "img_per_s": Infinity, "test_loss": -Infinity}'
    (run / "summary.json").write_text(text)
    with open(run / "metrics.jsonl", "a") as f:
        f.write(json.dumps({"epoch": 2, "train_loss": "x", "test_acc": "y", "img_per_s": [1], "val_acc": {}}) + "\n")


def test_garbled_values_never_crash_a_command(runs):
    cnn, seed1 = run_named(runs, "cnn"), run_named(runs, "seed1")
    garble(cnn)
    assert cnn.name in ok(cli("runs", "--runs-dir", runs))
    text = ok(cli("compare", seed1.name, cnn.name, "--no-ui", "--runs-dir", runs))
    assert "confusion B − A:" in text
    ok(cli("export", seed1.name, cnn.name, "--runs-dir", runs))
    doc = strict_json(ok(cli("export", cnn.name, "--format", "json", "--runs-dir", runs)))
    assert doc["runs"][0]["summary"]["wall_time_s"] is None
    lines = ok(cli("watch", cnn.name, "--no-ui", "--runs-dir", runs)).splitlines()
    assert lines[-1].startswith("completed: 2/2 epochs in -;")


def test_runs_json_never_prints_nan(runs):
    garble(run_named(runs, "cnn"))
    strict_json(ok(cli("runs", "--json", "--runs-dir", runs)))


def modes(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): stat.S_IMODE(p.stat().st_mode) for p in root.rglob("*")}


@pytest.mark.slow
def test_store_files_follow_the_umask(tmp_path):
    runs = tmp_path / "runs"
    ok(cli("--no-ui", "--dataset", "synthetic", "--train-limit", "100", "--test-limit", "50", "--batch-size", "50",
           "--epochs", "2", "--val-split", "20", "--runs-dir", runs, umask=0o022))
    [run] = list(runs.iterdir())
    setter = "import sys; from engine.runs import set_name; set_name(sys.argv[1], 'shared')"
    subprocess.run([sys.executable, "-c", setter, str(run)], check=True, umask=0o022)
    found = modes(run)
    assert {"config.json", "summary.json", "metrics.jsonl", "meta.json", "checkpoints/last.pt",
            "checkpoints/best.pt", "checkpoints/prev.pt", "checkpoints/manifest.json"} <= set(found)
    assert {name: mode for name, mode in found.items() if mode != (0o755 if (run / name).is_dir() else 0o644)} == {}

    out = tmp_path / "metrics.csv"
    cli("export", run.name, "-o", out, "--runs-dir", runs, umask=0o027)
    assert stat.S_IMODE(out.stat().st_mode) == 0o640  # the umask decides, not a fixed mode
