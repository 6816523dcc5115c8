"""``cifar-tui pca RUN...``: how much of a trained run's feature variance the top components explain.

Study 001 compares AlexNet with and without skip connections by the share of
variance the first principal components of their penultimate features explain
(a lower share: features spread over more directions). This rebuilds each run's
model from its own files, runs part of its test set through it and prints the
explained and cumulative variance per component, side by side for every run.
"""
from __future__ import annotations

from typing import Sequence

from engine.config import UserError
from engine.runs import resolve_run
from engine.runs.files import dumps

from tui.cli.base import EXIT_OK, PROG, Parser, add_runs_dir, runs_dir_of


def build_parser() -> Parser:
    parser = Parser(prog=f"{PROG} pca", description=__doc__.split("\n\n")[1].replace("\n", " "))
    parser.add_argument("runs", nargs="+", metavar="RUN", help="run id, unique part of one, name, path or 'latest'")
    parser.add_argument("-k", "--components", type=int, default=10, metavar="K", help="components to show (default 10)")
    parser.add_argument("--limit", type=int, default=2000, metavar="N",
                        help="test images to use, stratified (default 2000; 0 = all)")
    parser.add_argument("--device", default="cpu", help="auto|cpu|cuda|mps (default cpu)")
    add_runs_dir(parser)
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    return parser


def cmd_pca(argv: Sequence[str]) -> int:
    args = build_parser().parse_args(argv)
    if args.components < 1 or args.limit < 0:
        raise UserError(f"--components must be at least 1 and --limit 0 or more (got {args.components}, {args.limit})")
    from engine.analysis.pca import run_feature_pca

    paths = [resolve_run(runs_dir_of(args), ref) for ref in args.runs]
    results = [run_feature_pca(p, args.components, args.limit or None, args.device) for p in paths]
    if args.json:
        print(dumps([r.to_dict() for r in results], indent=1))  # never a bare NaN for jq
        return EXIT_OK
    for i, r in enumerate(results):
        print(f"{chr(65 + i) if i < 26 else i}: {r.run_id}  {r.dim}-d features entering {r.layer}, "
              f"{r.n_images} test images")
    head = ["PC"] + [f"{chr(65 + i) if i < 26 else i} explained  cumulative" for i in range(len(results))]
    print("  ".join(head))
    for c in range(max(len(r.explained) for r in results)):
        cells = [f"{c + 1:>2}"]
        for r in results:
            if c < len(r.explained):
                cells.append(f"{100 * r.explained[c]:>11.1f}%  {100 * r.cumulative[c]:>9.1f}%")
            else:
                cells.append(" " * 23)
        print("  ".join(cells).rstrip())
    return EXIT_OK
