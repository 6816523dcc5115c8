"""The layers, checked on every module there is (found by walking the packages, not listed by hand).

- engine never imports textual, rich or tui, not even inside a function;
- screens and widgets never import a command-line module (cli, cli_base, cmd_*);
- tui.format is plain Python (every layer may use it);
- tui has no import cycle among its module-level imports;
- the headless path runs without textual, and --help without torch.
"""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CLI_MODULES = ("tui.cli", "tui.cli_base", "tui.cmd_")


def _modules(package: str) -> dict[str, Path]:
    """Dotted module name -> file, for every .py file under the package."""
    out = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _imports(module: str, path: Path, *, top_level_only: bool = False) -> set[str]:
    """Absolute names of everything the module imports (relative imports resolved)."""
    tree = ast.parse(path.read_text())
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    found: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


ENGINE = _modules("engine")
TUI = _modules("tui")


def test_the_walk_finds_the_packages() -> None:
    assert {"engine.train", "engine.runs.writer", "tui.app", "tui.format", "tui.screens.dashboard"} <= set(ENGINE) | set(TUI)


@pytest.mark.parametrize("module", sorted(ENGINE))
def test_engine_module_imports_no_ui(module: str) -> None:
    bad = {n for n in _imports(module, ENGINE[module]) if n.split(".")[0] in ("textual", "rich", "tui")}
    assert not bad, f"{module} imports {sorted(bad)}"


@pytest.mark.parametrize("module", sorted(m for m in TUI if m.startswith(("tui.screens", "tui.widgets"))))
def test_screens_and_widgets_never_import_cli_modules(module: str) -> None:
    bad = {n for n in _imports(module, TUI[module]) if n.startswith(CLI_MODULES)}
    assert not bad, f"{module} imports {sorted(bad)}"


def test_format_is_plain_python() -> None:
    names = _imports("tui.format", TUI["tui.format"])
    assert not {n for n in names if n.split(".")[0] in ("textual", "rich", "torch", "numpy", "engine")}


def test_tui_has_no_import_cycle() -> None:
    graph = {m: {n for n in _imports(m, p, top_level_only=True) if n in TUI and n != m} for m, p in TUI.items()}
    done: set[str] = set()

    def visit(node: str, path: list[str]) -> None:
        if node in path:
            raise AssertionError("import cycle: " + " -> ".join(path[path.index(node):] + [node]))
        if node in done:
            return
        for nxt in graph[node]:
            if nxt.startswith("tui.") and not nxt.endswith("__init__"):
                visit(nxt, path + [node])
        done.add(node)

    for module in graph:
        visit(module, [])


def test_engine_imports_no_ui_package_at_run_time() -> None:
    code = (f"import sys, importlib\nfor m in {sorted(ENGINE)!r}: importlib.import_module(m)\n"
            "print(','.join(sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'rich', 'tui'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == ""


def test_headless_cli_does_not_import_textual() -> None:
    code = (
        "import sys; from tui import cli, headless, cmd_runs, cmd_pca, cmd_presets; "
        "print(','.join(m for m in sys.modules if m.startswith('textual')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == ""


def test_help_does_not_import_torch() -> None:
    code = (
        "import sys, contextlib, io\n"
        "from tui.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    try: main(['--help'])\n"
        "    except SystemExit: pass\n"
        "print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "False"
