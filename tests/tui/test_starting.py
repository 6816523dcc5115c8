"""How the command line starts things: the launcher with options filled in, training at once, headless;
CIFAR_TUI_RUNS_DIR; a failed command leaves nothing behind."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from engine.config import RunConfig
from tui import app as app_module
from tui.cli import main as cli
from tui.app import CifarApp
from tui.screens.launcher import LauncherScreen


def _captured(monkeypatch) -> dict:
    """What the command line asks the app for (run_app needs a terminal; the app itself is tested below)."""
    got: dict = {}
    monkeypatch.setattr(app_module, "run_app", lambda **kw: got.update(kw) or 0)
    return got


def test_options_without_train_open_the_launcher_filled_in(monkeypatch, tmp_path) -> None:
    got = _captured(monkeypatch)
    assert cli.main(["--model", "mlp", "--epochs", "3", "--runs-dir", str(tmp_path)]) == 0
    assert got["base"].model == "mlp" and got["base"].epochs == 3 and got["runs_dir"] == str(tmp_path)
    assert "config" not in got  # nothing starts
    assert not list(tmp_path.iterdir())


def test_train_starts_at_once(monkeypatch, tmp_path) -> None:
    got = _captured(monkeypatch)
    assert cli.main(["train", "--model", "mlp", "--runs-dir", str(tmp_path)]) == 0
    assert got["config"].model == "mlp" and "base" not in got


async def test_the_launcher_shows_the_options_given(tmp_path) -> None:
    base = RunConfig(model="mlp", epochs=3, dataset="synthetic", runs_dir=str(tmp_path))
    app = CifarApp(runs_dir=str(tmp_path), base=base)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, LauncherScreen)
        config, _ = screen.build_config(check=False)
        assert config is not None and (config.model, config.epochs, config.dataset) == ("mlp", 3, "synthetic")
        assert Path(screen.runs_dir) == tmp_path


@pytest.mark.slow
def test_runs_dir_from_the_environment(tmp_path) -> None:
    runs = tmp_path / "elsewhere"
    env = {"CIFAR_TUI_RUNS_DIR": str(runs), "PATH": "/usr/bin:/bin"}
    args = ["--no-ui", "--dataset", "synthetic", "--model", "mlp", "--epochs", "1", "--train-limit", "200",
            "--test-limit", "50"]
    subprocess.run([sys.executable, "-m", "tui", *args], cwd=tmp_path, env=env, check=True, capture_output=True)
    (run,) = runs.iterdir()
    listed = subprocess.run([sys.executable, "-m", "tui", "runs"], cwd=tmp_path, env=env, check=True,
                            capture_output=True, text=True).stdout
    assert run.name in listed
    assert not (tmp_path / "saved_runs").exists()


@pytest.mark.slow
@pytest.mark.parametrize("download", ["--download", "--no-download"])
def test_a_failed_command_leaves_nothing_behind(tmp_path, download) -> None:
    """No dataset (and no network): exit 2, one line, and no empty data or runs directory made."""
    data, runs = tmp_path / "d" / "cifar", tmp_path / "r" / "runs"
    out = subprocess.run([sys.executable, "-m", "tui", "--no-ui", "--dataset", "cifar10", "--data-dir", str(data),
                          download, "--runs-dir", str(runs), "--epochs", "1"], cwd=tmp_path, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 2, out.stderr
    assert out.stderr.count("\n") == 1 and str(data.absolute()) in out.stderr and "Traceback" not in out.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_a_runs_dir_that_is_a_file_is_one_line_everywhere(tmp_path, capsys) -> None:
    not_a_dir = tmp_path / "runs.txt"
    not_a_dir.write_text("x")
    for argv in (["runs", "--runs-dir", str(not_a_dir)], ["watch", "--no-ui", "--runs-dir", str(not_a_dir)],
                 ["--no-ui", "--dataset", "synthetic", "--runs-dir", str(not_a_dir)]):
        assert cli.main(argv) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "is not a directory" in err, argv
