"""`cifar-tui analyze RUN` on real tiny runs: what it prints, what it stores, and that it loads back."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.helpers.cli_process import cli

from engine.runs import predictions as store
from engine.analysis.analyze import load_feature_space, read_probe, read_summary
from engine.config import RunConfig
from engine.training.loop import train

# Trains for real: the fast tier (-m 'not slow') skips it.
pytestmark = pytest.mark.slow



@pytest.fixture(scope="module")
def run(tmp_path_factory):
    runs = tmp_path_factory.mktemp("analyze") / "runs"
    result = train(RunConfig(dataset="synthetic", model="mlp", epochs=1, train_limit=200, test_limit=100,
                             batch_size=20, lr=0.05, runs_dir=str(runs), seed=3))
    assert result.status == "completed", result.error
    return runs, Path(result.run_dir), result.summary


def test_analyze_stores_errors_and_pca_that_load_back(run) -> None:
    runs, run_dir, summary = run
    out = cli("analyze", run_dir.name, "--no-ui", "--limit", "50", "--runs-dir", runs)
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert f"test acc {100 * summary['test_acc']:.2f}%" in text
    wrong = round((1 - summary["test_acc"]) * 100)
    assert f"{wrong} mistakes" in text and "most confused (true → predicted):" in text
    arrows = [line for line in text.splitlines() if " → " in line and "most confused" not in line]
    assert 1 <= len(arrows) <= 5 and all(line.split()[-1].isdigit() for line in arrows)
    assert "pca: best.pt (epoch 1) on 50 test images, 256-d features entering" in text and "PC1 " in text
    folder = run_dir / "analysis"
    preds = store.load(folder / "predictions.npz")
    assert preds.epoch == 1 and preds.confusion(10) == summary["confusion"]
    fs = load_feature_space(run_dir)
    assert fs is not None and fs.coords.shape == (50, 2)
    record = read_summary(run_dir)
    assert record["errors"]["test_acc"] == pytest.approx(summary["test_acc"])
    assert record["errors"]["checkpoint"] == "best.pt" and record["pca"]["n_images"] == 50
    assert record["pca"]["explained"][0] == pytest.approx(fs.explained[0])
    assert f"PC1 {100 * fs.explained[0]:.1f}%" in text
    # Only the part asked is recomputed; the other stays recorded.
    again = cli("analyze", run_dir.name, "--pca", "--limit", "0", "--json", "--runs-dir", runs)
    assert again.returncode == 0, again.stderr
    data = json.loads(again.stdout)
    assert data["pca"]["n_images"] == 100 and data["errors"] == record["errors"]
    assert sorted(p.name for p in folder.iterdir()) == ["pca.npz", "predictions.npz", "summary.json"]


def test_analyze_probe_records_the_comparison(run) -> None:
    runs, run_dir, summary = run
    out = cli("analyze", run_dir.name, "--probe", "--probe-epochs", "1", "--runs-dir", runs)
    assert out.returncode == 0, out.stderr
    record = read_probe(run_dir)
    assert record is not None and record["run_test_acc"] == summary["test_acc"]
    assert f"probe: run {record['probe_run_id']} (1 epoch): test acc" in out.stdout
    assert (runs / record["probe_run_id"] / "summary.json").is_file()
    assert "epoch 1/1" in out.stderr  # the probe's training shows as a --no-ui run does, on stderr


def test_analyze_bad_input_is_one_line(run, tmp_path) -> None:
    runs, _, _ = run
    no_ckpt = train(RunConfig(dataset="synthetic", model="mlp", epochs=1, train_limit=100, test_limit=50,
                              batch_size=50, runs_dir=str(tmp_path / "runs"), checkpoints=False))
    out = cli("analyze", no_ckpt.run_id, "--no-ui", "--runs-dir", tmp_path / "runs")
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert out.stderr.startswith(f"cifar-tui: error: run {no_ckpt.run_id} has no checkpoint")
    assert out.stderr.count("\n") == 1
    assert not (Path(no_ckpt.run_dir) / "analysis").exists()
    missing = cli("analyze", "no-such-run", "--runs-dir", runs)
    assert missing.returncode == 2 and missing.stderr.count("\n") == 1 and "no run matches" in missing.stderr
    bad = cli("analyze", "latest", "--limit", "-1", "--runs-dir", runs)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "--limit" in bad.stderr
