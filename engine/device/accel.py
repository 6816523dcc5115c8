"""Which speed-ups a run uses on its device: one place for the device policy.

The CUDA recipe (bf16 autocast, channels_last, torch.compile, fused
optimizers) is decided here, so the training loop stays device-agnostic and the
CPU can run the same code paths in tests. Each CPU choice below was measured
on a 2-core AVX2 machine (benchmarks/results/throughput-cpu-2core.txt).
"""
from __future__ import annotations

import contextlib
import os
import shutil
from typing import cast

import torch
import torch.nn as nn

from engine.config import RunConfig, UserError

CPU_AMP_ENV = "CIFAR_TUI_CPU_AMP"
"""Set to 1 to run bf16 autocast on the CPU too: the tests exercise CUDA's dtype plumbing this way."""


def cpu_amp_forced() -> bool:
    return os.environ.get(CPU_AMP_ENV) == "1"


def amp_dtype(config: RunConfig, device: torch.device) -> torch.dtype | None:
    """bf16 on CUDA (no loss scaling needed, unlike fp16); on the CPU only when forced.

    An AVX2 CPU has no bf16 arithmetic: autocast there converts back and forth
    and runs slower than fp32, so it stays off unless a test asks for it.
    """
    if not config.amp:
        return None
    if device.type == "cuda" or (device.type == "cpu" and cpu_amp_forced()):
        return torch.bfloat16
    return None


def autocast(config: RunConfig, device: torch.device):
    """The autocast context for a forward pass (a no-op context when amp does not apply)."""
    dtype = amp_dtype(config, device)
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=dtype)


def memory_format(config: RunConfig, device: torch.device) -> torch.memory_format:
    """channels_last where it pays: CUDA (tensor cores want NHWC) and the CPU (oneDNN convolutions)."""
    if config.channels_last and device.type in ("cuda", "cpu"):
        return torch.channels_last
    return torch.contiguous_format


def prepare_model(model: nn.Module, config: RunConfig, device: torch.device) -> tuple[nn.Module, nn.Module]:
    """(the model on the device in its memory format, the callable the loop runs: the model or its compiled form)."""
    model = model.to(device)
    if memory_format(config, device) == torch.channels_last:
        model = model.to(memory_format=torch.channels_last)
    if not config.compile:
        return model, model
    if device.type == "cpu":
        _check_cpu_compiler()
    # dynamic=False: every distinct batch shape (the full batch, the last partial one, the evaluation's two)
    # compiles once, in the first epoch, into kernels specialised to it; the same shapes recur every epoch, so
    # later epochs hit the cache and never recompile (tests/engine/test_accel.py counts it).
    return model, cast(nn.Module, torch.compile(model, dynamic=False))  # an OptimizedModule: same calls


def _check_cpu_compiler() -> None:
    """Inductor writes C++ on the CPU: without a compiler the first step would fail deep in a traceback."""
    if not any(shutil.which(cc) for cc in (os.environ.get("CXX", ""), "g++", "c++", "clang++") if cc):
        raise UserError("--compile on the CPU needs a C++ compiler (g++ or clang++) on PATH; "
                        "install one or run without --compile")


def optimizer_kwargs(device: torch.device, optimizer: str) -> dict[str, bool]:
    """fused on CUDA (one kernel for every parameter); on the CPU the choice measured fastest for it."""
    if device.type == "cuda":
        return {"fused": True}
    if device.type == "cpu":
        return dict(CPU_OPTIMIZER.get(optimizer, {}))
    return {}


# Measured per optimizer on the CPU (cnn and smallcnn, batch 128): see the module docstring.
CPU_OPTIMIZER: dict[str, dict[str, bool]] = {"sgd": {"foreach": True}, "adam": {"foreach": True},
                                              "adamw": {"foreach": True}}
