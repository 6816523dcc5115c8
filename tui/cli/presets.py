"""``cifar-tui presets``: the studies' experiments, one preset each, with their reported accuracy.

The table is for people; ``--json`` is for scripts and the launcher (name,
model, strategy, study, reported_test_acc, parameter counts, full config).
Parameter counts come from engine.models.facts' data (generated from the real
models, checked against them by a test), so listing imports no torch.
"""
from __future__ import annotations

import json
from typing import Sequence

from tui import format as fmt
from tui.cli.base import EXIT_OK, PROG, Parser
from tui.cli.listing import terminal_width
from tui.cli.presets_doc import recipes_markdown


def build_presets_parser() -> Parser:
    parser = Parser(prog=f"{PROG} presets",
                    description="List the presets: every experiment of the studies, with the accuracy each reports. "
                                f"Run one with '{PROG} --no-ui --preset NAME' (flags after it override its fields).")
    parser.add_argument("--json", action="store_true",
                        help="print a JSON list: name, model, strategy, study, reported_test_acc, "
                             "params_total, params_trainable, config")
    parser.add_argument("--markdown", action="store_true",
                        help="print each study's recipes as Markdown (the Recipes section of docs/presets.md)")
    parser.add_argument("--study", metavar="ID", help="only this study's presets (000..004)")
    return parser


MIN_WHAT = 24
"""Characters of the description worth keeping before a narrow terminal drops whole columns instead."""


def _fit(table: list[tuple[str, ...]], width: int) -> list[tuple[str, ...]]:
    """Drop parameter counts, then strategy, while the description would get under MIN_WHAT; cut the rest."""
    def fixed(t: list[tuple[str, ...]]) -> int:
        return sum(max(len(row[i]) for row in t) + 2 for i in range(len(t[0]) - 1))

    for drop in ("trainable/total", "strategy"):
        if width - fixed(table) >= MIN_WHAT:
            break
        i = table[0].index(drop)
        table = [row[:i] + row[i + 1:] for row in table]
    room = max(1, width - fixed(table))
    return [row[:-1] + (fmt.truncate(row[-1], room),) for row in table]


def cmd_presets(argv: Sequence[str]) -> int:
    """List presets as a table, or as JSON with --json."""
    args = build_presets_parser().parse_args(argv)
    from engine.config import UserError
    from engine.presets import PRESETS, STUDIES, describe

    if args.study is not None and args.study not in STUDIES:
        raise UserError(f"unknown study {args.study!r}; choose one of: {', '.join(STUDIES)}")
    if args.markdown:
        print(recipes_markdown(args.study))
        return EXIT_OK
    names = [n for n, p in PRESETS.items() if args.study in (None, p.study)]
    rows = [describe(n) for n in names]
    if args.json:
        print(json.dumps(rows, indent=1))
        return EXIT_OK
    header = ("preset", "model", "strategy", "epochs", "trainable/total", "reported", "what it reproduces")
    table: list[tuple[str, ...]] = [header]
    for r in rows:
        reported = fmt.pct(r["reported_test_acc"])
        what = r["description"] + (f"  [needs {r['needs']}]" if r["needs"] else "")
        table.append((r["name"], r["model"], r["strategy"], str(r["config"]["epochs"]),
                      f"{fmt.params(r['params_trainable'])}/{fmt.params(r['params_total'])}", reported, what))
    width = terminal_width()
    table = _fit(table, width) if width else table
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]) - 1)]
    study = None
    for i, row in enumerate(table):
        if i and rows[i - 1]["study"] != study:
            study = rows[i - 1]["study"]
            title = f"\nstudy {study}: {STUDIES[study]}"
            print(fmt.truncate(title, width + 1) if width else title)
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)) + "  " + row[-1])
    print(f"\nrun one: {PROG} --no-ui --preset NAME --data-dir DIR   (explicit flags override the preset)")
    return EXIT_OK
