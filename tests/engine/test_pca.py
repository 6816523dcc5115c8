"""PCA of a trained run's features (study 001): engine function and the `pca` command, on a real run."""
from __future__ import annotations

import json

import pytest

from engine.config import RunConfig, UserError
from engine.analysis.pca import run_feature_pca
from engine.training.loop import train
from tests.helpers.cli_process import cli

# Trains for real (subprocesses, tmux or full datasets): the fast tier (-m 'not slow') skips it.
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    runs = tmp_path_factory.mktemp("pca") / "runs"
    config = RunConfig(dataset="synthetic", model="cnn", epochs=1, train_limit=200, test_limit=100,
                       batch_size=50, runs_dir=str(runs), seed=3)
    result = train(config)
    assert result.status == "completed", result.error
    return runs, result.run_dir


def test_explained_variance_of_a_real_run(trained_run) -> None:
    _, run_dir = trained_run
    out = run_feature_pca(run_dir, k=5, limit=None)
    assert out.dim == 128  # the cnn's pooled features entering its head
    assert out.n_images == 100
    assert len(out.explained) == 5
    assert all(a >= b - 1e-6 for a, b in zip(out.explained, out.explained[1:]))  # descending
    assert 0 < out.cumulative[-1] <= 1 + 1e-6


def test_pca_command_json_and_errors(trained_run) -> None:
    runs, _ = trained_run
    ok = cli("pca", "latest", "-k", "3", "--runs-dir", runs, "--json")
    assert ok.returncode == 0, ok.stderr
    [row] = json.loads(ok.stdout)
    assert len(row["explained"]) == 3 and row["cumulative"][-1] == pytest.approx(sum(row["explained"]))
    bad = cli("pca", "no-such-run", "--runs-dir", runs)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert bad.stderr.strip().count("\n") == 0 and "no run matches" in bad.stderr


def test_a_run_without_checkpoints_says_so(tmp_path) -> None:
    config = RunConfig(dataset="synthetic", model="mlp", epochs=1, train_limit=100, test_limit=50, batch_size=50,
                       runs_dir=str(tmp_path / "runs"), checkpoints=False)
    result = train(config)
    with pytest.raises(UserError, match="no checkpoint"):
        run_feature_pca(result.run_dir)
