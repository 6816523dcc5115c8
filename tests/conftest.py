"""Shared fixtures: tiny datasets in the real CIFAR file format, run directories."""
from __future__ import annotations

import asyncio
import inspect
import os
import signal
from pathlib import Path

import pytest

from tui.cli.base import STOP_SIGNALS
from tests.helpers.cifar_files import write_cifar10, write_cifar100
from tests.helpers.runs_fixture import build_runs, copy_runs
from tests.helpers.sweep_fixture import built_sweep

FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")

# Two CPU cores on CI: torch's own thread pool is enough; keep BLAS from oversubscribing.
os.environ.setdefault("OMP_NUM_THREADS", "2")


@pytest.fixture(autouse=True)
def app_settings(tmp_path_factory, monkeypatch) -> Path:
    """The app's remembered settings (tui.settings) in a folder of the test's own: never the user's
    ~/.config, and no test sees what another chose (processes the test starts inherit it)."""
    folder = tmp_path_factory.mktemp("settings")
    monkeypatch.setenv("CIFAR_TUI_CONFIG", str(folder))
    return folder


@pytest.fixture(autouse=True)
def stop_signal_handlers():
    """Each test starts with the worker's signal handlers as they were: a command run in-process that stopped
    on a signal leaves SIGINT ignored on purpose (tui/cli/main.py, about to exit), and every process a later
    test starts would inherit that and ignore a Ctrl-C."""
    kept = {s: signal.getsignal(s) for s in STOP_SIGNALS}
    yield
    for s, handler in kept.items():
        if signal.getsignal(s) is not handler and handler is not None:
            signal.signal(s, handler)


@pytest.fixture(scope="session")
def cifar10_dir(tmp_path_factory) -> Path:
    """A data dir holding cifar-10-batches-py/ (250 train, 100 test images)."""
    root = tmp_path_factory.mktemp("cifar10")
    write_cifar10(root)
    return root


@pytest.fixture(scope="session")
def cifar100_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("cifar100")
    write_cifar100(root)
    return root


@pytest.fixture
def runs_dir(tmp_path) -> Path:
    return tmp_path / "runs"


@pytest.fixture
def needs_fashion():
    if not (FASHION_DIR / "train-images-idx3-ubyte.gz").exists():
        pytest.skip("Debian package dataset-fashion-mnist is not installed")
    return FASHION_DIR


@pytest.fixture(scope="session")
def built_runs(tmp_path_factory) -> Path:
    """Six real tiny runs (seed group, lower lr, cnn, no val split), trained once per session."""
    return build_runs(tmp_path_factory.mktemp("built"))


@pytest.fixture
def runs(built_runs: Path, tmp_path: Path) -> Path:
    """A private copy of built_runs: a test may rename, annotate or delete."""
    return copy_runs(built_runs, tmp_path / "runs")


@pytest.fixture(scope="session")
def built_pair_sweep(tmp_path_factory) -> Path:
    """A real sweep of two trials run by the real driver (tests/helpers/sweep_fixture.py), once per session."""
    return built_sweep(tmp_path_factory.mktemp("pair-sweep"), "pair")


@pytest.fixture(scope="session")
def built_grid_sweep(tmp_path_factory) -> Path:
    """A real sweep of six trials over two params (~45 s: slow tests only), once per session."""
    return built_sweep(tmp_path_factory.mktemp("grid-sweep"), "grid")


@pytest.fixture
def pair_sweep(built_pair_sweep: Path, tmp_path: Path) -> Path:
    """A private copy of built_pair_sweep's runs directory (its sweeps/ folder and the trials' runs)."""
    return copy_runs(built_pair_sweep, tmp_path / "runs")


@pytest.fixture
def grid_sweep(built_grid_sweep: Path, tmp_path: Path) -> Path:
    """A private copy of built_grid_sweep's runs directory."""
    return copy_runs(built_grid_sweep, tmp_path / "runs")


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem):
    """Run ``async def`` tests (Pilot) with asyncio.run: no async plugin needed, fixtures still resolve."""
    if not inspect.iscoroutinefunction(pyfuncitem.obj):
        return None
    names = pyfuncitem._fixtureinfo.argnames
    asyncio.run(pyfuncitem.obj(**{n: pyfuncitem.funcargs[n] for n in names}))
    return True
