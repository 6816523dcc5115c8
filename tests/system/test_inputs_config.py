"""Bad settings are refused before anything is written: non-finite floats and over-long names (fault injection)."""
from __future__ import annotations

import dataclasses

import pytest

from engine.config import MAX_NAME, ConfigError, RunConfig
from tests.helpers.cli_process import cli


def float_fields() -> list[str]:
    return [f.name for f in dataclasses.fields(RunConfig) if isinstance(f.default, float)]


def test_every_float_field_is_checked_for_finiteness():
    names = float_fields()
    assert {"lr", "momentum", "weight_decay", "warmup_epochs", "mixup", "phase2_lr"} <= set(names)
    for name in names:
        for bad in (float("inf"), float("-inf"), float("nan")):
            with pytest.raises(ConfigError, match=f"{name} must be a finite number") as info:
                RunConfig(dataset="synthetic", **{name: bad}).validate()
            assert info.value.field == name  # the launcher flags the field itself


@pytest.mark.parametrize("args", [
    ["--lr", "inf"], ["--lr", "1e999"], ["--momentum", "nan"], ["--weight-decay", "inf"],
    ["--warmup-epochs", "nan"], ["--mixup", "nan"], ["--lr=-inf"],
])
def test_non_finite_flag_is_one_line_exit_2_and_writes_nothing(args, tmp_path):
    runs = tmp_path / "runs"
    out = cli("--no-ui", "--dataset", "synthetic", "--epochs", "1", "--runs-dir", str(runs), *args)
    assert out.returncode == 2, out.stdout + out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "must be a finite number" in lines[0] and "Traceback" not in out.stderr
    flag = args[0].split("=")[0]
    assert flag in lines[0]  # says which flag to fix
    assert not runs.exists()


def test_name_longer_than_the_limit_is_refused(tmp_path):
    assert RunConfig(dataset="synthetic", name="a" * MAX_NAME).validate()
    with pytest.raises(ConfigError, match=f"at most {MAX_NAME}"):
        RunConfig(dataset="synthetic", name="a" * (MAX_NAME + 1)).validate()
    runs = tmp_path / "runs"
    out = cli("--no-ui", "--dataset", "synthetic", "--epochs", "1", "--runs-dir", str(runs), "--name", "n" * 300)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    [line] = out.stderr.strip().splitlines()
    assert "300 characters" in line and f"at most {MAX_NAME}" in line
    assert not runs.exists()


def test_name_limit_is_in_the_help():
    out = cli("--help")
    assert out.returncode == 0 and f"at most {MAX_NAME}" in " ".join(out.stdout.split())
