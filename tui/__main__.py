"""`python -m tui` and the `cifar-tui` console script."""
from __future__ import annotations

import sys
from typing import NoReturn

from engine.device.launch import under_torchrun
from tui.cli.main import main


def run() -> NoReturn:
    """The command line, as a process: a torchrun worker ends without the interpreter's shutdown
    (engine.device.distributed.exit_worker says why), every other process as usual."""
    code = main()
    if under_torchrun() and "torch" in sys.modules:
        from engine.device.distributed import exit_worker

        exit_worker(code)
    sys.exit(code)


if __name__ == "__main__":
    run()
