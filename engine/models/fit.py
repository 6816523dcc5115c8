"""Will the model take the run's input size? Asked on the meta device before anything is written.

A model whose feature maps shrink below one pixel (AlexNet at 16 px) would otherwise fail at its
first step, after the run directory exists, with PyTorch's "Output size is too small". Building the
model on the meta device allocates nothing and runs the shape arithmetic only, so the check costs
milliseconds, and a search over sizes finds the smallest that works, for the message.
"""
from __future__ import annotations

import torch

from engine.config import RunConfig, UserError
from engine.data.registry import DATASETS
from engine.models.facts import input_size
from engine.models.external import user_error
from engine.models.registry import MODELS, get_spec
from engine.models.strategies import build_model

LARGEST = 1024
"""No search beyond this side: a model that needs more is not one the data here can feed."""


def check_input_size(config: RunConfig) -> None:
    """UserError naming the smallest --image-size that works when the model cannot take the run's input;
    for a model from outside the registry, also one real batch through it (its output must be one score
    per class), so the user's mistake is one line before any run directory exists."""
    size = input_size(config)
    if config.model not in MODELS:
        check_one_batch(config, size)
    if _fits(config, size):
        return
    smallest = _smallest_fit(config, size)
    if smallest is None:
        return  # no size works on meta either: an op without meta support, not a size problem
    raise UserError(f"model {config.model} cannot take {size}x{size} inputs (its feature maps shrink to "
                    f"nothing); use --image-size {smallest} or larger")


def check_one_batch(config: RunConfig, size: int) -> None:
    """Build the model on the CPU and run two random images through it in eval mode."""
    spec = get_spec(config.model, config.head)
    data = DATASETS[config.dataset]
    channels, classes = (3 if spec.rgb_only else data.channels), data.classes or 10
    try:
        model, _ = build_model(config.replace(image_size=size), spec, classes, channels, size, load_weights=False)
    except UserError:
        raise
    except Exception as exc:  # noqa: BLE001 - e.g. lazy layers, which have no parameters before a forward
        raise UserError(user_error(exc, f"building {config.model}")) from None
    try:
        with torch.no_grad():
            out = model.eval()(torch.rand(2, channels, size, size))
    except Exception as exc:  # noqa: BLE001 - whatever the user's forward raises, said in one line
        raise UserError(user_error(exc, f"one batch of 2x{channels}x{size}x{size} through {config.model}")) from None
    shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
    if shape != (2, classes):
        raise UserError(f"{config.model} returns {shape} for a batch of 2 images; a classifier must return "
                        f"(batch, {classes}): one score per class of {config.dataset}")


def _fits(config: RunConfig, size: int) -> bool:
    spec = get_spec(config.model, config.head)
    data = DATASETS[config.dataset]
    channels = 3 if spec.rgb_only else data.channels
    try:
        with torch.device("meta"):
            model, _ = build_model(config.replace(image_size=size), spec, data.classes or 10, channels, size,
                                   load_weights=False)
            model.eval()
            model(torch.empty(2, channels, size, size))
    except RuntimeError:
        return False
    return True


def _smallest_fit(config: RunConfig, size: int) -> int | None:
    """Double until a size fits, then bisect (fitting is monotonic in the size for these networks)."""
    low, high = size, size * 2
    while not _fits(config, high):
        if high >= LARGEST:
            return None
        low, high = high, min(high * 2, LARGEST)
    while high - low > 1:
        mid = (low + high) // 2
        low, high = (low, mid) if _fits(config, mid) else (mid, high)
    return high
