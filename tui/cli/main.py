"""Command line: argparse parsers (built by functions tests can call) and commands.

``cifar-tui [OPTIONS]``       opens the app: the launcher, with OPTIONS filled in
``cifar-tui train OPTIONS``   trains at once in the live dashboard
``cifar-tui --no-ui OPTIONS`` trains headless (``train`` optional)
``cifar-tui runs``            lists saved runs (--json for scripts)

Nothing here imports textual unless the app is opened, and torch is imported
only by the commands that train or read models (`models` and `presets` read engine.models.facts' data).
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import signal
import sys
import textwrap
from typing import Any, Callable, Sequence

from engine.config import FIELD_CHOICES, FIELD_GROUPS, RUNS_DIR_ENV, RunConfig, UserError, field_docs
from engine.device.launch import is_main_process, under_torchrun
from engine.runs.status import RunStatus
from engine.training.outlets import NOTIFY_ENV

from tui.cli.base import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    PROG,
    RUNS_DIR_HELP,
    STOP_SIGNALS,
    Parser,
    add_no_notify,
    add_runs_dir,
    exit_code,
    package_version,
    runs_dir_of,
)

# Flags whose name differs from the RunConfig field, or that need special parsing.
_FLAG_NAMES = {"from_run": "--from"}
_SKIP_FIELDS = {"extra"}
_METAVARS = {"data_dir": "DIR", "weights": "FILE", "from_run": "RUN", "runs_dir": "DIR", "name": "NAME",
             "model": "MODEL", "preset": "NAME"}
# Help that differs from the field's docstring (the flag's meaning on the command line).
_HELP = {"runs_dir": RUNS_DIR_HELP,
         "data_dir": "where the dataset lives (default: $CIFAR_TUI_DATA, else ./data; Fashion-MNIST: its Debian "
                     "package's folder when installed); for folder: DIR with train/<class>/* and test/<class>/*, "
                     "or a .tar/.tar.gz of it"}


def _field_type(f: dataclasses.Field) -> Callable[[str], Any]:
    default = f.default
    text = str(f.type)
    if isinstance(default, bool) or "bool" in text:
        return bool
    if isinstance(default, float) or text.startswith("float"):
        return float
    if isinstance(default, int) or text.startswith("int"):
        return int
    return str


def _default_text(default: Any) -> str:
    """' (default: on)': how --help states a default, in the words a user types (nothing when unset)."""
    if default is None or default == "":
        return ""
    if isinstance(default, bool):
        return f" (default: {'on' if default else 'off'})"
    return f" (default: {default})"


def add_train_arguments(parser: argparse.ArgumentParser) -> None:
    """One flag per RunConfig field; defaults are None so presets can fill the gaps."""
    docs = field_docs()
    fields = {f.name: f for f in dataclasses.fields(RunConfig) if f.name not in _SKIP_FIELDS}
    parser.add_argument("--version", action="version", version=f"{PROG} {package_version()}")
    parser.add_argument("--no-ui", action="store_true", help="train headless: progress on the terminal, no app")
    parser.add_argument("--resume", metavar="RUN", default=None,
                        help="continue an interrupted, stale, failed or diverged run in its own directory (id, "
                             "unique prefix, name or path); only --epochs (to extend, also a completed run) and "
                             "--lr (e.g. after a divergence) may change")
    parser.add_argument("--config", metavar="FILE",
                        help="read settings from a TOML or JSON file (RunConfig's names; a run's config.json "
                             "works); flags given as well override it")
    parser.add_argument("--notify", metavar="URL",
                        help="POST a JSON message to this webhook (Slack, Discord, ...) when the run ends, fails, "
                             "diverges or is interrupted (also: $CIFAR_TUI_NOTIFY)")
    add_no_notify(parser)
    parser.add_argument("--force", action="store_true",
                        help="with --resume: continue although the run's own model file (FILE.py:Name) changed "
                             "since it started (recorded in config.json)")
    for title, names in FIELD_GROUPS.items():
        group = parser.add_argument_group(title)
        for name in names:
            f = fields[name]
            flag = _FLAG_NAMES.get(name, "--" + name.replace("_", "-"))
            kind = _field_type(f)
            help_text = (_HELP.get(name) or docs.get(name, "") + _default_text(f.default))
            help_text = help_text.replace("``", "'").replace("%", "%%")
            if kind is bool:
                group.add_argument(flag, dest=name, action=argparse.BooleanOptionalAction, default=None, help=help_text)
            else:
                group.add_argument(flag, dest=name, type=kind, default=None, choices=FIELD_CHOICES.get(name),
                                   metavar=_METAVARS.get(name, name.upper() if name not in FIELD_CHOICES else None),
                                   help=help_text)


def build_train_parser(prog: str = PROG) -> Parser:
    """The parser for `cifar-tui [train] ...`."""
    parser = Parser(
        prog=prog,
        description=textwrap.fill("Train and compare image classifiers from the terminal. Without --no-ui or "
                                  "'train', opens the app's launcher with the options given filled in.", 79),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=(
            "commands:\n"
            "  cifar-tui [OPTIONS]            open the app: the launcher, OPTIONS filled in\n"
            "  cifar-tui train OPTIONS        train at once, in the live dashboard\n"
            "  cifar-tui [train] --no-ui OPTIONS   train headless (scripts, CI, batch jobs)\n"
            "  cifar-tui runs [--json]        list saved runs\n"
            "  cifar-tui models               list the models (--torchvision: every torchvision name)\n"
            "  cifar-tui config RUN           a run's settings as TOML (edit, then --config FILE)\n"
            "  cifar-tui presets [--json]     the studies' experiments (use: --preset NAME)\n"
            "  cifar-tui compare RUN RUN...   runs side by side (--no-ui: a plain table)\n"
            "  cifar-tui export RUN...        per-epoch metrics as one CSV or JSON file\n"
            "  cifar-tui watch [RUN]          follow a run started elsewhere (--no-ui: lines)\n"
            "  cifar-tui pca RUN...           PCA of a run's features (explained variance)\n"
            "  cifar-tui analyze RUN          store test errors, feature PCA, a linear probe\n"
            "  cifar-tui predict RUN IMAGE... classify your own image files with a run\n"
            "  cifar-tui sweep NAME --param FIELD=a,b ...  many runs chosen by Optuna, K at once\n"
            "  cifar-tui sweeps [--json]      every sweep: trials done/running/pruned/failed, best\n"
            "\nexamples:\n"
            "  cifar-tui --no-ui --dataset synthetic --model cnn --epochs 2\n"
            "  cifar-tui --no-ui --dataset fashion-mnist --model cnn --train-limit 10000\n"
            "  cifar-tui --no-ui --dataset cifar10 --data-dir ~/data --model resnet18-cifar\n"
            "  cifar-tui --no-ui --resume RUN [--epochs N]   continue a run where it stopped\n"
            "\nexit codes: 0 done, 1 training failed or diverged, 2 bad input, 130 Ctrl-C\n"
            "(143 SIGTERM, 129 SIGHUP, 131 SIGQUIT): an interrupted run is saved, resumable\n"
            f"\nenvironment: {RUNS_DIR_ENV}: the default runs directory of every command;\n"
            "CIFAR_TUI_DATA the default data directory"
        ),
    )
    add_train_arguments(parser)
    return parser


def build_runs_parser() -> Parser:
    parser = Parser(prog=f"{PROG} runs", description="List saved runs, newest first.")
    add_runs_dir(parser)
    parser.add_argument("--json", action="store_true", help="print a JSON list (config and summary of each run)")
    parser.add_argument("--columns", metavar="FIELDS",
                        help="add settings as columns, comma-separated (e.g. lr,batch-size,weight-decay,seed)")
    trash = parser.add_mutually_exclusive_group()
    trash.add_argument("--trash", action="store_true", help="list the deleted runs (in RUNS_DIR/.trash/)")
    trash.add_argument("--restore", metavar="RUN", help="bring a deleted run back ('last': the newest deletion)")
    trash.add_argument("--empty-trash", action="store_true", help="remove the deleted runs for good")
    return parser


def config_from_args(args: argparse.Namespace, validate: bool = True) -> RunConfig:
    """A RunConfig (validated unless told not to): defaults, then the preset (if any), then explicit flags."""
    given = {f.name: getattr(args, f.name) for f in dataclasses.fields(RunConfig)
             if getattr(args, f.name, None) is not None}
    from_file: dict[str, Any] = {}
    if args.config is not None:
        from engine.config_file import read_config_file

        from_file = read_config_file(args.config)
    preset = given.get("preset") or from_file.get("preset")
    base: dict[str, Any] = {}
    if preset:
        from engine.presets import preset_config

        base = preset_config(preset)
    config = RunConfig.from_dict({**base, **from_file, **given})
    if not validate:
        return config
    from engine.models.registry import check_model  # imports torch: only on the way to training

    check_model(config.validate().model, config.head)
    return config


# ----------------------------------------------------------------------------- commands


def cmd_train(argv: Sequence[str], *, start: bool = True) -> int:
    """Train (start=True: `cifar-tui train`), or open the launcher with the options filled in."""
    args = build_train_parser().parse_args(argv)
    if args.notify:  # the engine reads it where the run ends, in this process or the app's worker
        os.environ[NOTIFY_ENV] = args.notify
    if args.resume is not None:
        config, resume, change = resume_from_args(args)
    else:  # the launcher flags a bad value in place (and refuses to start); training refuses it now
        config, resume, change = config_from_args(args, validate=start or args.no_ui), None, {}
    if args.no_ui:
        return train_headless(config, resume=resume, change=change)
    if under_torchrun():
        raise UserError("the app trains in one process; under torchrun add --no-ui (and follow the run from "
                        "another terminal with: cifar-tui runs)")
    from tui.app import run_app

    notify = not args.no_notify
    if start or resume:
        return run_app(config=config, resume=resume, change=change, notify=notify)
    return run_app(base=config, runs_dir=config.runs_dir, notify=notify)


def resume_from_args(args: argparse.Namespace) -> tuple[RunConfig, str, dict[str, Any]]:
    """The run named by --resume, and the config it continues with (engine.training.resume decides)."""
    from engine.runs import resolve_run
    from engine.training.resume import prepare_resume

    run_dir = resolve_run(runs_dir_of(args), args.resume)
    given = {f.name: getattr(args, f.name) for f in dataclasses.fields(RunConfig) if hasattr(args, f.name)}
    config, change = prepare_resume(run_dir, given, force=args.force)
    return config, str(run_dir), change


def train_headless(config: RunConfig, *, resume: str | None = None, change: dict[str, Any] | None = None) -> int:
    """Run the engine in this thread with a terminal reporter; stop signals end the run cleanly."""
    from engine.control import Control
    from engine.runs.files import abort_now_or_after_write
    from engine.training.loop import train

    from tui.cli.headless import RankErrors, Reporter

    control = Control()
    main = is_main_process()  # under torchrun rank 0 reports; the others only say why they failed
    reporter = Reporter(sys.stdout) if main else RankErrors(sys.stderr)
    got: list[int] = []

    def on_signal(signum: int, frame: Any) -> None:
        got.append(signum)
        if len(got) > 1:
            abort_now_or_after_write()  # a second signal: give up on the clean stop, but never mid-write
            return
        if main:
            reporter.note(f"{signal.Signals(signum).name}: stopping after this step and saving the run "
                          "(resumable; Ctrl-C again to abort)")
        control.stop()

    previous = {s: signal.signal(s, on_signal) for s in STOP_SIGNALS}
    try:
        result = train(config, reporter, control, resume=resume, change=change)
    finally:
        for s, handler in previous.items():
            # Stopping on a signal, the process is about to exit 128 + N: a second Ctrl-C arriving
            # now (the run already saved) must not kill it mid-exit with a KeyboardInterrupt.
            signal.signal(s, signal.SIG_IGN if got else handler)
    reporter.close()
    if got and result.status == RunStatus.INTERRUPTED:
        return 128 + got[0]
    return exit_code(result.status)


def cmd_runs(argv: Sequence[str]) -> int:
    args = build_runs_parser().parse_args(argv)
    from engine.runs import load_run, read_meta, trashed
    from engine.runs.index import RunEntry, RunIndex

    from tui.cli.listing import runs_table, terminal_width
    from tui.columns import config_columns

    runs_dir = runs_dir_of(args)
    if args.restore is not None or args.empty_trash:
        return _trash_action(runs_dir, args.restore)
    extra = config_columns(args.columns)
    if args.trash:
        runs = [RunEntry.of(info, read_meta(info.path)) for info in map(load_run, trashed(runs_dir))]
    else:
        index = RunIndex(runs_dir)
        runs = index.scan()
        index.save(force=True)  # the next listing (this command again, the app's runs screen) reads one file
    if args.json:
        sys.stdout.write(_runs_json(runs))
        return EXIT_OK
    if not runs:
        print(f"the trash of {runs_dir}/ is empty" if args.trash
              else f"no runs in {runs_dir}/ yet; start one with 'cifar-tui --no-ui ...'")
        return EXIT_OK
    print(runs_table(runs, extra, terminal_width()))
    return EXIT_OK


def _runs_json(runs: list[Any]) -> str:
    """`runs --json`: a JSON list, one run (a RunEntry) per line. A run's config and summary are printed as the
    index keeps them, standard JSON text (never a bare NaN: scripts pipe this into jq), not parsed and encoded
    again: thousands of runs print in well under a second."""
    from engine.runs.files import dumps

    lines = [f'{{"run_id": {dumps(e.run_id)}, '
             f'"path": {dumps(str(e.record.path))}, "status": {dumps(e.status)}, "error": {dumps(e.record.error)}, '
             f'"meta": {dumps(_meta_json(e.meta))}, "config": {e.record.config_json}, '
             f'"summary": {e.record.summary_json}}}' for e in runs]
    return "[\n" + ",\n".join(lines) + "\n]\n" if lines else "[]\n"


def _trash_action(runs_dir: str, restore: str | None) -> int:
    from engine.runs import empty_trash, restore_run

    from tui.format import count

    if restore is not None:
        home = restore_run(runs_dir, restore)
        print(f"restored {home.name} into {runs_dir}/")
    else:
        print(f"removed {count(empty_trash(runs_dir), 'deleted run')} for good")
    return EXIT_OK


def _meta_json(meta: Any) -> dict[str, Any]:
    """What a person set on a run (display name, note, tags) for `runs --json`."""
    return {"name": meta.name, "note": meta.note, "tags": list(meta.tags)}


def _lazy(module: str, name: str) -> Callable[[Sequence[str]], int]:
    """A command whose module is imported only when it runs (keeps `cifar-tui --help` instant)."""

    def command(argv: Sequence[str]) -> int:
        import importlib

        return getattr(importlib.import_module(module), name)(argv)

    return command


COMMANDS: dict[str, Callable[[Sequence[str]], int]] = {
    "train": cmd_train,
    "runs": cmd_runs,
    "models": _lazy("tui.cli.models", "cmd_models"),
    "config": _lazy("tui.cli.config", "cmd_config"),
    "presets": _lazy("tui.cli.presets", "cmd_presets"),
    "compare": _lazy("tui.cli.runs", "cmd_compare"),
    "export": _lazy("tui.cli.runs", "cmd_export"),
    "watch": _lazy("tui.cli.runs", "cmd_watch"),
    "pca": _lazy("tui.cli.pca", "cmd_pca"),
    "analyze": _lazy("tui.cli.analyze", "cmd_analyze"),
    "predict": _lazy("tui.cli.predict", "cmd_predict"),
    "sweep": _lazy("tui.cli.sweep", "cmd_sweep"),
    "sweeps": _lazy("tui.cli.sweep", "cmd_sweeps"),
}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: dispatch, and turn bad input into one line and exit 2."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if not argv:
            from tui.app import run_app

            return run_app()
        if argv[0] in COMMANDS:
            return COMMANDS[argv[0]](argv[1:])
        return cmd_train(argv, start=False)
    except UserError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # before OSError, its base: `cifar-tui runs | head` closed the pipe, not an error
        _silence_stdout()
        return EXIT_OK
    except OSError as exc:  # e.g. a full disk while writing an export: one line, never a traceback
        print(f"{PROG}: error: {exc.strerror or exc}{' (' + exc.filename + ')' if exc.filename else ''}",
              file=sys.stderr)
        return EXIT_FAILED


def _silence_stdout() -> None:
    """Point stdout at /dev/null: the interpreter flushes it once more at exit, and a closed pipe would
    make that flush print "Exception ignored ... BrokenPipeError" after we already returned."""
    import os

    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError):  # stdout is no file (a test's StringIO): nothing will flush into a pipe
        pass
