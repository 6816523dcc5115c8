"""Frozen features computed once (engine.training.feature_cache): same results as without, used, refused with a reason,
resumed exactly, and dropped at the two-phase switch."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

import engine.training.feature_cache as feature_cache
from engine.training.feature_cut import find_cut
import engine.training.loop
from engine.config import RunConfig
from engine.events import EpochDone, Log
from engine.models.registry import get_spec
from engine.data.pipeline import IMAGENET_MEAN, IMAGENET_STD
from engine.runs import read_metrics
from engine.training.resume import prepare_resume
from engine.models.strategies import Plan, build_model, complement_prefixes
from engine.data.synthetic import make_synthetic
from engine.training.loop import train
from tests.helpers.stopping import StopAt

TRAIN, VAL, TEST, BATCH = 160, 40, 60, 32
STEPS = TRAIN // BATCH
CHECKS = 3 * 2  # find_cut runs the model on 2 images: for the output cut, the input cut, and in train mode
TIMES = ("img_per_s", "train_time_s", "epoch_time_s", "wall_time_s")


@pytest.fixture(scope="module")
def weights(tmp_path_factory) -> str:
    """'Pretrained' cnn weights: random, with BatchNorm statistics measured on the data as trained ones are."""
    torch.manual_seed(7)
    model = get_spec("cnn").build(10, 3, 32)
    x, _ = make_synthetic(256, seed=99)
    mean, std = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.momentum = None  # a plain average over the batches
    with torch.no_grad():
        model.train()(((torch.from_numpy(x).permute(0, 3, 1, 2).float() / 255) - mean) / std)
    path = tmp_path_factory.mktemp("weights") / "cnn.pt"
    torch.save(model.state_dict(), path)
    return str(path)


def tiny(runs_dir: Path, weights: str, **kw) -> RunConfig:
    base = dict(dataset="synthetic", model="cnn", strategy="feature-extract", weights=weights, epochs=2,
                batch_size=BATCH, train_limit=TRAIN, val_split=VAL, test_limit=TEST, crop=False, flip=True,
                optimizer="adam", lr=3e-2, weight_decay=0.0, schedule="cosine", runs_dir=str(runs_dir), seed=2)
    return RunConfig(**{**base, **kw})


class Counted:
    """Patches engine.training.loop.build_model so every model counts the images its `features` module sees."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch):
        self.images = 0
        original = engine.training.loop.build_model

        def build(*args, **kw):
            model, plan = original(*args, **kw)
            model.features.register_forward_hook(lambda m, a, out: self._add(a[0]))
            return model, plan

        monkeypatch.setattr(engine.training.loop, "build_model", build)

    def _add(self, x: torch.Tensor) -> None:
        self.images += x.shape[0]


def run(config: RunConfig, control=None, resume=None):
    logs: list[str] = []
    result = train(config, on_event=lambda e: logs.append(e.message) if isinstance(e, Log) else None,
                   control=control, resume=resume)
    return result, logs


def last_weights(run_dir: str) -> dict[str, torch.Tensor]:
    return torch.load(Path(run_dir) / "checkpoints" / "last.pt", weights_only=True)["model"]


def test_cached_run_matches_uncached_and_computes_each_view_once(tmp_path, weights, monkeypatch):
    counted = Counted(monkeypatch)
    cached, logs = run(tiny(tmp_path / "a", weights, epochs=3))
    cached_images = counted.images
    counted.images = 0
    plain, plain_logs = run(tiny(tmp_path / "b", weights, epochs=3, feature_cache=False))
    assert cached.status == plain.status == "completed"
    on = [m for m in logs if m.startswith("feature cache on")]
    assert len(on) == 1 and "fp16" in on[0] and "output of features" in on[0], logs
    assert "feature cache off: turned off (--no-feature-cache)" in plain_logs
    # Both views of every train image and each val/test image once (plus three 2-image passes that check
    # the cut), against every image every epoch without the cache.
    assert cached_images == 2 * TRAIN + VAL + TEST + CHECKS
    assert counted.images == 3 * (STEPS * BATCH + VAL + TEST)
    # Same permutation, same flips, same dropout: only fp16 rounding of the features differs.
    for a, b in zip(read_metrics(cached.run_dir), read_metrics(plain.run_dir), strict=True):
        assert a["train_loss"] == pytest.approx(b["train_loss"], rel=2e-3)
        assert a["test_loss"] == pytest.approx(b["test_loss"], rel=2e-3)
        assert abs(a["test_acc"] - b["test_acc"]) <= 2 / TEST and abs(a["val_acc"] - b["val_acc"]) <= 2 / VAL
    assert read_metrics(cached.run_dir)[-1]["test_acc"] > 0.2  # it learnt something: the comparison means something


def test_fp32_cache_gives_the_uncached_weights(tmp_path, weights, monkeypatch):
    """With fp32 storage only the evaluation-sized batches of the build differ: the same weights to rounding."""
    monkeypatch.setattr(feature_cache, "FP16_TOLERANCE", 0.0)
    cached, logs = run(tiny(tmp_path / "a", weights, epochs=1, val_split=0))
    plain, _ = run(tiny(tmp_path / "b", weights, epochs=1, val_split=0, feature_cache=False))
    assert any(m.startswith("feature cache on") and "fp32" in m for m in logs), logs
    wa, wb = last_weights(cached.run_dir), last_weights(plain.run_dir)
    assert all(torch.allclose(wa[k].float(), wb[k].float(), rtol=1e-4, atol=1e-6) for k in wa)
    assert all(torch.equal(wa[k], wb[k]) for k in wa if k.startswith("features."))  # frozen: untouched


def test_augmentation_beyond_flip_refuses_the_cache_and_says_why(tmp_path, weights, monkeypatch):
    counted = Counted(monkeypatch)
    result, logs = run(tiny(tmp_path, weights, epochs=1, crop=True, checkpoints=False))
    assert result.status == "completed"
    assert ("feature cache off: random crop changes the backbone's input every epoch; --no-crop enables it "
            "(flip alone is cached exactly)") in logs
    assert not any(m.startswith("feature cache on") for m in logs)
    assert counted.images == STEPS * BATCH + VAL + TEST


def test_refusal_names_every_augmentation_and_its_flag():
    assert feature_cache.refusal(RunConfig(crop=False, flip=True)) is None
    assert feature_cache.refusal(RunConfig(crop=False, flip=False)) is None
    why = feature_cache.refusal(RunConfig(crop=True, cutout=8, mixup=0.2, rotate=10.0))
    assert why is not None
    assert why.startswith("random crop, cutout, MixUp, random rotation change the backbone's input every epoch")
    assert "--no-crop --cutout 0 --mixup 0 --rotate 0 enables it" in why


def test_no_frozen_part_no_cache_and_no_log(tmp_path, weights):
    result, logs = run(tiny(tmp_path, weights, strategy="finetune", epochs=1, checkpoints=False))
    assert result.status == "completed" and not any("feature cache" in m for m in logs)


# Checks of the stop flag: one per batch of the build (2 views of the train split, val, test, in batches of
# feature_cache.CPU_BUILD_BATCH), one before every step, one after every epoch.
BUILD_CHECKS = sum(-(-n // feature_cache.CPU_BUILD_BATCH) for n in (TRAIN, TRAIN, VAL, TEST))


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory, weights) -> Path:
    result, logs = run(tiny(tmp_path_factory.mktemp("ref"), weights))
    assert result.status == "completed" and any(m.startswith("feature cache on") for m in logs)
    return Path(result.run_dir)


@pytest.mark.parametrize("stop_at", [BUILD_CHECKS + 2, BUILD_CHECKS + STEPS + 1 + 3],
                         ids=["mid-epoch-1", "mid-epoch-2"])
def test_stop_and_resume_of_a_cached_run_is_bitwise(uninterrupted, tmp_path, weights, stop_at):
    first, _ = run(tiny(tmp_path, weights), control=StopAt(stop_at))
    assert first.status == "interrupted"
    ckpt = torch.load(Path(first.run_dir) / "checkpoints" / "last.pt", weights_only=False)
    assert ckpt["resume"]["partial"]["step"] in (2, 3)  # stopped inside an epoch, not at its edge
    config, _ = prepare_resume(first.run_dir, {})
    second, logs = run(config, resume=first.run_dir)
    assert second.status == "completed"
    assert any(m.startswith("feature cache on") for m in logs)  # rebuilt, not checkpointed
    wa, wb = last_weights(str(uninterrupted)), last_weights(second.run_dir)
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    strip = lambda rs: [{k: v for k, v in r.items() if k not in TIMES} for r in rs]  # noqa: E731
    assert strip(read_metrics(uninterrupted)) == strip(read_metrics(second.run_dir))
    sa, sb = (json.loads((Path(p) / "summary.json").read_text()) for p in (uninterrupted, second.run_dir))
    assert (sa["test_acc"], sa["confusion"]) == (sb["test_acc"], sb["confusion"])


def test_two_phase_caches_phase_one_then_runs_the_whole_model(tmp_path, weights, monkeypatch):
    counted = Counted(monkeypatch)
    per_epoch: list[int] = []
    result = train(tiny(tmp_path, weights, strategy="two-phase", epochs=3, phase2_epoch=3, checkpoints=False),
                   on_event=lambda e: per_epoch.append(counted.images) if isinstance(e, EpochDone) else None)
    assert result.status == "completed"
    built = 2 * TRAIN + VAL + TEST + CHECKS
    assert per_epoch[:2] == [built, built]  # phase 1: nothing after the build
    assert per_epoch[2] - per_epoch[1] == STEPS * BATCH + VAL + TEST  # phase 2: every image again


def test_two_phase_logs_the_switch(tmp_path, weights):
    result, logs = run(tiny(tmp_path, weights, strategy="two-phase", epochs=2, phase2_epoch=2, checkpoints=False))
    assert result.status == "completed"
    assert any(m.startswith("feature cache on") for m in logs)
    assert "feature cache off from epoch 2: the backbone trains now" in logs


@pytest.mark.parametrize("model, strategy, size, expected", [
    ("alexnet", "feature-extract", 64, ("output", "features", (256, 1, 1))),  # study 000 freezes `features` only
    ("mobilenet_v2", "feature-extract", 96, ("input", "classifier", (1280,))),  # pooled: 9x less than 1280x3x3
    ("resnet18", "feature-extract", 32, ("input", "fc", (512,))),  # every child but fc frozen
    # No backbone named: all but the head is frozen, the dense layer and its Dropout too (in eval mode).
    ("cnn-bn-dropout", "feature-extract", 32, ("input", "head", (256,))),
])
def test_cut_is_where_the_frozen_part_ends(model, strategy, size, expected):
    spec = get_spec(model)
    config = RunConfig(dataset="synthetic", model=model, strategy=strategy, image_size=size)
    torch.manual_seed(0)
    net, plan = build_model(config, spec, 10, 3, size, load_weights=False)
    cut = find_cut(net, plan, torch.randn(2, 3, size, size))
    assert not isinstance(cut, str), cut
    assert (cut.kind, cut.path, cut.shape) == expected


def test_linear_probe_cut_skips_the_frozen_classifier_layers():
    spec = get_spec("alexnet")
    torch.manual_seed(0)
    net = spec.build(10, 3, 64)
    plan = Plan(complement_prefixes(net, "classifier.6"))
    plan.apply(net)
    cut = find_cut(net, plan, torch.randn(2, 3, 64, 64))
    assert not isinstance(cut, str) and (cut.kind, cut.path, cut.shape) == ("input", "classifier.6", (4096,))
