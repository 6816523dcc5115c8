"""two-phase and linear-probe really freeze and unfreeze: requires_grad, and bitwise-unchanged frozen weights."""
from __future__ import annotations

import pytest

import torch

from engine.config import RunConfig
from engine.events import EpochDone, RunStarted
from engine.models.registry import get_spec
from engine.models.facts import count_params
from engine.runs import read_metrics
from engine.models.strategies import build_model
from engine.training.loop import train


def tiny(runs_dir, **kw) -> RunConfig:
    base = dict(dataset="synthetic", model="cnn", epochs=2, batch_size=16, train_limit=64, test_limit=20,
                runs_dir=str(runs_dir), lr=0.05, seed=3)
    return RunConfig(**{**base, **kw})


def load(path) -> dict[str, torch.Tensor]:
    return torch.load(path, weights_only=True)["model"]


def snapshot_each_epoch(events: list) -> dict[int, dict[str, torch.Tensor]]:
    """on_event helper: last.pt as saved at the end of each epoch (it is written before EpochDone)."""
    snaps: dict[int, dict[str, torch.Tensor]] = {}
    run_dir = {}

    def on_event(event):
        events.append(event)
        if isinstance(event, RunStarted):
            run_dir["path"] = event.run_dir
        elif isinstance(event, EpochDone):
            snaps[event.epoch] = load(f"{run_dir['path']}/checkpoints/last.pt")

    return snaps, on_event


def test_two_phase_freezes_backbone_then_unfreezes(tmp_path, runs_dir):
    torch.manual_seed(11)
    start = get_spec("cnn").build(10, 3, 32).state_dict()
    weights = tmp_path / "pretrained.pt"
    torch.save(start, weights)
    config = tiny(runs_dir, strategy="two-phase", weights=str(weights), phase2_epoch=2, phase2_lr=1e-5)

    model, plan = build_model(config, get_spec("cnn"), 10, 3, 32)
    assert plan.phase2_epoch == 2
    assert all(not p.requires_grad for n, p in model.named_parameters() if n.startswith("features."))
    assert all(p.requires_grad for n, p in model.named_parameters() if n.startswith("head."))
    plan.unfreeze(model)
    assert all(p.requires_grad for p in model.parameters())

    events: list = []
    snaps, on_event = snapshot_each_epoch(events)
    result = train(config, on_event)
    assert result.status == "completed", result.error
    after1, after2 = snaps[1], snaps[2]
    backbone = [k for k in start if k.startswith("features.")]
    assert backbone and any(k.endswith("running_mean") for k in backbone)
    for k in backbone:  # weights and BatchNorm statistics alike: phase 1 must not touch them
        assert torch.equal(after1[k], start[k]), k
    assert not torch.equal(after1["head.weight"], start["head.weight"])
    changed = [k for k in backbone if not torch.equal(after2[k], after1[k])]
    assert any(k.endswith("weight") for k in changed) and any(k.endswith("running_mean") for k in changed)
    lrs = [r["lr"] for r in read_metrics(result.run_dir)]
    assert lrs[0] > 1e-3 and lrs[1] <= 1e-5  # phase 2 runs at phase2_lr


@pytest.mark.slow
def test_linear_probe_freezes_everything_but_a_fresh_linear(runs_dir):
    """Probe a CNN with BatchNorm: conv weights and BN statistics stay bitwise, the head is new."""
    source = train(tiny(runs_dir, epochs=1))
    assert source.status == "completed", source.error
    trained = load(f"{source.run_dir}/checkpoints/best.pt")
    config = tiny(runs_dir, strategy="linear-probe", from_run=source.run_id, epochs=1)

    model, plan = build_model(config, get_spec("cnn"), 10, 3, 32)
    grads = {n: p.requires_grad for n, p in model.named_parameters()}
    assert [n for n, g in grads.items() if g] == ["head.weight", "head.bias"]
    assert not torch.equal(model.state_dict()["head.weight"], trained["head.weight"])  # a fresh head

    result = train(config)
    assert result.status == "completed", result.error
    probed = load(f"{result.run_dir}/checkpoints/last.pt")
    for k, v in trained.items():
        if not k.startswith("head."):
            assert torch.equal(probed[k], v), k
    assert result.summary["params_trainable"] == 128 * 10 + 10


@pytest.mark.slow
def test_linear_probe_replaces_study_001_classifier_stack(runs_dir):
    """alexnet-cifar: the whole FC stack becomes one Linear on the conv features; convs stay bitwise."""
    small = dict(model="alexnet-cifar", image_size=16, batch_size=8, train_limit=16, test_limit=10, lr=0.01)
    source = train(tiny(runs_dir, epochs=1, **small))
    assert source.status == "completed", source.error
    trained = load(f"{source.run_dir}/checkpoints/best.pt")
    result = train(tiny(runs_dir, epochs=1, strategy="linear-probe", from_run=source.run_id, **small))
    assert result.status == "completed", result.error
    probed = load(f"{result.run_dir}/checkpoints/last.pt")
    assert sorted(k for k in probed if k.startswith("classifier")) == ["classifier.1.bias", "classifier.1.weight"]
    assert probed["classifier.1.weight"].shape == (10, 256 * 2 * 2)  # conv features at 16 px: 256 x 2 x 2
    for k in (k for k in trained if k.startswith("convs.")):
        assert torch.equal(probed[k], trained[k]), k
    assert result.summary["params_trainable"] == 256 * 4 * 10 + 10


def test_linear_probe_on_torchvision_alexnet_trains_only_the_last_layer():
    # The probe freezes the classifier's hidden FC layers too (not just `features`).
    total, trainable = count_params(RunConfig(model="alexnet", strategy="linear-probe", from_run="x"))
    assert (total, trainable) == (57_044_810, 4096 * 10 + 10)


def test_feature_extract_keeps_frozen_batchnorm_in_eval(tmp_path, runs_dir):
    torch.manual_seed(5)
    weights = tmp_path / "w.pt"
    torch.save(get_spec("cnn").build(10, 3, 32).state_dict(), weights)
    config = tiny(runs_dir, strategy="feature-extract", weights=str(weights))
    model, plan = build_model(config, get_spec("cnn"), 10, 3, 32)
    plan.train_mode(model)
    bns = [m for n, m in model.named_modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert bns and not any(m.training for m in bns) and model.head.training
