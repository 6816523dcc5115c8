"""Weights and checkpoints given by the user, refused with one line before anything is written (fault injection).

Every load goes through engine.runs.checkpoint.load_weights: weights_only (no code runs, no torch warning),
sha256 beside a manifest, and no NaN/Inf. Files here are real: torch.save'd pickles, JSON, PNG bytes.
"""
from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import pytest
import torch

from engine.config import RunConfig, UserError
from engine.models.registry import get_spec
from engine.runs.checkpoint import load_checkpoint, serialize
from engine.models.strategies import load_weights_file
from engine.training.loop import train
from tests.helpers.cli_process import cli, one_line_error as one_line

TINY = ["--dataset", "synthetic", "--train-limit", "100", "--test-limit", "50", "--batch-size", "50", "--epochs", "1"]


def no_run_written(runs: Path) -> bool:
    """No run directory, not even a hidden half-made one (the empty runs folder itself may exist)."""
    return not runs.exists() or not any(runs.iterdir())


def with_nan(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    key = next(k for k, v in state.items() if v.is_floating_point())
    bad = {**state, key: state[key].clone()}
    bad[key][(0,) * bad[key].dim()] = float("nan")  # indexing, not view(-1): conv weights may be channels_last
    return bad


class RunsCode:
    """Unpickling this would create a file: the proof that code ran."""

    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("weights")
    state = get_spec("cnn").build(10, 3, 32).state_dict()
    paths = {k: root / n for k, n in (("nan", "nan.pt"), ("code", "code.pt"), ("json", "weights.json"),
                                      ("png", "weights.png"), ("good", "good.pt"))}
    torch.save(state, paths["good"])
    torch.save(with_nan(state), paths["nan"])
    torch.save({"model": RunsCode(str(root / "code-ran"))}, paths["code"])
    paths["json"].write_text(json.dumps({"features.0.weight": [[0.1, 0.2]]}))
    paths["png"].write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))
    return paths


def weights_run(path: Path, runs: Path) -> subprocess.CompletedProcess:
    return cli("--no-ui", *TINY, "--model", "cnn", "--strategy", "finetune", "--weights", path, "--runs-dir", runs)


@pytest.mark.slow
def test_pickle_with_code_is_refused_quietly(files, tmp_path):
    out = weights_run(files["code"], tmp_path / "runs")
    one_line(out, str(files["code"]), "objects other than tensors")
    assert "Warning" not in out.stderr and not (files["code"].parent / "code-ran").exists()
    assert no_run_written(tmp_path / "runs")


@pytest.mark.parametrize("kind, fragment", [("nan", "non-finite values (NaN/Inf)"), ("json", "is JSON text"),
                                            ("png", "is a PNG image")])
@pytest.mark.slow
def test_unusable_weights_files_are_one_line(files, tmp_path, kind, fragment):
    one_line(weights_run(files[kind], tmp_path / "runs"), str(files[kind]), fragment)
    assert no_run_written(tmp_path / "runs")


def test_good_weights_still_load(files):
    assert load_weights_file(str(files["good"])).keys() == get_spec("cnn").build(10, 3, 32).state_dict().keys()


@pytest.fixture(scope="module")
def nan_run(tmp_path_factory) -> tuple[Path, Path]:
    """A real run whose best.pt holds a NaN weight and is recorded in the manifest (as a writer would have)."""
    runs = tmp_path_factory.mktemp("nanrun") / "runs"
    result = train(RunConfig(dataset="synthetic", model="cnn", epochs=1, train_limit=100, test_limit=50,
                             batch_size=50, runs_dir=str(runs), seed=1))
    assert result.status == "completed", result.error
    ck = Path(result.run_dir) / "checkpoints"
    state = load_checkpoint(ck / "best.pt")
    data = serialize({**state, "model": with_nan(state["model"])})
    manifest = json.loads((ck / "manifest.json").read_text())
    manifest["sha256"][hashlib.sha256(data).hexdigest()] = {"epoch": 1, "step": 1, "size": len(data)}
    (ck / "manifest.json").write_text(json.dumps(manifest))
    (ck / "best.pt").unlink()  # a hard link to last.pt: replace it, don't write through it
    (ck / "best.pt").write_bytes(data)
    return runs, Path(result.run_dir)


def test_pca_of_nan_weights_is_one_line(nan_run):
    runs, run = nan_run
    one_line(cli("pca", run.name, "--runs-dir", runs), "best.pt", "non-finite")


@pytest.mark.slow
def test_linear_probe_of_nan_weights_is_one_line_and_writes_nothing(nan_run):
    runs, run = nan_run
    before = sorted(p.name for p in runs.iterdir())
    out = cli("--no-ui", *TINY, "--model", "cnn", "--strategy", "linear-probe", "--from", run.name, "--runs-dir", runs)
    one_line(out, "best.pt", "non-finite")
    assert sorted(p.name for p in runs.iterdir()) == before  # no "diverged" run left behind


def test_a_checkpoint_that_does_not_match_its_manifest_is_refused(nan_run, tmp_path):
    _, run = nan_run
    last = run / "checkpoints" / "last.pt"
    copy = tmp_path / "checkpoints"
    copy.mkdir()
    (copy / "manifest.json").write_bytes((run / "checkpoints" / "manifest.json").read_bytes())
    data = bytearray(last.read_bytes())
    data[len(data) // 2] ^= 0xFF
    (copy / "last.pt").write_bytes(bytes(data))
    with pytest.raises(UserError, match="does not match its recorded sha256"):
        load_weights_file(str(copy / "last.pt"))
