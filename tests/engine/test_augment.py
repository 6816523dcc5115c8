"""Each batched augmentation does what it must: shapes, ranges, MixUp labels, determinism under a seed."""
from __future__ import annotations

import pytest
import torch

from engine.data import augment
from engine.config import RunConfig
from engine.data.pipeline import Pipeline
from engine.data.randaugment import OPS, RandAugment, equalize


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def images(n: int = 16, size: int = 32, channels: int = 3, seed: int = 0) -> torch.Tensor:
    return torch.randint(0, 256, (n, size, size, channels), dtype=torch.uint8, generator=gen(seed))


def test_random_crop_shifts_by_at_most_pad():
    x = images()
    out = augment.random_crop(x, 4, gen())
    assert out.shape == x.shape and out.dtype == torch.uint8
    for i in range(len(x)):  # each output is the input shifted by some (dy, dx) in [-4, 4], zero-filled
        found = False
        for dy in range(-4, 5):
            for dx in range(-4, 5):
                ref = torch.zeros_like(x[i])
                src = x[i][max(0, dy):32 + min(0, dy), max(0, dx):32 + min(0, dx)]
                ref[max(0, -dy):32 + min(0, -dy), max(0, -dx):32 + min(0, -dx)] = src
                found |= torch.equal(ref, out[i])
        assert found, i


def test_random_flip_mirrors_about_half():
    x = images(n=200)
    out = augment.random_flip(x, gen())
    flipped = torch.tensor([torch.equal(o, i.flip(1)) for o, i in zip(out, x)])
    kept = torch.tensor([torch.equal(o, i) for o, i in zip(out, x)])
    assert bool((flipped | kept).all()) and 60 < int(flipped.sum()) < 140


@pytest.mark.parametrize("size", [8, 16, 7])
def test_cutout_zeroes_one_square_of_at_most_size(size):
    x = torch.ones(32, 3, 32, 32)
    out = augment.cutout(x, size, gen())
    assert out.shape == x.shape and set(out.unique().tolist()) <= {0.0, 1.0}
    zeros = (out[:, 0] == 0).sum(dim=(1, 2))
    assert int(zeros.max()) == size * size  # some square lies fully inside
    assert bool((zeros <= size * size).all()) and bool((zeros > 0).all())
    assert torch.equal(out[:, 0], out[:, 2])  # same square in every channel


def test_mixup_labels_sum_to_one_and_match_lambda():
    x = torch.randn(64, 3, 8, 8)
    y = torch.randint(0, 10, (64,), generator=gen(1))
    mixed, target = augment.mixup(x, y, 0.4, 10, gen(2))
    assert mixed.shape == x.shape and target.shape == (64, 10)
    assert torch.allclose(target.sum(1), torch.ones(64))
    # Replay the draws to recover lambda and the partners, then check images and labels agree.
    g = gen(2)
    gamma = torch._standard_gamma(torch.full((2,), 0.4), generator=g)
    lam = gamma[0] / gamma.sum()
    perm = torch.randperm(64, generator=g)
    assert 0 <= float(lam) <= 1
    assert torch.allclose(mixed, lam * x + (1 - lam) * x[perm], atol=1e-6)
    onehot = torch.nn.functional.one_hot(y, 10).float()
    assert torch.allclose(target, lam * onehot + (1 - lam) * onehot[perm], atol=1e-6)


def test_resize_to_model_input():
    x = torch.randn(4, 3, 32, 32)
    assert augment.resize(x, 96).shape == (4, 3, 96, 96)
    assert augment.resize(x, 32) is x


def test_random_affine_identity_at_zero_and_finite_range():
    x = torch.rand(8, 3, 32, 32)
    assert augment.random_affine(x, 0.0, 0.0, 0.0, gen()) is x
    out = augment.random_affine(x, 36.0, 0.1, 0.1, gen())
    assert out.shape == x.shape
    # Bilinear resampling with reflected borders: never outside the input's range, no black fill.
    assert float(out.min()) >= float(x.min()) - 1e-5 and float(out.max()) <= float(x.max()) + 1e-5
    assert not torch.allclose(out, x)


def test_translate_only_moves_pixels():
    x = torch.zeros(1, 1, 32, 32)
    x[0, 0, 16, 16] = 1.0
    out = augment.random_affine(x, 0.0, 0.25, 0.0, gen(3))
    assert abs(float(out.sum()) - 1.0) < 1e-4  # mass kept: a shift, not a blur or a zoom


def test_augmentations_repeat_under_a_seed():
    x = images()
    cfg = RunConfig(cutout=8, mixup=0.2, randaugment=2, randaugment_magnitude=9, rotate=15.0, translate=0.1, zoom=0.1)
    pipe = Pipeline(cfg, mean=[0.5] * 3, std=[0.25] * 3, channels=3, native_size=32, input_size=48,
                    num_classes=10, device=torch.device("cpu"))
    y = torch.arange(16) % 10
    a, ta = pipe.train_batch(x, y, gen(5))
    b, tb = pipe.train_batch(x, y, gen(5))
    c, _ = pipe.train_batch(x, y, gen(6))
    assert a.shape == (16, 3, 48, 48) and ta.shape == (16, 10)
    assert torch.equal(a, b) and torch.equal(ta, tb)
    assert not torch.equal(a, c)


@pytest.mark.parametrize("channels", [3, 1])
def test_randaugment_uint8_nhwc_in_and_out(channels):
    x = images(n=64, channels=channels)
    ra = RandAugment(2, 9)
    out = ra(x, gen(1))
    assert out.shape == x.shape and out.dtype == torch.uint8
    assert torch.equal(out, ra(x, gen(1)))
    assert not torch.equal(out, ra(x, gen(2)))
    assert (out != x).any(dim=(1, 2, 3)).float().mean() > 0.5  # most images changed
    assert torch.equal(RandAugment(0, 9)(x, gen(1)), x)


def test_randaugment_float_nchw_stays_in_unit_range():
    x = torch.rand(32, 3, 16, 16, generator=gen())
    out = RandAugment(3, 20)(x, gen(4))
    assert out.shape == x.shape and out.dtype == x.dtype
    assert float(out.min()) >= 0.0 and float(out.max()) <= 1.0


def _one(op: str, x: torch.Tensor, magnitude: int = 30, sign: float = 1.0) -> torch.Tensor:
    ra = RandAugment(1, magnitude)
    n = x.shape[0]
    return ra._one_op(x.float(), torch.full((n,), OPS.index(op)), torch.full((n,), sign))


def test_randaugment_ops_match_torchvision():
    """Each operation against torchvision's own functional version, on the same uint8 images."""
    import math

    import torchvision.transforms.v2.functional as TF

    x = (torch.rand(6, 3, 32, 32, generator=gen(7)) * 150 + 40).to(torch.uint8)  # NCHW for torchvision
    shift = int(150 / 331 * 30 / 30 * 32)
    shear = math.degrees(math.atan(0.3))
    expected = {
        "identity": x,
        "rotate": TF.rotate(x, 30.0),
        "translate_x": TF.affine(x, angle=0.0, translate=[shift, 0], scale=1.0, shear=[0.0, 0.0]),
        "translate_y": TF.affine(x, angle=0.0, translate=[0, shift], scale=1.0, shear=[0.0, 0.0]),
        "shear_x": TF.affine(x, angle=0.0, translate=[0, 0], scale=1.0, shear=[shear, 0.0], center=[0, 0]),
        "shear_y": TF.affine(x, angle=0.0, translate=[0, 0], scale=1.0, shear=[0.0, shear], center=[0, 0]),
        "posterize": TF.posterize(x, 4),
        "solarize": TF.solarize(x, 0.0),
        "equalize": TF.equalize(x),
        "sharpness": TF.adjust_sharpness(x, 1.9),
        "brightness": TF.adjust_brightness(x, 1.9),
    }
    for op, ref in expected.items():
        out = _one(op, x)
        assert (out - ref.float()).abs().max() <= 1, op  # rounding vs truncation: at most one level
    # autocontrast stretches each channel to the full range
    out = _one("autocontrast", x)
    assert torch.equal(out.amin(dim=(2, 3)), torch.zeros(6, 3)) and torch.equal(out.amax(dim=(2, 3)), torch.full((6, 3), 255.0))


def test_equalize_flat_channel_is_unchanged():
    x = torch.full((2, 3, 8, 8), 77.0)
    assert torch.equal(equalize(x), x)
