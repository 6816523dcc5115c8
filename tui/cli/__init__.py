"""The command line: argparse, the headless reporter, one module per subcommand.

    main.py       main(argv): parse, then open the app, run headless or dispatch a subcommand
    base.py       what every subcommand shares: errors as one line, exit codes, --json
    headless.py   --no-ui: train and report as lines or a progress bar (never imports textual)
    runs.py, analyze.py, pca.py, predict.py, presets.py     the subcommands

Screens and widgets never import this package.
"""
