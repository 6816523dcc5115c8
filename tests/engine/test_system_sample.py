"""The machine while a run trains: CPU, memory and disk from the standard library, GPUs through NVML,
here a fake NVML module standing in for nvidia-ml-py (no GPU on the test machines)."""
from __future__ import annotations

import sys
import types
from pathlib import Path

import pytest

from engine.device.system import SystemSampler
from engine.events import StepDone, SystemSample
from tui.cli.headless import progress_line


def fake_nvml(count: int = 2) -> types.ModuleType:
    nvml = types.ModuleType("pynvml")
    nvml.nvmlInit = lambda: None  # type: ignore[attr-defined]
    nvml.nvmlDeviceGetCount = lambda: count  # type: ignore[attr-defined]
    nvml.nvmlDeviceGetHandleByIndex = lambda i: i  # type: ignore[attr-defined]
    nvml.nvmlDeviceGetUtilizationRates = lambda h: types.SimpleNamespace(gpu=80 + h, memory=10)  # type: ignore[attr-defined]
    nvml.nvmlDeviceGetMemoryInfo = lambda h: types.SimpleNamespace(used=(h + 1) * 2**30, total=80 * 2**30)  # type: ignore[attr-defined]
    nvml.nvmlDeviceGetName = lambda h: b"NVIDIA H100 80GB HBM3"  # type: ignore[attr-defined]
    nvml.nvmlDeviceGetTemperature = lambda h, sensor: 60.0 + h  # type: ignore[attr-defined]
    nvml.nvmlDeviceGetPowerUsage = lambda h: 300_000  # type: ignore[attr-defined]
    return nvml


def test_without_nvml_there_are_no_gpus_and_the_rest_is_there(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", None)  # as if not installed
    sample = SystemSampler(tmp_path).sample()
    assert sample.gpus == () and sample.rss > 10 * 2**20 and sample.disk_free and sample.cpu_pct >= 0


def test_each_gpu_is_read_through_nvml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", fake_nvml())
    sample = SystemSampler(tmp_path).sample()
    assert [(g.index, g.util_pct, g.mem_used, g.temp_c, g.power_w) for g in sample.gpus] == \
           [(0, 80.0, 2**30, 60.0, 300.0), (1, 81.0, 2 * 2**30, 61.0, 300.0)]
    assert sample.gpus[0].name == "NVIDIA H100 80GB HBM3"


def test_a_sample_at_most_once_a_second(tmp_path: Path) -> None:
    now = [100.0]
    sampler = SystemSampler(tmp_path, clock=lambda: now[0])
    assert sampler.due()
    sampler.sample()
    now[0] += 0.5
    assert not sampler.due()
    now[0] += 0.6
    assert sampler.due()


def test_headless_progress_lines_show_gpu_utilisation() -> None:
    step = StepDone(1, 5, 10, 1.25, 0.1, 900.0, 3.0, 12.0)
    from engine.events import GpuSample

    system = SystemSample(150.0, 2**30, 10**10, (GpuSample(0, "H100", 87.0, 1, 2),))
    assert progress_line(step, 3, system).endswith("GPU0 87%")
    assert "GPU" not in progress_line(step, 3, SystemSample(100.0, 2**30, None))
