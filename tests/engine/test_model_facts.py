"""The models' facts kept as data (engine/models/facts_data.py) stay true to the real models, and the
commands that read them (--help, models, presets) start without importing torch, printing what the
real models would have them print."""
from __future__ import annotations

import json
import subprocess

import pytest

from engine.models import facts as model_facts
from engine.config import RunConfig, UserError
from engine.models.registry import MODELS
from engine.models.facts import build_counts, count_params
from engine.presets import PRESETS, preset_run_config
from tests.helpers.cli_process import cli

FAST_COMMANDS = [["--help"], ["models"], ["presets"], ["presets", "--json"]]


def test_data_file_is_what_the_real_models_generate() -> None:
    """Every registered model, every dataset shape, every strategy: rebuilt and compared, text for text."""
    facts, params = model_facts.collect()
    assert set(facts) == set(MODELS)
    assert model_facts.render(facts, params) == model_facts.DATA_FILE.read_text(), \
        "stale: run python -m engine.models.facts --write"


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_preset_is_counted_from_the_data(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    config = preset_run_config(name)
    built = build_counts(config)
    monkeypatch.setattr("engine.models.facts.build_counts", _no_build)
    assert count_params(config) == built


def test_the_launchers_default_is_counted_from_the_data(monkeypatch: pytest.MonkeyPatch) -> None:
    expected = {(d, s): build_counts(RunConfig(dataset=d, strategy=s, from_run="x"))
                for d in ("cifar10", "cifar100", "fashion-mnist", "synthetic")
                for s in ("scratch", "feature-extract", "linear-probe")}
    monkeypatch.setattr("engine.models.facts.build_counts", _no_build)
    for (dataset, strategy), counts in expected.items():
        assert count_params(RunConfig(dataset=dataset, strategy=strategy, from_run="x")) == counts


def _no_build(config: RunConfig) -> tuple[int, int]:
    raise AssertionError(f"built instead of read from the data: {config.model} {config.strategy}")


def test_what_the_data_does_not_cover_is_built() -> None:
    """A chosen image size, a folder, a two-phase switch after the last epoch: the torch path decides."""
    mlp_64 = count_params(RunConfig(model="mlp", image_size=64))
    assert mlp_64 == build_counts(RunConfig(model="mlp", image_size=64)) != count_params(RunConfig(model="mlp"))
    assert count_params(RunConfig(dataset="folder", data_dir="x", model="cnn")) == \
        count_params(RunConfig(dataset="cifar10", model="cnn"))
    with pytest.raises(UserError, match="two-phase unfreezes"):
        count_params(RunConfig(model="mobilenet_v2", strategy="two-phase", epochs=1))


# ----------------------------------------------------------------------------- the commands, in a subprocess


def _run(args: list[str]) -> subprocess.CompletedProcess:
    return cli(*args, python_flags=("-X", "importtime"), timeout=120)


def _imported(stderr: str) -> set[str]:
    """Module names from -X importtime's report ('import time: self | cumulative | name')."""
    return {line.rsplit("|", 1)[1].strip() for line in stderr.splitlines() if line.startswith("import time:")}


@pytest.mark.parametrize("args", FAST_COMMANDS, ids=" ".join)
def test_fast_commands_never_import_torch(args: list[str]) -> None:
    out = _run(args)
    assert out.returncode == 0, out.stderr[-2000:]
    imported = _imported(out.stderr)
    assert "tui.cli.main" in imported  # the report was read
    assert not {m for m in imported if m.split(".")[0] in ("torch", "torchvision")}


def test_models_lists_the_real_registry() -> None:
    """What `cifar-tui models` printed when it read engine.models itself."""
    width = max(len(n) for n in MODELS)
    expected = []
    for name, spec in sorted(MODELS.items()):
        size = f"{spec.input_size}px" if spec.input_size else "native"
        expected.append(f"{name:<{width}}  {size:>6}  {'pretrained' if spec.pretrained else '':<10}  "
                        f"{spec.description}")
    listed = _run(["models"]).stdout.splitlines()
    assert listed[:len(expected)] == expected
    assert "Besides these, --model takes:" in listed[len(expected):]  # then how to name every other model


@pytest.mark.parametrize("args", [["presets"], ["presets", "--json"]], ids=" ".join)
def test_presets_print_what_building_the_models_gives(args: list[str], monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """The same command in this process with every count built on the meta device (the old way)."""
    from tui.cli.presets import cmd_presets

    monkeypatch.setattr("engine.models.facts.count_params", build_counts)
    assert cmd_presets(args[1:]) == 0
    expected = capsys.readouterr().out
    got = _run(args).stdout
    assert got == expected
    if "--json" in args:
        assert {r["name"] for r in json.loads(got)} == set(PRESETS)
