"""A listing piped into a reader that has gone (`cifar-tui runs | head -1`) ends quietly with exit 0.

The pipe's read end is closed before the command starts, so its first write fails for certain: no
timing luck, whatever the output's size.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import ROOT



def into_closed_pipe(*args: object) -> subprocess.CompletedProcess:
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        return subprocess.run([sys.executable, "-m", "tui", *map(str, args)], stdout=write_end,
                              stderr=subprocess.PIPE, text=True, timeout=120, cwd=ROOT)
    finally:
        os.close(write_end)


@pytest.mark.parametrize("args", [["runs"], ["runs", "--json"], ["export", "--format", "csv"], ["presets"],
                                  ["presets", "--json"], ["models"]], ids=" ".join)
def test_a_listing_into_a_closed_pipe_exits_0_silently(args: list[str], runs: Path) -> None:
    if args[0] in ("runs", "export"):
        args = [*args, "--runs-dir", runs]
    if args[0] == "export":
        args = [*args, *sorted(p.name for p in runs.iterdir() if p.is_dir())[:2]]
    out = into_closed_pipe(*args)
    assert (out.returncode, out.stderr) == (0, "")
