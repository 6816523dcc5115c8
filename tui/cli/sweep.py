"""``cifar-tui sweep NAME ...``: many runs of one experiment, chosen by Optuna, K at a time; and
``cifar-tui sweeps``: every sweep with its trials and best.

The driver (engine.sweeps.driver) runs each trial as ``python -m tui --no-ui`` in its own process, so a
trial is an ordinary run; this module builds that command. On a terminal the driver runs inside the
app, on the sweep screen (tui.screens.sweep), which stops it on q or a stop signal; with --no-ui (or
output piped, as ``compare`` does) this module passes stop signals to the driver and prints its lines,
the table and the best trial.
"""
from __future__ import annotations

import argparse
import dataclasses
import signal
import sys
import textwrap
from typing import Any, Sequence

from engine.config import RunConfig, UserError

from tui.cli.base import EXIT_OK, PROG, STOP_SIGNALS, Parser, add_runs_dir, runs_dir_of
from tui.cli.main import add_train_arguments

EXAMPLES = """examples:
  cifar-tui sweep lr-bs --dataset synthetic --epochs 3 --param lr=0.01,0.05,0.1 --param batch-size=64,128 --parallel 2
  cifar-tui sweep tpe1 --preset fast --param lr=log:1e-3:1 --param weight-decay=log:1e-5:1e-2 --trials 40 --gpus 0,1,2,3
  cifar-tui sweep lr-bs                     # the same sweep again: continues where it stopped
  cifar-tui sweep big --storage postgresql://user@db-host/sweeps ...   # the same command on every machine
  cifar-tui sweeps                          # every sweep: trials done, running, pruned, failed; the best

--param FIELD=SPEC, any setting below (dashes or underscores):
  a,b,c          a list (grid: the product of the lists)
  int:LO:HI      whole numbers        float:LO:HI   numbers        log:LO:HI   numbers on a log scale

The objective is the best validation accuracy (the test set never chooses). Each trial is a run named
NAME-tN and tagged sweep:NAME; --runs-dir/sweeps/NAME/ keeps the study (an Optuna journal), each trial's
settings and output. On a terminal the app's sweep screen shows the trials live (q stops the sweep;
--no-ui: lines instead). exit: 0 done, 1 no trial completed, 2 bad input, 128+N stopped by signal N (q: 130;
every trial saved, resumable: the same command continues)."""


def build_sweep_parser() -> Parser:
    parser = Parser(prog=f"{PROG} sweep", formatter_class=argparse.RawDescriptionHelpFormatter, epilog=EXAMPLES,
                    description=textwrap.fill("Train many runs of one experiment with different settings, "
                                              "chosen by Optuna, several at once; run it again to continue.", 79))
    parser.add_argument("sweep_name", metavar="NAME", help="the sweep's name (letters, digits, '-', '_', '.')")
    group = parser.add_argument_group("sweep")
    group.add_argument("--param", action="append", default=[], metavar="FIELD=SPEC",
                       help="a setting to sweep: a,b,c or int:LO:HI, float:LO:HI, log:LO:HI (repeat for more)")
    group.add_argument("--sampler", choices=("grid", "random", "tpe"),
                       help="grid: every combination of the lists (default when every param is a list); random; "
                            "tpe: Optuna's TPE (default with a range)")
    group.add_argument("--trials", type=int, metavar="N", help="how many trials (random, tpe; a grid has its size)")
    group.add_argument("--parallel", type=int, metavar="K",
                       help="trials at once, each in its own process (default: one per --gpus, else 1); "
                            "on the CPU each gets cores // K threads")
    group.add_argument("--gpus", metavar="IDS", help="GPUs to share out, one per trial: 0,1,2,3 (CUDA_VISIBLE_DEVICES)")
    group.add_argument("--prune", choices=("median", "none"),
                       help="median (default): stop a trial whose validation accuracy after an epoch is below "
                            "the median of the completed trials there; none")
    group.add_argument("--storage", metavar="URL",
                       help="an Optuna database URL (postgresql://user@host/db): workers on several machines "
                            "join the sweep with the same command (default: a journal file under the runs dir)")
    add_train_arguments(parser)
    for action in parser._actions:  # a run's own flags that a sweep refuses: not offered in its --help
        if action.dest in ("resume", "force", "name"):
            action.help = argparse.SUPPRESS
        elif action.dest == "no_ui":
            action.help = "print a line per trial and the table at the end, instead of the app's sweep screen"
    return parser


def cmd_sweep(argv: Sequence[str]) -> int:
    from engine.sweeps.driver import Driver, exit_code
    from engine.sweeps.storage import open_sweep, set_trials
    from engine.sweeps.table import sweep_table
    from engine.sweeps.trial import SweepContext

    from tui.cli.sweep_text import event_line, summary_text

    args = build_sweep_parser().parse_args(argv)
    runs_dir = runs_dir_of(args)
    options = _options(args)
    defn = _definition(args, runs_dir)
    opened = open_sweep(runs_dir, args.sweep_name, args.storage, defn)
    if defn is None and args.trials is not None:
        set_trials(opened, args.trials)
    ctx = SweepContext(opened.study, opened.defn, runs_dir, opened.folder, trial_command, opened.where)
    if not args.no_ui and sys.stdout.isatty():  # piped output always gets the lines
        return _in_app(ctx, options, opened.url, notify=not args.no_notify)
    driver = Driver(ctx, options, lambda event: print(event_line(event), flush=True))
    with StopSignals(driver):
        result = driver.run()
    table = sweep_table(opened.study, opened.defn, runs_dir)
    print(summary_text(table), flush=True)
    return exit_code(result, table)


def _in_app(ctx: Any, options: Any, url: str | None, notify: bool) -> int:
    """The sweep screen, running the sweep: the app exits as --no-ui would (128 + N after a stop, q: 130)."""
    from tui.app import run_app
    from tui.screens.sweep import SweepScreen

    screen = SweepScreen.running(ctx, options, url)
    try:
        return run_app(runs_dir=ctx.runs_dir, notify=notify, start_screen=screen)
    finally:
        if screen.driver_running():  # the app ended another way than q (it failed): the trials save first
            print(f"{PROG} sweep: the app ended with the sweep running; stopping its trials (each saves its run)",
                  file=sys.stderr, flush=True)
            screen.stop_driver(signal.SIGTERM)
            screen.driver_ended.wait()


def trial_command(launch: Any) -> list[str]:
    """One trial: an ordinary headless run of this same program (this Python, this code: PYTHONPATH is inherited)."""
    argv = [sys.executable, "-m", "tui", "--no-ui", "--runs-dir", launch.runs_dir]
    if launch.resume is not None:
        return argv + ["--resume", str(launch.resume)]
    return argv + ["--config", str(launch.config_file), "--name", launch.name]


def _options(args: argparse.Namespace) -> Any:
    from engine.sweeps.driver import Options

    gpus = [g.strip() for g in args.gpus.split(",")] if args.gpus else []
    if any(not g or " " in g for g in gpus):
        raise UserError(f"--gpus {args.gpus!r}: give GPU ids separated by commas, e.g. 0,1,2,3")
    parallel = args.parallel if args.parallel is not None else max(1, len(gpus))
    if parallel < 1:
        raise UserError(f"--parallel must be at least 1, got {parallel}")
    return Options(parallel=parallel, gpus=gpus)


def _definition(args: argparse.Namespace, runs_dir: str) -> Any:
    """The sweep this command describes, checked against RunConfig; None when it only names one to continue."""
    from engine.sweeps.definition import SweepDefinition, check_definition, check_name, check_shape
    from engine.sweeps.space import parse_params

    check_name(args.sweep_name)
    if args.resume is not None or args.force:
        raise UserError("a sweep continues by itself: run the same command again (without --resume); "
                        "one trial's run resumes like any run: cifar-tui --no-ui --resume RUN")
    settings = _settings(args)
    if not args.param and not settings and args.sampler is None and args.prune is None:
        return None
    params = parse_params(args.param)
    sampler = args.sampler or ("grid" if params and all(p.is_list for p in params) else "tpe")
    defn = check_shape(SweepDefinition(args.sweep_name, settings, params, sampler, prune=args.prune or "median"),
                       args.trials)
    check_definition(defn, runs_dir)
    return defn


def _settings(args: argparse.Namespace) -> dict[str, Any]:
    """The RunConfig fields this command sets (--config FILE under the flags), not where runs go."""
    if args.name is not None:
        raise UserError("--name: a sweep names its trials NAME-tN (NAME is the sweep's)")
    given = {f.name: getattr(args, f.name) for f in dataclasses.fields(RunConfig)
             if f.name != "runs_dir" and getattr(args, f.name, None) is not None}
    from_file: dict[str, Any] = {}
    if args.config is not None:
        from engine.config_file import read_config_file

        from_file = {k: v for k, v in read_config_file(args.config).items() if k not in ("runs_dir", "name")}
    return {**from_file, **given}


class StopSignals:
    """Stop signals go to the driver, which passes each on to every trial once; the exit is 128 + N."""

    def __init__(self, driver: Any):
        self.driver = driver
        self.previous: dict[int, Any] = {}
        self.got: list[int] = []

    def __enter__(self) -> None:
        self.previous = {s: signal.signal(s, self._on_signal) for s in STOP_SIGNALS}

    def _on_signal(self, signum: int, frame: Any) -> None:
        self.got.append(signum)
        what = "stopping every trial (each saves its run, resumable)" if len(self.got) == 1 else \
            "passing it on: the trials give up their clean stop (never mid-write)"
        print(f"{signal.Signals(signum).name}: {what}", flush=True)
        self.driver.request_stop(signum)

    def __exit__(self, *exc: Any) -> None:
        for s, handler in self.previous.items():
            # After a stop the process is about to exit 128 + N: a late signal must not interrupt that.
            signal.signal(s, signal.SIG_IGN if self.got else handler)


def build_sweeps_parser() -> Parser:
    parser = Parser(prog=f"{PROG} sweeps",
                    description="List the sweeps: trials done, running, pruned and failed, and the best of each.")
    add_runs_dir(parser)
    parser.add_argument("--json", action="store_true", help="a JSON list: counts, the best trial and every trial")
    parser.add_argument("--storage", metavar="URL", help="list every sweep in this database instead")
    return parser


def cmd_sweeps(argv: Sequence[str]) -> int:
    from engine.runs.files import dumps
    from engine.sweeps.listing import list_sweeps

    from tui.cli.sweep_text import listing_json, sweeps_text

    args = build_sweeps_parser().parse_args(argv)
    runs_dir = runs_dir_of(args)
    listings = list_sweeps(runs_dir, args.storage, importance=args.json)
    if args.json:
        print(dumps([listing_json(s) for s in listings], indent=1))
    elif not listings:
        print(f"no sweeps in {runs_dir}/sweeps/ yet; start one with '{PROG} sweep NAME --param FIELD=a,b'")
    else:
        print(sweeps_text(listings))
    return EXIT_OK
