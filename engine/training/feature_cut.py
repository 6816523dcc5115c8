"""Where a model's frozen part ends: the cut the feature cache (engine.training.feature_cache) stores at.

Two kinds of cut (``find_cut``), each checked on a sample batch before use:

- ``output``: a frozen top-level module that the forward calls once, first, on
  the model's input (AlexNet's and MobileNetV2's ``features``). Its output is
  stored; training runs the model's own forward with that module replaced by
  Identity, so pooling, flattening and dropout after it are the model's code.
- ``input``: the smallest module holding every trainable parameter, called once,
  whose output is the model's output (MobileNetV2's ``classifier``, a ResNet's
  ``fc``, a probe's Linear). Its input is stored, and training calls it alone.

When both fit, the one that leaves fewer frozen layers to run every step wins
(a linear probe of AlexNet: the input of the last Linear, not the output of
``features``, which would leave two frozen 4096-wide layers in every step),
then the one with fewer numbers per image (MobileNetV2: the pooled 1280
instead of 1280x3x3).

The checks: the module is called exactly once; the model's output from the
stored tensor equals its output from the images; for an ``input`` cut, every
module before it with weights or statistics is frozen (so in eval mode), and
the tensor is bitwise the same with the model in train mode (no functional
dropout or batch statistics in the forward's own code). The trace passes put
back every train/eval flag and random stream they touch.
"""
from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterator

import torch
import torch.nn as nn

if TYPE_CHECKING:
    from engine.models.strategies import Plan


@dataclass(frozen=True)
class Cut:
    """Where the frozen part ends: a top-level module's output, or the trainable module's input."""

    kind: str
    """'output' (of the frozen module at ``path``) or 'input' (of the trainable module at ``path``)."""
    path: str
    shape: tuple[int, ...]
    """Stored numbers per image."""
    frozen_after: int = 0
    """Frozen parameters the forward still runs after the cut, every step."""

    @property
    def per_image(self) -> int:
        return math.prod(self.shape)

    def describe(self) -> str:
        return f"{self.kind} of {self.path} ({'x'.join(map(str, self.shape))} per image)"


class _Stop(Exception):
    """Raised by a pre-hook to end a forward pass at the cut (nothing after it runs)."""


@contextlib.contextmanager
def replaced(model: nn.Module, name: str, module: nn.Module) -> Iterator[None]:
    """The top-level child ``name`` swapped for ``module`` while the block runs."""
    old = model.get_submodule(name)
    setattr(model, name, module)
    try:
        yield
    finally:
        setattr(model, name, old)


@contextlib.contextmanager
def side_effect_free(model: nn.Module, device: torch.device) -> Iterator[None]:
    """Trace passes leave no trace: train/eval flags and the global random streams are put back."""
    modes = [(m, m.training) for m in model.modules()]
    cpu_rng = torch.get_rng_state()
    cuda_rng = torch.cuda.get_rng_state(device) if device.type == "cuda" else None
    try:
        yield
    finally:
        for m, training in modes:
            m.training = training
        torch.set_rng_state(cpu_rng)
        if cuda_rng is not None:
            torch.cuda.set_rng_state(cuda_rng, device)


def input_of(model: nn.Module, path: str, x: torch.Tensor) -> torch.Tensor:
    """What the module at ``path`` receives when the model runs on ``x`` (the forward stops there)."""
    grabbed: list[torch.Tensor] = []

    def stop(module: nn.Module, args: tuple) -> None:
        grabbed.append(args[0])
        raise _Stop

    handle = model.get_submodule(path).register_forward_pre_hook(stop)
    try:
        model(x)
    except _Stop:
        pass
    finally:
        handle.remove()
    return grabbed[0]


def _common_module(names: list[str]) -> str:
    """The deepest module path holding every one of these parameter names ('' = the model itself)."""
    parts = [n.split(".")[:-1] for n in names]
    common: list[str] = []
    for level in zip(*parts):
        if any(p != level[0] for p in level):
            break
        common.append(level[0])
    return ".".join(common)


@torch.no_grad()
def find_cut(model: nn.Module, plan: "Plan", sample: torch.Tensor) -> Cut | str:
    """The cut leaving the least frozen work per step, then the smallest; checked on ``sample``; else why none."""
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    if not trainable:
        return "nothing trains"
    with side_effect_free(model, sample.device):
        cuts = _output_cuts(model, plan, sample) + _input_cuts(model, plan, sample, _common_module(trainable))
    if not cuts:
        return ("the frozen part is neither a module the forward starts with nor everything before the "
                "trainable one")
    return min(cuts, key=lambda c: (c.frozen_after, c.per_image, c.kind != "output"))


def _output_cuts(model: nn.Module, plan: "Plan", sample: torch.Tensor) -> list[Cut]:
    """Frozen top-level modules that take the model's input, once; their output stands in for them."""
    seen: dict[str, list[tuple[bool, object]]] = {}
    handles = []
    for name, child in model.named_children():
        if plan.is_frozen(name + ".") and any(True for _ in child.parameters()):
            def hook(module: nn.Module, args: tuple, out: object, name: str = name) -> None:
                seen.setdefault(name, []).append((len(args) == 1 and args[0] is sample, out))
            handles.append(child.register_forward_hook(hook))
    model.eval()
    try:
        ref = model(sample)
    finally:
        for h in handles:
            h.remove()
    cuts = []
    for name, calls in seen.items():
        if len(calls) != 1 or not calls[0][0] or not isinstance(calls[0][1], torch.Tensor):
            continue
        out = calls[0][1]
        if out.shape[0] != sample.shape[0]:
            continue
        with replaced(model, name, nn.Identity()):
            again = model(out)
        if isinstance(ref, torch.Tensor) and again.shape == ref.shape and torch.allclose(again, ref, rtol=1e-4,
                                                                                         atol=1e-5):
            after = sum(p.numel() for n, p in model.named_parameters()
                        if not p.requires_grad and not n.startswith(name + "."))
            cuts.append(Cut("output", name, tuple(out.shape[1:]), after))
    return cuts


def _input_cuts(model: nn.Module, plan: "Plan", sample: torch.Tensor, path: str) -> list[Cut]:
    """The module holding every trainable parameter, when all before it is frozen and it ends the forward."""
    if not path:
        return []
    head = model.get_submodule(path)
    inside = {id(m) for m in head.modules()}
    for name, m in model.named_modules():
        has_state = any(True for _ in m.parameters(recurse=False)) or any(True for _ in m.buffers(recurse=False))
        if name and id(m) not in inside and has_state and not plan.is_frozen(name + "."):
            return []  # it would run in train mode (and update its statistics) without the cache
    calls: list[tuple[tuple, dict]] = []
    outs: list[object] = []
    h1 = head.register_forward_pre_hook(lambda m, args, kwargs: calls.append((args, kwargs)), with_kwargs=True)
    h2 = head.register_forward_hook(lambda m, args, out: outs.append(out))
    model.eval()
    try:
        ref = model(sample)
    finally:
        h1.remove()
        h2.remove()
    if len(calls) != 1 or calls[0][1] or len(calls[0][0]) != 1 or outs[0] is not ref:
        return []
    feats = calls[0][0][0]
    if not isinstance(feats, torch.Tensor) or feats.shape[0] != sample.shape[0]:
        return []
    # The uncached run computes these features with the model in train mode: the frozen modules are in
    # eval either way, but the forward's own code might not be (a functional dropout, say). Compare.
    plan.train_mode(model)
    if not torch.equal(input_of(model, path, sample), feats):
        return []
    frozen_inside = sum(p.numel() for p in head.parameters() if not p.requires_grad)
    return [Cut("input", path, tuple(feats.shape[1:]), frozen_inside)]
