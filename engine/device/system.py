"""The machine while a run trains: each GPU's utilisation, memory, temperature and power, the process's
CPU and memory, and the free disk where the run writes.

GPUs are read through NVIDIA's own NVML binding (``nvidia-ml-py``, imported as ``pynvml``): an optional
dependency, never imported where it is not installed, and silent on a machine without an NVIDIA GPU.
The rest comes from the standard library and /proc. A sample is taken at most once a second, in the
training thread at a progress tick (never on the UI thread), and costs well under a millisecond.
"""
from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from typing import Any

from engine.events import GpuSample, SystemSample

SAMPLE_S = 1.0


class SystemSampler:
    """Takes a SystemSample when SAMPLE_S has passed since the last one."""

    def __init__(self, where: str | Path, clock: Any = time.monotonic):
        self.where = Path(where)
        self.clock = clock
        self._last = -SAMPLE_S
        self._cpu = (time.perf_counter(), _cpu_seconds())
        self._nvml = _nvml()

    def due(self) -> bool:
        return self.clock() - self._last >= SAMPLE_S

    def sample(self) -> SystemSample:
        self._last = self.clock()
        now, cpu = time.perf_counter(), _cpu_seconds()
        (then, cpu_then), self._cpu = self._cpu, (now, cpu)
        share = 100.0 * (cpu - cpu_then) / max(1e-6, now - then)
        return SystemSample(round(share, 1), _rss(), _disk_free(self.where), self._gpus())

    def _gpus(self) -> tuple[GpuSample, ...]:
        if self._nvml is None:
            return ()
        try:
            return tuple(_gpu(self._nvml, i) for i in range(self._nvml.nvmlDeviceGetCount()))
        except Exception:  # noqa: BLE001 - a GPU that stops answering NVML costs the panel, not the run
            self._nvml = None
            return ()


def _nvml() -> Any:
    """pynvml, initialised, or None (not installed, no driver, no GPU)."""
    try:
        import pynvml
    except ImportError:
        return None
    try:
        pynvml.nvmlInit()
        return pynvml if pynvml.nvmlDeviceGetCount() > 0 else None
    except Exception:  # noqa: BLE001 - NVMLError and friends: no NVIDIA driver here
        return None


def _gpu(nvml: Any, index: int) -> GpuSample:
    handle = nvml.nvmlDeviceGetHandleByIndex(index)
    util = nvml.nvmlDeviceGetUtilizationRates(handle)
    mem = nvml.nvmlDeviceGetMemoryInfo(handle)
    name = nvml.nvmlDeviceGetName(handle)
    return GpuSample(index, name.decode() if isinstance(name, bytes) else str(name), float(util.gpu), int(mem.used),
                     int(mem.total), _optional(lambda: float(nvml.nvmlDeviceGetTemperature(handle, 0))),
                     _optional(lambda: nvml.nvmlDeviceGetPowerUsage(handle) / 1000.0))


def _optional(read: Any) -> float | None:
    try:
        return read()
    except Exception:  # noqa: BLE001 - not every GPU reports temperature or power
        return None


def _cpu_seconds() -> float:
    t = os.times()
    return t.user + t.system


def _rss() -> int:
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):  # no /proc (macOS): the peak is the best the library gives
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _disk_free(where: Path) -> int | None:
    try:
        return shutil.disk_usage(where).free
    except OSError:
        return None
