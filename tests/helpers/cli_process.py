"""The real `cifar-tui` command line in a child process, from the repository root."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from tests.helpers import ROOT


def cli(*args: object, timeout: float = 300, env: Mapping[str, str] | None = None, cwd: Path | str = ROOT,
        umask: int = -1, input: str | None = None, python_flags: Sequence[str] = (),
        **run_kw: Any) -> subprocess.CompletedProcess:
    """Run ``python [python_flags] -m tui ARGS`` and wait; stdout and stderr captured as text.

    Every arg is str()-ed (paths may be given as they are). ``env`` holds variables set on top of this
    process's environment (PYTHONUNBUFFERED=1 always, so a child's prints arrive in order). ``umask``
    is the child's (-1: this process's); ``input`` is sent to its stdin. ``python_flags``: e.g.
    ``("-X", "importtime")``. Anything else (``stdin``, ``check``, ``preexec_fn``) goes to subprocess.run.
    """
    return subprocess.run([sys.executable, *python_flags, "-m", "tui", *map(str, args)], capture_output=True,
                          text=True, timeout=timeout, cwd=cwd, umask=umask, input=input,
                          env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}, **run_kw)


def one_line_error(out: subprocess.CompletedProcess, *fragments: str) -> str:
    """Bad input's contract: exit 2 and one line on stderr, 'cifar-tui[ COMMAND]: error: ...' holding every
    fragment (no warning above it, no traceback). Returns the line."""
    assert out.returncode == 2, out.stdout + out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and re.match(r"cifar-tui( [a-z]+)?: error: ", lines[0]), out.stderr
    for f in fragments:
        assert f in lines[0], lines[0]
    return lines[0]


def start_long_run(runs: Path, *extra: object) -> subprocess.Popen:
    """A real `--no-ui` run long enough to be followed, paused and stopped from outside (output piped)."""
    return subprocess.Popen(
        [sys.executable, "-m", "tui", "--no-ui", "--dataset", "synthetic", "--model", "cnn", "--epochs", "50",
         "--train-limit", "2000", "--test-limit", "200", "--batch-size", "32", "--runs-dir", str(runs),
         *map(str, extra)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"})


def only_run(runs: Path) -> Path:
    """The one run folder under ``runs`` (a path that does not exist while there is none, or several)."""
    dirs = [p for p in runs.iterdir() if p.is_dir() and not p.name.startswith(".")] if runs.is_dir() else []
    return dirs[0] if len(dirs) == 1 else Path("/nonexistent")
