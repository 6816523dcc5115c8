"""engine never imports textual or rich; the headless path runs without textual."""
from __future__ import annotations

import subprocess
import sys

CODE = """
import sys
import engine, engine.train, engine.runs, engine.data, engine.models, engine.strategies, engine.augment
import engine.metrics, engine.events, engine.control, engine.pipeline, engine.optim
bad = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'rich', 'tui'))
print(','.join(bad))
"""


def test_engine_imports_no_ui_package():
    out = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_headless_cli_does_not_import_textual():
    code = (
        "import sys; from tui import cli, headless; "
        "print(','.join(m for m in sys.modules if m.startswith('textual')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_help_does_not_import_torch():
    code = (
        "import sys, contextlib, io\n"
        "from tui.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    try: main(['--help'])\n"
        "    except SystemExit: pass\n"
        "print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
