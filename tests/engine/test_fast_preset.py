"""The ``fast`` preset (issue 13) and its parts: patch whitening, dirac init, alternating flip, TTA, Lookahead."""
from __future__ import annotations

import importlib.util

import json
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from engine.data.augment import alternating_flip, flip_first_epoch
from engine.config import ConfigError, RunConfig
from engine.data.load import load_config_dataset
from engine.models.fast import ConvGroup, FastNet, PatchWhitening
from engine.training.optim import Lookahead, build_optimizer
from engine.presets import PRESETS, preset_run_config
from engine.training.resume import prepare_resume
from engine.training.loop import train
from engine.training.tta import TTAForward, views
from tests.helpers import ROOT
from tests.helpers.stopping import StopAt
from tests.helpers.resume import assert_same_run


def correlated_images(n: int = 400, seed: int = 0) -> torch.Tensor:
    """Smooth colour images (neighbouring pixels and channels correlated, as in photos), NCHW float64."""
    g = torch.Generator().manual_seed(seed)
    coarse = torch.randn(n, 3, 8, 8, generator=g, dtype=torch.float64)
    x = F.interpolate(coarse, size=(32, 32), mode="bilinear", align_corners=False)
    x = x + 0.3 * x.mean(1, keepdim=True) + 0.05 * torch.randn(x.shape, generator=g, dtype=torch.float64)
    return x


def test_patch_whitening_whitens_its_data():
    """After init_from_data, the layer's outputs (one sign of each filter) have identity covariance."""
    x = correlated_images()
    layer = PatchWhitening(3, eps=1e-12).double()
    layer.init_from_data(x)
    out = layer(x)[:, :12]  # the other 12 channels are the same filters negated
    flat = out.permute(0, 2, 3, 1).reshape(-1, 12)
    flat = flat - flat.mean(0)
    cov = flat.T @ flat / len(flat)
    assert torch.allclose(cov, torch.eye(12, dtype=torch.float64), atol=1e-6), cov
    assert torch.equal(layer(x)[:, 12:], -layer(x)[:, :12])  # zero bias: the pairs are exact negatives
    before = PatchWhitening(3).double()(x)[:, :12].permute(0, 2, 3, 1).reshape(-1, 12)
    assert not torch.allclose(torch.cov(before.T), torch.eye(12, dtype=torch.float64), atol=0.1)


def test_whitening_filters_are_a_buffer_and_bias_trains():
    """The filters come from data, not SGD: a buffer (saved, never optimised); the strategies cannot unfreeze it."""
    net = FastNet(3, 10)
    names = {n for n, _ in net.named_parameters()}
    assert "whiten.weight" not in names and "whiten.bias" in names
    assert "whiten.weight" in net.state_dict()


def test_dirac_init_makes_each_conv_the_identity():
    group = ConvGroup(8, 16)
    x = torch.randn(2, 8, 10, 10)
    assert torch.equal(group.conv1(x)[:, :8], x)  # the first 8 filters pass the 8 inputs through
    y = torch.randn(2, 16, 5, 5)
    assert torch.equal(group.conv2(y), y)  # 16 -> 16: the whole conv is the identity
    assert group.conv1.weight[8:].abs().sum() > 0  # the extra filters keep a random init


def test_alternating_flip_flips_each_image_on_exactly_alternate_epochs():
    idx = torch.arange(1000)
    first = flip_first_epoch(idx, seed=0)
    assert 400 < int(first.sum()) < 600  # a random half on the first epoch
    assert not torch.equal(first, flip_first_epoch(idx, seed=1))  # the seed decides which half
    x = torch.arange(1000 * 2 * 3 * 1, dtype=torch.float32).view(1000, 1, 3, 2)  # NHWC, 3 px wide, asymmetric
    flipped = [(alternating_flip(x, first, epoch) != x).flatten(1).any(1) for epoch in range(1, 6)]
    for a, b in zip(flipped, flipped[1:]):
        assert torch.equal(a, ~b)  # each image: mirrored in one epoch, not in the next
    assert torch.equal(flipped[0], first)


def test_alternating_flip_in_the_pipeline_follows_the_dataset_index():
    """The same image gets the same decision whatever batch or position it lands in."""
    from engine.data.pipeline import Pipeline

    cfg = RunConfig(dataset="synthetic", crop=False, flip=True, alternating_flip=True, seed=3)
    pipe = Pipeline(cfg, mean=[0.0] * 3, std=[1.0] * 3, channels=3, native_size=4, input_size=4, num_classes=10,
                    device=torch.device("cpu"))
    x = torch.randint(0, 256, (50, 4, 4, 3), dtype=torch.uint8)
    idx = torch.randperm(50)
    gen = torch.Generator().manual_seed(0)
    whole, _ = pipe.train_batch(x[idx], torch.zeros(50), gen, idx=idx, epoch=2)
    part, _ = pipe.train_batch(x[idx[10:20]], torch.zeros(10), gen, idx=idx[10:20], epoch=2)
    assert torch.equal(whole[10:20], part)
    mirrored = ~flip_first_epoch(idx, 3)  # epoch 2: the other half
    expected = torch.where(mirrored[:, None, None, None], x[idx].flip(2), x[idx]).permute(0, 3, 1, 2).float() / 255
    assert torch.allclose(whole, expected)


@pytest.mark.parametrize("level,count", [(1, 2), (2, 6)])
def test_tta_output_is_the_mean_of_the_views(level, count):
    torch.manual_seed(0)
    net = FastNet(3, 10).eval()
    x = torch.randn(4, 3, 32, 32)
    got = TTAForward(net, level).eval()(x)
    all_views = views(x, level)
    assert len(all_views) == count
    with torch.no_grad():
        expected = torch.stack([net(v) for v in all_views]).mean(0)
    assert torch.allclose(got, expected, atol=1e-5)
    assert torch.equal(all_views[1], x.flip(3))
    if level == 2:  # 1-px shifts: interior pixels move by exactly one diagonally
        assert torch.equal(all_views[2][..., 1:, 1:], x[..., :-1, :-1])
        assert torch.equal(all_views[4][..., :-1, :-1], x[..., 1:, 1:])
    wrapped = TTAForward(net, level).train()
    torch.manual_seed(1)
    a = wrapped(x)
    torch.manual_seed(1)
    assert torch.equal(a, net.train()(x))  # training steps never see the views


def test_lookahead_pulls_the_weights_half_way_back_every_k_steps():
    w = torch.nn.Parameter(torch.zeros(3))
    opt = Lookahead(torch.optim.SGD([w], lr=1.0), k=2)
    for step in range(1, 5):
        opt.zero_grad()
        (-w.sum()).backward()  # gradient -1: plain SGD adds 1 a step
        opt.step()
        if step == 1:
            assert torch.equal(w.detach(), torch.ones(3))
    # steps 1-2: fast 0 -> 2, synced to 1; steps 3-4: fast 1 -> 3, synced to 2.
    assert torch.equal(w.detach(), torch.full((3,), 2.0)) and torch.equal(opt.slow[0], w.detach())
    state = opt.state_dict()
    again = Lookahead(torch.optim.SGD([torch.nn.Parameter(torch.zeros(3))], lr=1.0), k=2)
    again.load_state_dict(state)
    assert again.steps == 4 and torch.equal(again.slow[0], opt.slow[0])


def test_build_optimizer_wraps_only_when_asked():
    params = [torch.nn.Parameter(torch.zeros(2))]
    assert isinstance(build_optimizer(RunConfig(lookahead=5), params), Lookahead)
    assert isinstance(build_optimizer(RunConfig(), params), torch.optim.SGD)


@pytest.mark.parametrize("change,field", [
    (dict(lookahead=-1), "lookahead"), (dict(lookahead=5000), "lookahead"), (dict(tta=3), "tta"),
    (dict(tta=-1), "tta"), (dict(alternating_flip=True, flip=False), "alternating_flip"),
    (dict(crop_padding=-2), None), (dict(crop_padding=100), "crop_padding"),
])
def test_bad_values_are_refused(change, field):
    with pytest.raises(ConfigError) as err:
        RunConfig(**change).validate()
    assert next(iter(change)) in str(err.value) or "alternating" in str(err.value)
    if field:
        assert err.value.field == field


def tiny_fast(runs_dir: Path, **kw) -> RunConfig:
    base = dict(dataset="synthetic", train_limit=300, test_limit=60, val_split=40, batch_size=32, epochs=2,
                runs_dir=str(runs_dir), lookahead=3, tta=2)
    return preset_run_config("fast", **{**base, **kw})


@pytest.mark.slow  # three short runs
def test_fast_run_resumes_bit_for_bit_with_lookahead(tmp_path):
    """Stopped mid-epoch between two Lookahead syncs (step 5 of k=3), resumed: same weights, metrics, slow copy."""
    whole = train(tiny_fast(tmp_path / "a"))
    assert whole.status == "completed"
    first = train(tiny_fast(tmp_path / "b"), control=StopAt(5))
    assert first.status == "interrupted"
    config, _ = prepare_resume(first.run_dir, {})
    second = train(config, resume=first.run_dir)
    assert second.status == "completed"
    assert_same_run(Path(whole.run_dir), Path(second.run_dir))
    slow = [torch.load(Path(r.run_dir) / "checkpoints" / "last.pt", weights_only=True)["resume"]["optimizer"]["slow"]
            for r in (whole, second)]
    assert all(torch.equal(a, b) for a, b in zip(*slow))


@pytest.mark.slow
def test_fast_preset_beats_chance_on_synthetic_data(tmp_path):
    """A few steps of the real recipe (whitening from the data, TTA at evaluation) learn the synthetic classes."""
    result = train(tiny_fast(tmp_path, train_limit=1000, test_limit=200, val_split=0, lookahead=5, tta=1, epochs=3,
                             batch_size=64, lr=0.1))
    assert result.status == "completed"
    summary = json.loads((Path(result.run_dir) / "summary.json").read_text())
    assert summary["test_acc"] > 0.3  # 10 classes: chance is 0.1
    weights = torch.load(Path(result.run_dir) / "checkpoints" / "last.pt", weights_only=True)["model"]
    untouched = PatchWhitening(3).weight
    assert not torch.allclose(weights["whiten.weight"], untouched)  # set from the training images


def test_whitening_init_sees_the_runs_training_images(tmp_path):
    """engine.training.loop calls init_from_data once: the saved filters whiten the run's own (normalised) images."""
    config = tiny_fast(tmp_path, epochs=1, lr=1e-9, lookahead=0)  # ~no training: the filters are what init set
    result = train(config)
    weights = torch.load(Path(result.run_dir) / "checkpoints" / "last.pt", weights_only=True)["model"]
    data = load_config_dataset(config)
    mean, std = data.mean_std()
    x = (torch.as_tensor(data.train.x).permute(0, 3, 1, 2).double() / 255 - torch.tensor(mean).view(1, 3, 1, 1)) \
        / torch.tensor(std).view(1, 3, 1, 1)
    out = F.conv2d(x, weights["whiten.weight"].double())[:, :12].permute(0, 2, 3, 1).reshape(-1, 12)
    var = torch.cov(out.T).diagonal()
    assert ((var > 0.5) & (var < 1.5)).float().mean() > 0.8  # ~unit variance (eps damps the flattest directions)


def test_presets_fast_and_fast_gpu():
    fast, gpu = preset_run_config("fast"), preset_run_config("fast-gpu")
    assert fast.model == "fast" and gpu.model == "fast-wide"
    assert fast.lookahead and fast.alternating_flip and fast.tta and fast.label_smoothing > 0
    assert gpu.compile and gpu.amp
    assert "3 s" in PRESETS["fast-gpu"].description and "H100" in PRESETS["fast-gpu"].description
    fast.validate()
    gpu.validate()


@pytest.mark.slow
def test_time_to_accuracy_benchmark_quick_writes_its_rows(tmp_path):
    """benchmarks/time_to_accuracy.py --quick runs end to end and writes one JSON row per target it checks."""
    import subprocess
    import sys

    root = ROOT
    out, png = tmp_path / "rows.json", tmp_path / "curves.png"
    proc = subprocess.run([sys.executable, str(root / "benchmarks" / "time_to_accuracy.py"), "--quick", "--json",
                           str(out), "--plot", str(png)], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(out.read_text())
    units = ["x", "s"] if "fast-80" in PRESETS else ["x"]  # the ratio to 70%, fast-80's seconds to 80%
    assert [r["unit"] for r in rows] == units
    keys = {"benchmark", "target", "measured", "goal", "unit", "higher_is_better", "met", "note"}
    assert all(set(r) == keys and isinstance(r["measured"], float) for r in rows)
    if importlib.util.find_spec("matplotlib"):
        assert png.read_bytes()[:4] == b"\x89PNG"
    assert "reference" in proc.stdout and "fast" in proc.stdout


def test_training_steps_never_see_the_tta_views(tmp_path, monkeypatch):
    """TTA acts at evaluation only: after each epoch's evaluation the next steps get plain batches again."""
    sizes: list[tuple[bool, int]] = []
    original = FastNet.forward

    def recording(self, x):
        sizes.append((self.training, x.shape[0]))
        return original(self, x)

    monkeypatch.setattr(FastNet, "forward", recording)
    result = train(tiny_fast(tmp_path, epochs=2, tta=1, batch_size=32))
    assert result.status == "completed"
    train_calls = [n for training, n in sizes if training]
    assert len(train_calls) > 2 and max(train_calls) <= 32  # no 2x batch of mirrored views, in any epoch
    assert any(not training and n % 2 == 0 for training, n in sizes)  # the evaluations did use the views
