"""``cifar-tui analyze RUN``: compute a trained run's analyses and store them under RUN/analysis/.

--errors predicts the run's test split with its best checkpoint (else its
newest) and stores the top-5 predictions (analysis/predictions.npz): test
accuracy, mistakes and the most confused pairs. --pca stores the first two
principal components of its penultimate features on up to --limit test images
and the variance each component explains (analysis/pca.npz). --probe trains a
linear probe of its frozen features (a new run beside it, study 001's recipe)
and compares its accuracy with the run's (analysis/probe.json). With none of
them: --errors and --pca. Works on a running run too (its newest checkpoint);
it never writes outside RUN/analysis/ and the probe's own run.
"""
from __future__ import annotations

import sys
from typing import Any, Sequence

from engine.config import UserError
from engine.runs import resolve_run
from engine.runs.files import dumps

from tui import format as fmt
from tui.cli.base import EXIT_OK, PROG, Parser, add_checkpoint_device, add_runs_dir, runs_dir_of


def build_parser() -> Parser:
    parser = Parser(prog=f"{PROG} analyze", description="Compute a trained run's analyses and store them under RUN/analysis/. " + " ".join(__doc__.split("\n\n")[1].split()))
    parser.add_argument("run", metavar="RUN", help="run id, unique part of one, name, path or 'latest'")
    parser.add_argument("--errors", action="store_true",
                        help="test predictions: accuracy, mistakes, most confused pairs (analysis/predictions.npz)")
    parser.add_argument("--pca", action="store_true",
                        help="PCA of the penultimate features: explained variance, 2-D map (analysis/pca.npz)")
    parser.add_argument("--probe", action="store_true",
                        help="train a linear probe of the frozen features and compare accuracies "
                             "(a new run in the same runs directory; analysis/probe.json)")
    parser.add_argument("--limit", type=int, default=2000, metavar="N",
                        help="--pca: test images to use, stratified (default 2000; 0 = all)")
    parser.add_argument("--probe-epochs", type=int, default=5, metavar="N",
                        help="--probe: epochs of the probe's training (default 5, as study 001)")
    add_checkpoint_device(parser)
    add_runs_dir(parser)
    parser.add_argument("--no-ui", action="store_true",
                        help="compute, store and print the results, then exit; without it, in a terminal, the "
                             "run's page then opens in the app with them ready (f feature space, e mistakes, "
                             "enter on a confusion cell)")
    parser.add_argument("--json", action="store_true",
                        help="print analysis/summary.json (what was computed, from which checkpoint, when)")
    return parser


def cmd_analyze(argv: Sequence[str]) -> int:
    args = build_parser().parse_args(argv)
    if args.limit < 0 or args.probe_epochs < 1:
        raise UserError(f"--limit must be 0 or more and --probe-epochs at least 1 "
                        f"(got {args.limit}, {args.probe_epochs})")
    from engine.analysis.analyze import analyze

    run_dir = resolve_run(runs_dir_of(args), args.run)
    on_event = None
    if args.probe:
        from tui.cli.headless import Reporter

        on_event = Reporter(sys.stderr)  # the probe's training, as a --no-ui run shows it, off stdout

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    summary = analyze(run_dir, errors=args.errors, pca=args.pca, probe=args.probe, device=args.device, log=log,
                      checkpoint=args.checkpoint, limit=args.limit or None, probe_epochs=args.probe_epochs,
                      on_event=on_event)
    if args.json:
        print(dumps(summary, indent=1))
        return EXIT_OK
    asked = {"errors": args.errors, "pca": args.pca, "probe": args.probe}
    if not any(asked.values()):
        asked["errors"] = asked["pca"] = True
    print("\n".join(report_lines(summary, asked, str(run_dir))))
    if not args.no_ui and sys.stdin.isatty() and sys.stdout.isatty():
        from tui.app import run_app

        return run_app(runs_dir=runs_dir_of(args), watch=str(run_dir))
    return EXIT_OK


def _where(part: dict[str, Any]) -> str:
    step = part.get("step")
    mid = f", step {step} of epoch {part.get('epoch', 0) + 1}" if step else ""
    return f"{part.get('checkpoint', '?')} (epoch {part.get('epoch', '?')}{mid})"


def report_lines(summary: dict[str, Any], asked: dict[str, bool], run_dir: str) -> list[str]:
    """What analyze computed now, as plain lines."""
    out = [f"run {summary.get('run_id')}"]
    e = summary.get("errors") if asked.get("errors") else None
    if e:
        out.append(f"errors: {_where(e)} on {e['n_test']} test images: test acc {fmt.pct(e['test_acc'])}, "
                   f"{fmt.count(e['mistakes'], 'mistake')}")
        pairs = e["confused_pairs"][:5]
        if pairs:
            out.append("  most confused (true → predicted):")
            left = max(len(p["true"]) for p in pairs)
            right = max(len(p["pred"]) for p in pairs)
            out += [f"    {p['true']:<{left}} → {p['pred']:<{right}}  {p['count']}" for p in pairs]
        out.append(f"  stored {run_dir}/{e['file']}")
    p = summary.get("pca") if asked.get("pca") else None
    if p:
        ex = p["explained"] + [None, None]
        both = sum(x for x in ex[:2] if x is not None)
        out.append(f"pca: {_where(p)} on {p['n_images']} test images, {p['dim']}-d features entering {p['layer']}: "
                   f"PC1 {fmt.class_pct(ex[0])}, PC2 {fmt.class_pct(ex[1])} of the variance "
                   f"(together {fmt.class_pct(both)})")
        out.append(f"  stored {run_dir}/{p['file']}")
    b = summary.get("probe") if asked.get("probe") else None
    if b:
        out.append(f"probe: run {b.get('probe_run_id')} ({fmt.count(b.get('epochs') or 0, 'epoch')}): "
                   f"test acc {fmt.pct(b.get('test_acc'))} vs the run's {fmt.pct(b.get('run_test_acc'))}")
        out.append(f"  stored {run_dir}/{b['file']}")
    return out
