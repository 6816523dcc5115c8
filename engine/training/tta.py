"""Test-time augmentation: the model's eval outputs averaged over a few views of each image.

A network trained with flips and crops is nearly, not exactly, invariant to
them; averaging its logits over the mirror (and 1-px shifts) removes part of
that error for the cost of 2 (6) forward passes: at the end of a short run
about half a point on CIFAR-10, more than another epoch would give.

It wraps the run's forward (``Context.forward``), not the model, so the
checkpoint's weights and keys stay those of the registered model, and it acts
in eval mode only: every evaluation (validation, test, the stored predictions)
sees it, the training steps never do.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F


def views(x: torch.Tensor, level: int) -> list[torch.Tensor]:
    """The (N, C, H, W) batch as the model sees it under TTA ``level``: 1 -> [x, mirror], 2 -> also shifted."""
    out = [x]
    if level >= 1:
        out.append(x.flip(3))
    if level >= 2:
        # 1 px down-right and up-left, edges reflected (no black border the training crops rarely show).
        padded = F.pad(x, (1, 1, 1, 1), mode="reflect")
        h, w = x.shape[-2:]
        for shifted in (padded[..., :h, :w], padded[..., 2:, 2:]):
            out += [shifted, shifted.flip(3)]
    return out


class TTAForward(nn.Module):
    """``forward`` in training mode; in eval mode the mean of its logits over ``views(x, level)``."""

    def __init__(self, forward: nn.Module, level: int):
        super().__init__()
        self.inner, self.level = forward, level

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training or self.level == 0:
            return self.inner(x)
        # One batched pass over every view: eval-mode BatchNorm treats images independently,
        # and one big matmul beats several small ones on every device.
        all_views = views(x, self.level)
        out = self.inner(torch.cat(all_views))
        return out.view(len(all_views), x.shape[0], *out.shape[1:]).mean(0)


def with_tta(forward: nn.Module, level: int) -> nn.Module:
    """``forward`` itself when TTA is off, else its TTAForward wrapper."""
    return TTAForward(forward, level) if level else forward
