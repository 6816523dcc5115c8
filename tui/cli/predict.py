"""``cifar-tui predict RUN IMAGE...``: classify your own image files with a trained run's model.

Each image is centre-cropped to a square, resized to the run's dataset size
(e.g. 32x32) and converted to its channels, then goes through the run's own
evaluation transform and its best checkpoint (else its newest). Prints the
top classes of each image with their probabilities; a file that cannot be
read is one line on stderr and the others are still classified.
"""
from __future__ import annotations

import sys
from typing import Sequence

from engine.config import UserError
from engine.runs import resolve_run
from engine.runs.files import dumps

from tui import format as fmt
from tui.cli.base import EXIT_FAILED, EXIT_OK, PROG, Parser, add_checkpoint_device, add_runs_dir, runs_dir_of


def build_parser() -> Parser:
    parser = Parser(prog=f"{PROG} predict", description="Classify your own image files with a trained run's model. " + " ".join(__doc__.split("\n\n")[1].split()),
                    epilog="exit codes: 0 at least one image classified, 1 no image could be read, "
                           "2 bad input (unknown run, no checkpoint, bad option)")
    parser.add_argument("run", metavar="RUN", help="run id, unique part of one, name, path or 'latest'")
    parser.add_argument("images", nargs="+", metavar="IMAGE",
                        help="PNG, JPEG, BMP or WebP files of any size (grey, palette and transparent ones too), "
                             "or folders: their image files, sorted by name (sub-folders are not searched)")
    parser.add_argument("--top", type=int, default=5, metavar="K", help="classes to show per image (default 5)")
    add_checkpoint_device(parser)
    add_runs_dir(parser)
    parser.add_argument("--json", action="store_true",
                        help="machine-readable output: run, checkpoint and per image its top classes "
                             "(probabilities as fractions) or its error")
    return parser


def cmd_predict(argv: Sequence[str]) -> int:
    args = build_parser().parse_args(argv)
    if args.top < 1:
        raise UserError(f"--top must be at least 1 (got {args.top})")
    from engine.analysis.analyze import load_run_model, predict_images

    run_dir = resolve_run(runs_dir_of(args), args.run)
    loaded = load_run_model(run_dir, args.device, args.checkpoint)
    results = predict_images(run_dir, args.images, top=args.top, loaded=loaded)
    for r in results:
        if r.error:
            print(f"{PROG}: {r.error}", file=sys.stderr)
    if args.json:
        print(dumps({"run_id": loaded.run_id, "checkpoint": loaded.checkpoint, "epoch": loaded.epoch,
                     "images": [{"path": r.path, "error": r.error,
                                 "top": [{"class": c, "prob": p} for c, p in r.top]} for r in results]}, indent=1))
    else:
        good = [r for r in results if not r.error]
        if good:
            print(f"run {loaded.run_id}, {loaded.where}")
        width = max((len(c) for r in good for c, _ in r.top), default=0)
        for r in good:
            print(r.path)
            for c, p in r.top:
                print(f"  {c:<{width}}  {fmt.pct(p):>7}")
    return EXIT_OK if any(not r.error for r in results) else EXIT_FAILED
