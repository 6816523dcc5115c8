"""`cifar-tui config RUN`: a run's settings as TOML, to edit and train again with --config FILE."""
from __future__ import annotations

import sys
from typing import Sequence

from tui.cli.base import EXIT_OK, PROG, Parser, add_runs_dir, runs_dir_of


def cmd_config(argv: Sequence[str]) -> int:
    parser = Parser(prog=f"{PROG} config", description="Print a run's settings as TOML: edit them and train "
                                                       f"again with '{PROG} --no-ui --config FILE'.")
    parser.add_argument("run", metavar="RUN", help="run id, unique part of one, display name, path or 'latest'")
    add_runs_dir(parser)
    args = parser.parse_args(argv)
    from engine.config import UserError
    from engine.config_file import config_toml
    from engine.runs import load_run, resolve_run

    info = load_run(resolve_run(runs_dir_of(args), args.run))
    if info.error:
        raise UserError(f"run {info.run_id} is unreadable ({info.error})")
    sys.stdout.write(f"# the settings of run {info.run_id}\n" + config_toml(info.config))
    return EXIT_OK
