"""Study 004's two-phase fine-tuning, done the Keras way: only the deep layers unfreeze, BatchNorm stays frozen."""
from __future__ import annotations

import pytest

import torch
import torch.nn as nn

from engine.config import RunConfig
from engine.models.registry import get_spec
from engine.models.strategies import build_model

# Trains for real (subprocesses, tmux or full datasets): the fast tier (-m 'not slow') skips it.
pytestmark = pytest.mark.slow


def test_mobilenet_two_phase_unfreezes_the_deep_layers_with_batchnorm_in_inference_mode(tmp_path):
    spec = get_spec("mobilenet_v2")
    weights = tmp_path / "w.pt"
    torch.save(spec.build(10, 3, 96).state_dict(), weights)
    config = RunConfig(dataset="synthetic", model="mobilenet_v2", strategy="two-phase", epochs=4, phase2_epoch=3,
                       weights=str(weights))
    model, plan = build_model(config, spec, 10, 3, 96)
    trainable = {n.split(".")[0] for n, p in model.named_parameters() if p.requires_grad}
    assert trainable == {"classifier"} and plan.phase2_epoch == 3 and not plan.unfrozen

    plan.unfreeze(model)
    deep = {n for n, p in model.named_parameters() if p.requires_grad}
    assert not any(n.startswith(f"features.{i}.") for n in deep for i in range(12))
    assert any(n.startswith("features.12.") for n in deep) and any(n.startswith("features.18.") for n in deep)
    assert plan.unfrozen

    plan.train_mode(model)
    batchnorms = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    assert batchnorms and not any(m.training for m in batchnorms)  # running statistics stay as loaded
    assert model.classifier.training and model.features[15].conv[0][0].training


def test_models_without_a_deep_layer_rule_unfreeze_everything(tmp_path):
    spec = get_spec("cnn")
    config = RunConfig(dataset="synthetic", model="cnn", strategy="two-phase", epochs=4, phase2_epoch=3,
                       weights=str(tmp_path / "w.pt"))
    torch.save(spec.build(10, 3, 32).state_dict(), config.weights)
    model, plan = build_model(config, spec, 10, 3, 32)
    plan.unfreeze(model)
    assert all(p.requires_grad for p in model.parameters())
    plan.train_mode(model)
    assert all(m.training for m in model.modules())
