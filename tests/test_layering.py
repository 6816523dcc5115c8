"""The layers, checked on every module there is (found by walking the packages, not listed by hand).

Every import counts, the ones inside functions too; only ``if TYPE_CHECKING:`` imports are exempt
(they never run). The rules, as the README's "Layout" states them:

- engine's packages import one way: config/events/control <- device <- runs <- data <- models <- presets
  <- training <- analysis <- sweeps; ``engine`` itself (the package: RunConfig and a lazy ``train``) sits on top.
  The dataset registry is plain facts that config validates against, so it sits with config at the bottom.
- engine never imports textual, rich or tui;
- nothing in engine or tui imports in a circle;
- tui: screens and widgets never import the command line (tui.cli), the app, or another screen
  (navigation is a message the app handles; a modal dialog is not a screen of its own);
  widgets never import screens; tui.state is plain Python; tui.format is plain Python;
- the headless path runs without textual, and --help without torch.
"""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

ENGINE_ORDER = (
    ("engine.config", "engine.config_file", "engine.events", "engine.control", "engine.data.registry"),
    ("engine.device",),
    ("engine.runs",),
    ("engine.data",),
    ("engine.models",),
    ("engine.presets",),
    ("engine.training",),
    ("engine.analysis",),
    ("engine.sweeps",),
)


def _modules(package: str) -> dict[str, Path]:
    """Dotted module name -> file, for every .py file under the package."""
    out = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


ENGINE = _modules("engine")
TUI = _modules("tui")
ALL = {**ENGINE, **TUI}


def _type_checking_nodes(tree: ast.Module) -> set[int]:
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip.update(id(n) for stmt in node.body for n in ast.walk(stmt))
    return skip


def _imports(module: str, path: Path) -> set[str]:
    """Everything the module imports at run time, as absolute names: ``from a import b`` is ``a.b`` when
    that is a module of ours, else ``a`` (a parent package's __init__ is Python's, not an edge of ours)."""
    tree = ast.parse(path.read_text())
    skip = _type_checking_nodes(tree)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            subs = {f"{base}.{alias.name}" for alias in node.names} & set(ALL)
            found.update(subs or {base})
    return found


def _ours(module: str) -> set[str]:
    return {n for n in _imports(module, ALL[module]) if n in ALL and n != module}


def _layer(module: str) -> int:
    best = (-1, -1)  # (prefix length, layer)
    for layer, prefixes in enumerate(ENGINE_ORDER):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best[0]:
                best = (len(prefix), layer)
    return best[1]


def test_the_walk_finds_the_packages() -> None:
    assert {"engine.training.loop", "engine.runs.writer", "tui.app", "tui.format", "tui.screens.dashboard",
            "tui.cli.main", "tui.state.run_state"} <= set(ALL)


@pytest.mark.parametrize("module", sorted(m for m in ENGINE if m != "engine"))
def test_every_engine_module_has_a_layer(module: str) -> None:
    assert _layer(module) >= 0, f"{module} is in no layer of ENGINE_ORDER: put it in a package that is"


@pytest.mark.parametrize("module", sorted(m for m in ENGINE if m != "engine"))
def test_engine_imports_only_downward(module: str) -> None:
    mine = _layer(module)
    up = sorted(n for n in _ours(module) if n.startswith("engine.") and _layer(n) > mine)
    assert not up, f"{module} (layer {mine}) imports {up}, which sit above it"


@pytest.mark.parametrize("module", sorted(ENGINE))
def test_engine_never_imports_the_package_facade(module: str) -> None:
    """``engine/__init__`` imports the loop (lazily); a module importing it would close a circle."""
    assert "engine" not in _imports(module, ENGINE[module]) or module == "engine"


@pytest.mark.parametrize("module", sorted(ENGINE))
def test_engine_module_imports_no_ui(module: str) -> None:
    bad = {n for n in _imports(module, ENGINE[module]) if n.split(".")[0] in ("textual", "rich", "tui")}
    assert not bad, f"{module} imports {sorted(bad)}"


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    done: set[str] = set()
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        if node in stack:
            return stack[stack.index(node):] + [node]
        if node in done:
            return None
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            found = visit(nxt)
            if found:
                return found
        stack.pop()
        done.add(node)
        return None

    for module in sorted(graph):
        found = visit(module)
        if found:
            return found
    return None


def test_no_import_cycle_anywhere() -> None:
    graph = {m: _ours(m) for m in ALL}
    cycle = _cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_the_cycle_check_finds_a_cycle() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def _screen_classes(module: str) -> set[str]:
    """Full-screen classes the module defines (a ModalScreen is a dialog, not a screen of its own)."""
    tree = ast.parse(ALL[module].read_text())
    return {node.name for node in tree.body if isinstance(node, ast.ClassDef)
            and any(ast.unparse(b).split(".")[-1] == "Screen" for b in node.bases)}


SCREENS = {m for m in TUI if m.startswith("tui.screens.") and _screen_classes(m)}


@pytest.mark.parametrize("module", sorted(m for m in TUI if m.startswith(("tui.screens", "tui.widgets", "tui.state"))))
def test_screens_and_widgets_never_import_the_cli_or_the_app(module: str) -> None:
    bad = {n for n in _ours(module) if n == "tui.app" or n.startswith("tui.cli")}
    assert not bad, f"{module} imports {sorted(bad)}"


@pytest.mark.parametrize("module", sorted(m for m in TUI if m.startswith("tui.screens")))
def test_a_screen_never_imports_another_screen(module: str) -> None:
    bad = {n for n in _ours(module) if n in SCREENS and n != module}
    assert not bad, f"{module} imports the screens {sorted(bad)}: post a message the app handles instead"


@pytest.mark.parametrize("module", sorted(m for m in TUI if m.startswith("tui.widgets")))
def test_widgets_never_import_screens(module: str) -> None:
    bad = {n for n in _ours(module) if n.startswith("tui.screens")}
    assert not bad, f"{module} imports {sorted(bad)}"


@pytest.mark.parametrize("module", sorted(m for m in TUI if m.startswith("tui.state")) + ["tui.format"])
def test_state_and_format_are_plain_python(module: str) -> None:
    names = _imports(module, TUI[module])
    assert not {n for n in names if n.split(".")[0] in ("textual", "rich", "torch")}
    assert not {n for n in names if n.startswith(("tui.screens", "tui.widgets", "tui.app", "tui.cli"))}


def test_engine_imports_no_ui_package_at_run_time() -> None:
    code = (f"import sys, importlib\nfor m in {sorted(ENGINE)!r}: importlib.import_module(m)\n"
            "print(','.join(sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'rich', 'tui'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == ""


def test_headless_cli_does_not_import_textual() -> None:
    code = (
        "import sys; from tui.cli import main, headless, runs, pca, presets; "
        "print(','.join(m for m in sys.modules if m.startswith('textual')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == ""


def test_help_does_not_import_torch() -> None:
    code = (
        "import sys, contextlib, io\n"
        "from tui.cli.main import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    try: main(['--help'])\n"
        "    except SystemExit: pass\n"
        "print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "False"
