"""The CUDA recipe exercised on the CPU: bf16 autocast, channels_last, torch.compile, fused/foreach
optimizers, no per-step host sync; and datasets that stay uint8. Real short runs on synthetic data."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

import engine.device.accel as accel
import engine.training.epoch as epoch_module
import engine.training.loop as loop
from engine.config import RunConfig
from engine.data.load import load_config_dataset
from engine.events import EpochDone, StepDone
from engine.training.optim import build_optimizer
from engine.training.loop import train
from tests.helpers import ROOT

JPEG_CIFAR = ROOT.parent / "shared" / "data" / "cifar10-jpg.tar.gz"


def tiny(runs_dir: Path, **kw) -> RunConfig:
    # 200 training images in batches of 64: three full batches and a partial one of 8.
    base = dict(dataset="synthetic", model="cnn", epochs=2, batch_size=64, train_limit=260, val_split=60,
                test_limit=70, eval_batch_size=32, runs_dir=str(runs_dir), checkpoints=False, device="cpu")
    return RunConfig(**{**base, **kw})


def spy_first_conv(monkeypatch) -> list[tuple[torch.dtype, bool, bool]]:
    """(output dtype, input channels_last, weight channels_last) of every training call of the first conv."""
    seen: list[tuple[torch.dtype, bool, bool]] = []
    real = accel.prepare_model

    def prepare(model, config, device):
        conv = next(m for m in model.modules() if isinstance(m, torch.nn.Conv2d))

        def hook(module, args, out):
            if module.training:
                cl = torch.channels_last
                seen.append((out.dtype, args[0].is_contiguous(memory_format=cl),
                             module.weight.is_contiguous(memory_format=cl)))
        conv.register_forward_hook(hook)
        return real(model, config, device)

    monkeypatch.setattr(accel, "prepare_model", prepare)
    return seen


def test_bf16_autocast_runs_on_the_cpu_when_forced(runs_dir, monkeypatch):
    monkeypatch.setenv(accel.CPU_AMP_ENV, "1")
    seen = spy_first_conv(monkeypatch)
    # bf16 convolutions are slow on a CPU without bf16 instructions: one full batch and a partial one.
    result = train(tiny(runs_dir, epochs=1, train_limit=82, val_split=10, test_limit=10))
    assert result.status == "completed", result.error
    assert seen and {dtype for dtype, _, _ in seen} == {torch.bfloat16}
    assert 0 <= result.summary["test_acc"] <= 1


def test_without_the_override_the_cpu_trains_in_fp32(runs_dir, monkeypatch):
    monkeypatch.delenv(accel.CPU_AMP_ENV, raising=False)
    seen = spy_first_conv(monkeypatch)
    assert train(tiny(runs_dir, epochs=1)).status == "completed"
    assert {dtype for dtype, _, _ in seen} == {torch.float32}
    assert accel.amp_dtype(tiny(runs_dir), torch.device("cuda")) == torch.bfloat16
    assert accel.amp_dtype(tiny(runs_dir, amp=False), torch.device("cuda")) is None


@pytest.mark.parametrize("channels_last", [True, False])
def test_channels_last_reaches_the_model_on_the_cpu(runs_dir, monkeypatch, channels_last):
    seen = spy_first_conv(monkeypatch)
    assert train(tiny(runs_dir, epochs=1, channels_last=channels_last)).status == "completed"
    assert seen and all(inp == channels_last and weight == channels_last for _, inp, weight in seen)


def test_optimizer_implementation_follows_the_device():
    params = [torch.nn.Parameter(torch.randn(4, 3))]
    for name in ("sgd", "adam", "adamw"):
        config = RunConfig(optimizer=name)
        assert accel.optimizer_kwargs(torch.device("cuda"), name) == {"fused": True}
        cpu = build_optimizer(config, params, torch.device("cpu"))
        assert cpu.defaults.get("foreach") == accel.CPU_OPTIMIZER[name].get("foreach")
        assert cpu.defaults.get("fused") == accel.CPU_OPTIMIZER[name].get("fused")
        # The CUDA choice (fused) also exists on the CPU in this torch: the same kwargs build and step here.
        fused = type(cpu)(params, lr=0.1, **accel.optimizer_kwargs(torch.device("cuda"), name))
        params[0].grad = torch.ones_like(params[0])
        before = params[0].detach().clone()
        fused.step()
        assert fused.defaults["fused"] is True and not torch.equal(before, params[0])
    assert build_optimizer(RunConfig(), params).defaults.get("foreach") is None  # no device: PyTorch's default


def test_the_step_loop_reads_the_loss_only_when_an_event_is_due(runs_dir, monkeypatch):
    """``.item()`` inside train_one_epoch: the first loss (the divergence reference), one per StepDone, and the
    epoch's two sums; never once per step."""
    monkeypatch.setattr(epoch_module, "STEP_EVENT_INTERVAL_S", 1e9)  # only the epoch's last step is an event
    calls = {"n": 0, "inside": False}
    real_item, real_epoch = torch.Tensor.item, loop.train_one_epoch

    def item(self):
        calls["n"] += calls["inside"]
        return real_item(self)

    per_epoch: list[int] = []

    def epoch(*args, **kwargs):
        calls["n"], calls["inside"] = 0, True
        try:
            return real_epoch(*args, **kwargs)
        finally:
            calls["inside"] = False
            per_epoch.append(calls["n"])

    monkeypatch.setattr(torch.Tensor, "item", item)
    monkeypatch.setattr(loop, "train_one_epoch", epoch)
    events: list = []
    result = train(tiny(runs_dir, epochs=3, train_limit=16 * 20, batch_size=16), events.append)
    assert result.status == "completed", result.error
    steps = [e for e in events if isinstance(e, StepDone)]
    assert len(steps) == 3 and steps[0].steps_per_epoch == 20  # 20 steps an epoch, one event each
    assert per_epoch == [4, 3, 3]


def test_divergence_is_still_caught_without_a_per_step_check(runs_dir):
    result = train(tiny(runs_dir, epochs=3, lr=1e12, model="mlp", weight_decay=0.0))
    assert result.status == "diverged" and "lower --lr" in result.error


def test_datasets_stay_uint8(runs_dir):
    data = load_config_dataset(tiny(runs_dir))
    for split in (data.train, data.val, data.test):
        x = torch.as_tensor(split.x)
        assert x.dtype == torch.uint8 and x.shape[1:] == (32, 32, 3)
        assert x.numel() * x.element_size() == len(x) * 32 * 32 * 3


@pytest.mark.slow
def test_real_cifar10_train_split_is_uint8_and_150_mb(runs_dir):
    if not JPEG_CIFAR.is_file():
        pytest.skip(f"{JPEG_CIFAR} is absent")
    data = load_config_dataset(RunConfig(dataset="folder", data_dir=str(JPEG_CIFAR), runs_dir=str(runs_dir)))
    x = torch.as_tensor(data.train.x)
    assert x.dtype == torch.uint8 and len(x) + len(data.val.x) == 50_000
    assert x.numel() * x.element_size() == len(x) * 3072  # 45,000 images: 138 MB, not 553 MB of float32


@pytest.mark.slow
def test_compile_on_the_cpu_never_recompiles_after_the_first_epoch(runs_dir):
    """The last partial batch and the evaluation's shapes compile once, in epoch 1; epochs 2 and 3 reuse them."""
    import torch._dynamo

    torch._dynamo.reset()
    graphs: list[int] = []

    def on_event(event) -> None:
        if isinstance(event, EpochDone):
            graphs.append(torch._dynamo.utils.counters["stats"]["unique_graphs"])

    start = torch._dynamo.utils.counters["stats"]["unique_graphs"]
    result = train(tiny(runs_dir, epochs=3, compile=True), on_event)
    assert result.status == "completed", result.error
    assert graphs[0] > start  # it did compile
    assert graphs[1] == graphs[0] and graphs[2] == graphs[0], graphs
