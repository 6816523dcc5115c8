"""RandAugment (Cubuk et al. 2020) for whole batches on the device, without PIL.

Each image draws ``num_ops`` operations uniformly from the 14 of torchvision's
RandAugment, all at one global ``magnitude`` on the same 31-step scale
(0..30), with a random sign for the signed ones. To avoid a host sync per
operation (``nonzero`` to find which images drew it) every operation is
computed for the whole batch and each image keeps the one it drew: at CIFAR
size that is cheaper on a GPU than 14 small, synchronising gathers. The five
geometric operations share one ``grid_sample`` (nearest, black fill, as in
torchvision). Every draw uses the caller's generator, so a seed repeats it.

Works on uint8 NHWC (the pipeline's format before conversion) or float NCHW
in [0, 1]; values are rounded to whole 0..255 levels after each operation,
as they would be on uint8 images.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from engine.data.augment import affine_sample

OPS = (
    "identity", "shear_x", "shear_y", "translate_x", "translate_y", "rotate",
    "brightness", "color", "contrast", "sharpness", "posterize", "solarize",
    "autocontrast", "equalize",
)
GEOMETRIC = ("shear_x", "shear_y", "translate_x", "translate_y", "rotate")
NUM_BINS = 31  # torchvision's scale: magnitude 0..30


class RandAugment:
    """``ra(x, gen)``: apply num_ops random operations at the given magnitude to each image."""

    def __init__(self, num_ops: int = 2, magnitude: int = 9):
        if num_ops < 0 or not 0 <= magnitude < NUM_BINS:
            raise ValueError(f"RandAugment needs num_ops >= 0 and magnitude in 0..30, got {num_ops}, {magnitude}")
        self.num_ops = num_ops
        self.magnitude = magnitude
        m = magnitude / (NUM_BINS - 1)
        self.shear = 0.3 * m
        self.translate_frac = 150.0 / 331.0 * m  # of the image side, as torchvision
        self.rotate_deg = 30.0 * m
        self.enhance = 0.9 * m  # brightness / color / contrast / sharpness factor 1 +- this
        self.posterize_bits = 8 - int(round(magnitude / ((NUM_BINS - 1) / 4)))
        self.solarize_threshold = 255.0 * (1 - m)

    def __call__(self, x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        if self.num_ops == 0:
            return x
        if x.dtype == torch.uint8:  # NHWC uint8 in, NHWC uint8 out
            out = self.apply(x.permute(0, 3, 1, 2).float(), gen)
            return out.round_().clamp_(0, 255).to(torch.uint8).permute(0, 2, 3, 1).contiguous()
        return self.apply(x * 255.0, gen) / 255.0  # float NCHW in [0, 1]

    def apply(self, x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        """float NCHW with values in 0..255 -> the same, augmented."""
        n = x.shape[0]
        for _ in range(self.num_ops):
            op = torch.randint(0, len(OPS), (n,), device=x.device, generator=gen)
            sign = torch.where(torch.rand(n, device=x.device, generator=gen) < 0.5, -1.0, 1.0)
            x = self._one_op(x, op, sign.to(x.dtype))
        return x

    def _one_op(self, x: torch.Tensor, op: torch.Tensor, sign: torch.Tensor) -> torch.Tensor:
        out = self._geometric(x, op, sign)
        factor = 1.0 + sign * self.enhance
        candidates = {
            "brightness": blend(x, torch.zeros_like(x), factor),
            "color": blend(x, grayscale(x).expand_as(x), factor),
            "contrast": blend(x, grayscale(x).mean(dim=(1, 2, 3), keepdim=True).expand_as(x), factor),
            "sharpness": blend(x, smooth(x), factor),
            "posterize": posterize(x, self.posterize_bits),
            "solarize": torch.where(x >= self.solarize_threshold, 255.0 - x, x),
            "autocontrast": autocontrast(x),
            "equalize": equalize(x),
        }
        for name, value in candidates.items():
            pick = (op == OPS.index(name)).view(-1, 1, 1, 1)
            out = torch.where(pick, value, out)
        return out.round().clamp(0, 255)

    def _geometric(self, x: torch.Tensor, op: torch.Tensor, sign: torch.Tensor) -> torch.Tensor:
        """Identity for non-geometric draws; one grid_sample for all geometric ones."""
        n = x.shape[0]
        theta = torch.zeros(n, 2, 3, device=x.device, dtype=x.dtype)
        theta[:, 0, 0] = theta[:, 1, 1] = 1.0
        is_op = {name: (op == OPS.index(name)).to(x.dtype) for name in GEOMETRIC}
        # Shear about the top-left corner (torchvision's centre=[0, 0]): in
        # normalised coordinates the pixel offset v*y becomes v*(y_n + 1).
        s = sign * self.shear
        theta[:, 0, 1] += is_op["shear_x"] * s
        theta[:, 0, 2] += is_op["shear_x"] * s
        theta[:, 1, 0] += is_op["shear_y"] * s
        theta[:, 1, 2] += is_op["shear_y"] * s
        # Whole pixels, as torchvision's int(magnitude): a half-pixel shift would blur nothing
        # under nearest sampling but would move the rounding point.
        t = sign * 2 * int(self.translate_frac * x.shape[-1]) / x.shape[-1]
        theta[:, 0, 2] -= is_op["translate_x"] * t
        theta[:, 1, 2] -= is_op["translate_y"] * t
        angle = sign * math.radians(self.rotate_deg) * is_op["rotate"]
        rot = is_op["rotate"]
        theta[:, 0, 0] += rot * (torch.cos(angle) - 1)
        theta[:, 1, 1] += rot * (torch.cos(angle) - 1)
        theta[:, 0, 1] -= rot * torch.sin(angle)
        theta[:, 1, 0] += rot * torch.sin(angle)
        geometric = torch.stack(list(is_op.values())).sum(0)
        moved = affine_sample(x, theta, "nearest", "zeros")
        return torch.where(geometric.view(-1, 1, 1, 1) > 0, moved, x)


def blend(img: torch.Tensor, other: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    """PIL ImageEnhance: other + factor * (img - other), per-image factor, clamped to 0..255."""
    return (other + factor.view(-1, 1, 1, 1) * (img - other)).clamp(0, 255)


def grayscale(x: torch.Tensor) -> torch.Tensor:
    """(N, 1, H, W) luma (ITU-R 601, as PIL 'L'); gray input is its own luma."""
    if x.shape[1] == 1:
        return x
    r, g, b = x[:, 0:1], x[:, 1:2], x[:, 2:3]
    return 0.299 * r + 0.587 * g + 0.114 * b


def smooth(x: torch.Tensor) -> torch.Tensor:
    """PIL's SMOOTH kernel (centre 5, ring 1, /13) inside; the 1-pixel border is kept."""
    c = x.shape[1]
    kernel = torch.ones(3, 3, device=x.device, dtype=x.dtype)
    kernel[1, 1] = 5.0
    kernel = (kernel / 13.0).expand(c, 1, 3, 3)
    inner = F.conv2d(x, kernel, groups=c).round()
    out = x.clone()
    out[:, :, 1:-1, 1:-1] = inner
    return out


def posterize(x: torch.Tensor, bits: int) -> torch.Tensor:
    """Keep the top `bits` bits of each 8-bit value."""
    step = 2.0 ** (8 - bits)
    return torch.floor(x / step) * step


def autocontrast(x: torch.Tensor) -> torch.Tensor:
    """Stretch each channel of each image to span 0..255 (flat channels unchanged)."""
    lo = x.amin(dim=(2, 3), keepdim=True)
    hi = x.amax(dim=(2, 3), keepdim=True)
    flat = hi <= lo
    scale = torch.where(flat, torch.ones_like(hi), 255.0 / (hi - lo).clamp(min=1e-6))
    lo = torch.where(flat, torch.zeros_like(lo), lo)
    return ((x - lo) * scale).clamp(0, 255)


def equalize(x: torch.Tensor) -> torch.Tensor:
    """Histogram equalisation per image and channel, PIL's rule, for the whole batch at once."""
    n, c, h, w = x.shape
    levels = x.round().clamp(0, 255).long().reshape(n * c, h * w)
    hist = torch.zeros(n * c, 256, device=x.device, dtype=torch.long)
    hist.scatter_add_(1, levels, torch.ones_like(levels))
    # PIL leaves the most extreme occupied level out of the step size.
    last = 255 - (hist > 0).flip(1).long().argmax(1)
    step = (h * w - hist.gather(1, last[:, None]).squeeze(1)) // 255
    safe = step.clamp(min=1)[:, None]
    lut = (hist.cumsum(1) + safe // 2) // safe
    lut = torch.cat([torch.zeros_like(lut[:, :1]), lut[:, :-1]], 1).clamp(0, 255)
    out = lut.gather(1, levels)
    out = torch.where((step > 0)[:, None], out, levels)  # one-level channels stay as they are
    return out.view(n, c, h, w).to(x.dtype)
