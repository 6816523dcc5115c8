"""The ``fast`` preset's network: a small conv net built for time to accuracy.

Written here from the published ideas of the fastest CIFAR-10 trainers
(Page's ResNet-9 "DAWNBench" series, tysam-code's hlb-CIFAR10, Jordan's
airbench): what makes them fast is not depth but a first layer that needs no
training, a shallow stack that downsamples early, and an init that starts
every block close to the identity.

- Patch whitening: the first layer is a 2x2 conv (no padding) whose filters
  are the eigenvectors of the training images' 2x2x3 patch covariance,
  scaled by 1/sqrt(eigenvalue): its outputs are decorrelated, unit-variance
  features from step one, so the first thing SGD sees is well conditioned.
  Each filter comes twice, negated, so the activation after it drops no
  information (12 directions -> 24 channels). The filters are a buffer (fixed,
  set once from data by ``init_from_data``); its bias trains.
- Three groups of conv -> max-pool -> BN -> GELU -> conv -> BN -> GELU; pooling
  right after the first conv of a group spends the second conv's FLOPs at a
  quarter of the pixels.
- Dirac init: each 3x3 conv starts as the identity on the channels it shares
  with its input (the rest keep torch's default init), so the untrained net
  passes the whitened image through and training starts from a shallow model.
- BatchNorm with a fast-moving running average (momentum 0.4): runs of a few
  epochs need statistics that follow the weights, not the first epoch's.
- Head: global max pool, a bias-free linear layer scaled down (1/9) so the
  first logits are small and label smoothing's targets are reachable early.

Two sizes, one design. ``fast`` is sized for a few CPU cores (widths 32-64-128,
whitening patches that do not overlap, ReLU; see FastNet) and is what the
``fast`` preset trains. ``fast-wide`` is the GPU design (airbench94's widths
64-256-256, overlapping patches, GELU): the preset ``fast-gpu``, which the
"94% in <= 3 s on one H100" design target refers to.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from engine.models.spec import ModelSpec, register

CPU_WIDTHS = (32, 64, 128)
GPU_WIDTHS = (64, 256, 256)
HEAD_SCALE = 1 / 9
BN_MOMENTUM = 0.4
WHITEN_EPS = 5e-4
"""Added to every eigenvalue: the flattest directions (JPEG noise) are not blown up without limit."""


class PatchWhitening(nn.Module):
    """A 2x2 (no padding) conv whose filters whiten the image's patches; ``init_from_data`` sets them."""

    weight: torch.Tensor  # a buffer: set from the data, never trained

    def __init__(self, in_channels: int = 3, patch: int = 2, stride: int = 1, eps: float = WHITEN_EPS):
        super().__init__()
        self.patch, self.stride, self.eps = patch, stride, eps
        dim = in_channels * patch * patch
        self.out_channels = 2 * dim
        weight = torch.empty(self.out_channels, in_channels, patch, patch)
        nn.init.kaiming_uniform_(weight, a=5 ** 0.5)  # torch's conv default until the data is seen
        self.register_buffer("weight", weight)
        self.bias = nn.Parameter(torch.zeros(self.out_channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight, self.bias, stride=self.stride)

    @torch.no_grad()
    def init_from_data(self, x: torch.Tensor) -> None:
        """Filters from the eigen-decomposition of the patch covariance of ``x`` (N, C, H, W), normalised."""
        eigvals, eigvecs = torch.linalg.eigh(self._patch_covariance(x))
        filters = (eigvecs.T / torch.sqrt(eigvals.clamp_min(0) + self.eps)[:, None]).reshape(-1, *self.weight.shape[1:])
        self.weight.copy_(torch.cat([filters, -filters]).to(self.weight.dtype))

    def _patch_covariance(self, x: torch.Tensor, block: int = 256) -> torch.Tensor:
        """Covariance of every patch of ``x``, summed a block of images at a time in float64.

        All 5,000 images' patches at once were 1.4 GB of doubles (and as much again for
        the centred copy) to produce a 12 x 12 matrix."""
        dim = self.weight[0].numel()
        total, outer, n = torch.zeros(dim, dtype=torch.float64), torch.zeros(dim, dim, dtype=torch.float64), 0
        for start in range(0, len(x), block):
            p = x[start:start + block].double().unfold(2, self.patch, 1).unfold(3, self.patch, 1)  # N,C,H',W',p,p
            p = p.permute(0, 2, 3, 1, 4, 5).reshape(-1, dim)  # the same order as a filter's weights
            total, outer, n = total + p.sum(0), outer + p.T @ p, n + len(p)
        mean = total / n
        return outer / n - torch.outer(mean, mean)


class ConvGroup(nn.Module):
    """conv -> max-pool -> BN -> act -> conv -> BN -> act, both convs dirac-initialised."""

    def __init__(self, cin: int, cout: int, act=F.gelu):
        super().__init__()
        self.act = act
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout, momentum=BN_MOMENTUM)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout, momentum=BN_MOMENTUM)
        for conv in (self.conv1, self.conv2):
            dirac_init(conv)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.act(self.bn1(F.max_pool2d(self.conv1(x), 2)))
        return self.act(self.bn2(self.conv2(x)))


@torch.no_grad()
def dirac_init(conv: nn.Conv2d) -> None:
    """The first min(in, out) filters pass their input channel through unchanged; the others keep their init."""
    shared = min(conv.in_channels, conv.out_channels)
    nn.init.dirac_(conv.weight[:shared, :shared])
    conv.weight[:shared, shared:].zero_()


class FastNet(nn.Module):
    """Patch whitening -> act -> three ConvGroups -> global max pool -> scaled linear head.

    ``cpu=True`` is the CPU-sized design: the whitening patches do not overlap (stride 2: 16x16
    maps, lossless since the 24 channels hold each 2x2x3 patch, 4x fewer pixels for every conv
    after it) and ReLU replaces GELU (a CPU step ~1.4x faster at these widths).
    """

    def __init__(self, in_channels: int, num_classes: int, widths: tuple[int, int, int] = CPU_WIDTHS,
                 cpu: bool = False):
        super().__init__()
        self.act = F.relu if cpu else F.gelu
        self.whiten = PatchWhitening(in_channels, stride=2 if cpu else 1)
        cin, groups = self.whiten.out_channels, []
        for w in widths:
            groups.append(ConvGroup(cin, w, self.act))
            cin = w
        self.features = nn.Sequential(*groups)
        self.head = nn.Linear(cin, num_classes, bias=False)
        self.to(memory_format=torch.channels_last)  # ~20% faster convs on the CPU too (oneDNN's NHWC kernels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(self.act(self.whiten(x.contiguous(memory_format=torch.channels_last))))
        return self.head(torch.amax(x, dim=(2, 3))) * HEAD_SCALE

    def init_from_data(self, x: torch.Tensor) -> None:
        """Called once by engine.training.loop for a scratch run with normalised training images (N, C, H, W)."""
        self.whiten.init_from_data(x)


register(ModelSpec(
    name="fast",
    family="fast",
    description="time-to-accuracy net, CPU-sized: 2x2 patch whitening (stride 2), conv groups 32-64-128, ReLU, "
                "dirac init (~0.29M params)",
    build=lambda nc, ch, size: FastNet(ch, nc, CPU_WIDTHS, cpu=True),
))
register(ModelSpec(
    name="fast-wide",
    family="fast",
    description="time-to-accuracy net, GPU-sized (airbench94's widths 64-256-256): whitening, dirac init (~1.97M params)",
    build=lambda nc, ch, size: FastNet(ch, nc, GPU_WIDTHS),
))
