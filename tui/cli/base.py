"""What every command shares: the program name, the one-line-error parser, exit codes, stop signals
and the --runs-dir flag.

The command modules (cli, cmd_*) import this; screens and widgets never import any command module.
"""
from __future__ import annotations

import argparse
import signal
from pathlib import Path
from typing import NoReturn

from engine.config import RUNS_DIR_ENV, UserError, default_runs_dir
from engine.runs.status import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, exit_code

__all__ = ["PROG", "Parser", "STOP_SIGNALS", "add_runs_dir", "runs_dir_of", "EXIT_OK", "EXIT_FAILED", "EXIT_USAGE",
           "EXIT_INTERRUPTED", "exit_code"]

PROG = "cifar-tui"
# Signals that stop a run cleanly (saved as interrupted, resumable); the exit code is 128 + the number.
STOP_SIGNALS = tuple(getattr(signal, n) for n in ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT") if hasattr(signal, n))
RUNS_DIR_HELP = f"runs directory (default: ${RUNS_DIR_ENV}, else saved_runs)"


class Parser(argparse.ArgumentParser):
    """argparse that reports bad input as one line (no usage dump) and exits 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def add_runs_dir(parser: argparse.ArgumentParser) -> None:
    """--runs-dir, defaulting to None so the environment is read when the command runs."""
    parser.add_argument("--runs-dir", default=None, metavar="DIR", help=RUNS_DIR_HELP)


def add_no_notify(parser: argparse.ArgumentParser) -> None:
    """--no-notify, for every command that opens the app on a run that may end while it is open."""
    parser.add_argument("--no-notify", action="store_true",
                        help="the app: no bell and no desktop notification (OSC 9 / OSC 777) when the run ends")


def runs_dir_of(args: argparse.Namespace) -> str:
    """The runs directory a command works on: --runs-dir, else $CIFAR_TUI_RUNS_DIR, else saved_runs."""
    return check_runs_dir_path(getattr(args, "runs_dir", None) or default_runs_dir())


def check_runs_dir_path(runs_dir: str) -> str:
    """runs_dir, unless it names something that is not a directory (UserError, one line).

    A missing directory is fine (no runs yet; training makes it); a file is a typo to report.
    """
    if Path(runs_dir).exists() and not Path(runs_dir).is_dir():
        raise UserError(f"runs directory {runs_dir} is not a directory; pass --runs-dir DIR "
                        f"(or set {RUNS_DIR_ENV})")
    return runs_dir


def add_checkpoint_device(parser: argparse.ArgumentParser) -> None:
    """--checkpoint and --device for commands that run a saved run's model (predict, analyze)."""
    parser.add_argument("--checkpoint", choices=("best", "last"), default="best",
                        help="best (default: the best-validation epoch, else the newest) or last (the newest)")
    parser.add_argument("--device", default="cpu", help="auto|cpu|cuda|mps (default cpu)")


def package_version() -> str:
    """The installed cifar-tui's version (pyproject.toml's), for --version."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("cifar-tui")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown (not installed)"
