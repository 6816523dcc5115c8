"""The real `cifar-tui` command line in a child process, from the repository root."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def cli(*args: object, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run ``python -m tui ARGS``; stdout and stderr captured as text."""
    return subprocess.run([sys.executable, "-m", "tui", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT)
