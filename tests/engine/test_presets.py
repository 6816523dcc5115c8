"""Every preset runs end to end on tiny real-format data and writes a valid run; `presets --json` works."""
from __future__ import annotations

import json

import pytest
import torch

from engine.config import RunConfig, UserError
from engine.presets import PRESETS, STUDIES, get_preset, preset_config, preset_run_config
from engine.runs import read_metrics
from engine.training.loop import train
from tui.cli.main import build_train_parser, config_from_args
from tests.helpers.cli_process import cli

SUMMARY_KEYS = {"status", "epochs_done", "test_acc", "test_top3", "per_class_acc", "confusion", "class_names",
                "wall_time_s", "params_total", "params_trainable", "reported_test_acc", "preset"}

# Reduced input sizes: the full 224/160/96 px would take minutes per step on a shared CPU.
# AlexNet's 11x11/4 stem and three 3x3/2 pools need at least 63 px.
SMALL_SIZE = {"alexnet": 64, "resnet18": 32, "resnet50": 32, "mobilenet_v2": 32}


@pytest.fixture(scope="session")
def imagenet_files(tmp_path_factory) -> dict[str, str]:
    """Randomly initialised torchvision state dicts, saved like the published ImageNet files (1000 classes)."""
    import torchvision.models as tvm

    root = tmp_path_factory.mktemp("weights")
    files = {}
    torch.manual_seed(0)
    for model, ctor in (("alexnet", tvm.alexnet), ("resnet18", tvm.resnet18), ("resnet50", tvm.resnet50),
                        ("mobilenet_v2", tvm.mobilenet_v2)):
        files[model] = str(root / f"{model}.pth")
        torch.save(ctor(weights=None).state_dict(), files[model])
    return files


def tiny_overrides(name: str, cifar10_dir, runs_dir, checkpoints: bool = False) -> dict:
    """Two optimisation steps on 16 CIFAR-format images; everything else as the preset says."""
    p = get_preset(name)
    model = p.overrides["model"]
    over = dict(dataset="cifar10", data_dir=str(cifar10_dir), download=False, train_limit=16, test_limit=10,
                batch_size=8, eval_batch_size=16, epochs=1, runs_dir=str(runs_dir), checkpoints=checkpoints,
                image_size=SMALL_SIZE.get(model, 16), device="cpu")
    if p.overrides.get("val_split"):
        over["val_split"] = 10
    if p.overrides.get("strategy") == "two-phase":
        over.update(epochs=2, phase2_epoch=2)
    return over


def check_run(result, name: str) -> None:
    assert result.status == "completed", (name, result.error)
    summary = json.load(open(f"{result.run_dir}/summary.json"))
    assert SUMMARY_KEYS <= summary.keys()
    assert summary["preset"] == name and summary["reported_test_acc"] == get_preset(name).reported_test_acc
    assert summary["epochs_done"] == summary["epochs"] and 0.0 <= summary["test_acc"] <= 1.0
    config = json.load(open(f"{result.run_dir}/config.json"))
    assert config["preset"] == name and config["extra"]["study"] == get_preset(name).study
    assert len(read_metrics(result.run_dir)) == summary["epochs"]


@pytest.mark.parametrize("name", list(PRESETS))
def test_every_preset_runs(name, cifar10_dir, runs_dir, imagenet_files):
    p = get_preset(name)
    over = tiny_overrides(name, cifar10_dir, runs_dir)
    strategy, model = p.overrides["strategy"], p.overrides["model"]
    if strategy in ("feature-extract", "finetune", "two-phase"):
        over["weights"] = imagenet_files[model]
    if strategy == "linear-probe":  # probe a tiny run of the preset it names
        source_name = name.removesuffix("-linear-probe")
        source = train(preset_run_config(source_name, **tiny_overrides(source_name, cifar10_dir, runs_dir, True)))
        check_run(source, source_name)
        over["from_run"] = source.run_id
    result = train(preset_run_config(name, **over).validate())
    check_run(result, name)


def test_preset_metadata_is_complete():
    assert set(STUDIES) == {p.study for p in PRESETS.values()}
    for name, p in PRESETS.items():
        cfg = RunConfig.from_dict(preset_config(name))
        assert set(p.overrides) <= set(RunConfig.__dataclass_fields__), name
        assert cfg.preset == name and cfg.extra["description"] and cfg.extra["study"] == p.study
        assert p.reported_test_acc is None or 0.4 < p.reported_test_acc < 1.0
        assert set(p.assumed) <= set(RunConfig.__dataclass_fields__), name
    # the minimum list
    for needed in ("000-alexnet-feature-extract", "000-alexnet-finetune", "000-alexnet-scratch", "001-alexnet",
                   "001-alexnet-skip", "001-alexnet-linear-probe", "002-alexnet-cifar", "003-smallcnn",
                   "003-resnet18-transfer", "003-resnet18-cifar-basic", "003-resnet18-cifar-final"):
        assert needed in PRESETS
    assert sum(p.study == "004" for p in PRESETS.values()) >= 7


def test_study_000_split_and_rates():
    for name, lr in (("000-alexnet-feature-extract", 1e-4), ("000-alexnet-finetune", 1e-4),
                     ("000-alexnet-scratch", 1e-3)):
        c = preset_run_config(name)
        assert (c.model, c.val_split, c.epochs, c.lr, c.crop, c.flip) == ("alexnet", 10000, 10, lr, False, True)


def test_unknown_preset_lists_the_names():
    with pytest.raises(UserError, match="000-alexnet-finetune"):
        preset_config("nope")


def test_explicit_flags_override_the_preset():
    args = build_train_parser().parse_args(["--preset", "003-resnet18-cifar-final", "--epochs", "3", "--mixup", "0"])
    c = config_from_args(args)
    assert c.preset == "003-resnet18-cifar-final" and c.epochs == 3 and c.mixup == 0.0
    assert c.batch_size == 384 and c.randaugment == 2 and c.extra["reported_test_acc"] == 0.9272


@pytest.mark.slow
def test_presets_json_command():
    out = cli("presets", "--json", timeout=120)
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout)
    assert [r["name"] for r in rows] == list(PRESETS)
    for r in rows:
        assert {"name", "model", "strategy", "study", "reported_test_acc", "params_total", "params_trainable",
                "config"} <= r.keys()
        assert 0 < r["params_trainable"] <= r["params_total"]
        assert r["config"]["preset"] == r["name"] and r["config"]["model"] == r["model"]
    fe = next(r for r in rows if r["name"] == "000-alexnet-feature-extract")
    assert (fe["params_total"], fe["params_trainable"]) == (57_044_810, 54_575_114)
    table = cli("presets", timeout=120)
    assert table.returncode == 0 and "004-resnet50-final" in table.stdout and "94.38%" in table.stdout


def test_unknown_preset_on_the_command_line_exits_2(runs_dir):
    out = cli("--no-ui", "--preset", "nope", "--runs-dir", runs_dir, timeout=120)
    assert out.returncode == 2 and "unknown preset 'nope'" in out.stderr and "004-mlp" in out.stderr


def test_docs_presets_holds_the_recipes_the_presets_make():
    """docs/presets.md's Recipes are `presets --markdown`'s output: the page says what a run does."""
    from tests.helpers import ROOT
    from tui.cli.presets_doc import BEGIN, END, recipes_markdown

    page = (ROOT / "docs" / "presets.md").read_text()
    made = recipes_markdown()
    assert page[page.index(BEGIN):page.index(END) + len(END)] == made, \
        "docs/presets.md is stale: paste `cifar-tui presets --markdown` between its recipe markers"
    line = next(x for x in made.splitlines() if x.startswith("- **`001-alexnet`**"))
    assert "45,000 train / 5,000 val / 10,000 test; inputs: standardize" in line and "normalize" in line
    mobilenet = next(x for x in made.splitlines() if x.startswith("- **`004-mobilenet-v2-frozen`**"))
    assert "inputs: imagenet" in mobilenet and "normalize" not in mobilenet.split("*Assumed:*")[1]
    two_phase = next(x for x in made.splitlines() if x.startswith("- **`004-mobilenet-v2-two-phase`**"))
    assert "unfreeze at epoch 11, lr 1e-05" in two_phase
    probe = made[made.index("- **`001-alexnet-linear-probe`**"):]
    assert "--preset 001-alexnet-linear-probe --data-dir ~/data --from RUN" in probe.split("- **")[1]
    one = recipes_markdown("002")
    assert "### Study 002" in one and "### Study 001" not in one and one.count("- **`") == 1
