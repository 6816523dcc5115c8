"""Every registered model: output shape on each dataset's shape, and the parameter counts the studies state."""
from __future__ import annotations

import pytest
import torch

from engine.config import RunConfig
from engine.models.registry import MODELS, get_spec
from engine.data.pipeline import Pipeline
from engine.models.facts import count_params
from engine.models.strategies import build_model

# (dataset, classes, channels, native size): CIFAR-10, Fashion-MNIST's gray 28 px, CIFAR-100.
SHAPES = [("cifar10", 10, 3, 32), ("fashion-mnist", 10, 1, 28), ("cifar100", 100, 3, 32)]


@pytest.mark.parametrize("name", sorted(MODELS))
def test_forward_shape_on_every_dataset(name):
    """uint8 NHWC batch -> the pipeline's eval transform (gray->RGB, resize) -> model -> (N, classes)."""
    spec = get_spec(name)
    torch.manual_seed(0)
    for dataset, classes, channels, native in SHAPES:
        size = spec.input_size or native
        config = RunConfig(dataset=dataset, model=name)
        model, _ = build_model(config, spec, classes, channels, size)
        pipe = Pipeline(config, mean=[0.5] * channels, std=[0.25] * channels,
                        channels=3 if spec.rgb_only else channels, native_size=native, input_size=size,
                        num_classes=classes, device=torch.device("cpu"))
        x = torch.randint(0, 256, (2, native, native, channels), dtype=torch.uint8)
        model.eval()
        with torch.no_grad():
            out = model(pipe.eval_batch(x))
        assert out.shape == (2, classes), (name, dataset)
        assert torch.isfinite(out).all()


def _counts(model: str, strategy: str, **kw) -> tuple[int, int]:
    return count_params(RunConfig(model=model, strategy=strategy, **kw))


def test_torchvision_alexnet_counts_match_study_000():
    # Study 000's own numbers for the 10-class torchvision AlexNet.
    assert _counts("alexnet", "scratch") == (57_044_810, 57_044_810)
    assert _counts("alexnet", "finetune") == (57_044_810, 57_044_810)
    assert _counts("alexnet", "feature-extract") == (57_044_810, 54_575_114)


def test_counts_on_real_modules_match_meta_counts():
    """count_params builds on the meta device; a real build must agree."""
    spec = get_spec("alexnet")
    model, _ = build_model(RunConfig(model="alexnet", strategy="feature-extract"), spec, 10, 3, 224,
                           load_weights=False)
    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    assert (total, trainable) == (57_044_810, 54_575_114)


def test_study_004_sizes():
    # "Deep & Wide MLP: about 2.3M parameters"; MobileNetV2 frozen: "about 160k trainable";
    # ResNet50(V2): "about 23M parameters".
    total, _ = _counts("mlp-deep-wide", "scratch")
    assert 2_200_000 <= total <= 2_400_000
    total, trainable = _counts("mobilenet_v2", "feature-extract")
    assert trainable == 1280 * 128 + 128 + 128 * 10 + 10 == 165_258
    total, _ = _counts("resnet50", "scratch")
    assert 23_000_000 <= total <= 24_000_000


def test_alexnet_cifar_is_study_002_layout():
    model = get_spec("alexnet-cifar").build(10, 3, 32)
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [c.out_channels for c in convs] == [96, 256, 384, 384, 256]
    assert all(c.kernel_size == (3, 3) and c.padding == (1, 1) for c in convs)
    linears = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    assert [(l.in_features, l.out_features) for l in linears] == [(4096, 4096), (4096, 4096), (4096, 10)]
    assert sum(isinstance(m, torch.nn.MaxPool2d) for m in model.modules()) == 1  # one module, used 3 times
    assert sum(isinstance(m, torch.nn.Dropout) and m.p == 0.5 for m in model.modules()) == 2
    assert model.features(torch.zeros(1, 3, 32, 32)).shape == (1, 256, 4, 4)


def test_alexnet_skip_differs_only_by_skips():
    plain, skip = get_spec("alexnet-cifar").build(10, 3, 32), get_spec("alexnet-skip").build(10, 3, 32)
    plain_keys, skip_keys = set(plain.state_dict()), set(skip.state_dict())
    assert plain_keys < skip_keys
    assert all(k.startswith("shortcuts.") for k in skip_keys - plain_keys)
    # Same weights, 1x1 projections zeroed: only the weightless identity skip around
    # conv4 is left to tell the two apart, and it must.
    skip.load_state_dict(plain.state_dict(), strict=False)
    for m in skip.shortcuts:
        if isinstance(m, torch.nn.Conv2d):
            torch.nn.init.zeros_(m.weight)
    plain.eval(), skip.eval()
    x = torch.randn(2, 3, 32, 32)
    assert not torch.allclose(plain(x), skip(x))


def test_cifar_stem_keeps_resolution_imagenet_stem_does_not():
    cifar = get_spec("resnet18-cifar").build(10, 3, 32)
    imagenet = get_spec("resnet18").build(10, 3, 224)
    assert cifar.stem[0].kernel_size == (3, 3) and cifar.stem[0].stride == (1, 1)
    assert not any(isinstance(m, torch.nn.MaxPool2d) for m in cifar.modules())
    assert imagenet.conv1.kernel_size == (7, 7) and isinstance(imagenet.maxpool, torch.nn.MaxPool2d)


def test_feature_hook_and_pca():
    from engine.analysis.pca import extract_features, pca

    spec = get_spec("alexnet-skip")
    model = spec.build(10, 3, 16)
    feats = extract_features(model, spec, [torch.randn(5, 3, 16, 16), torch.randn(3, 3, 16, 16)])
    assert feats.shape == (8, 256 * 2 * 2) and model.training  # mode restored
    # Data on a 2-D plane in 50-D: two components explain everything.
    g = torch.Generator().manual_seed(0)
    plane = torch.randn(200, 2, generator=g) @ torch.randn(2, 50, generator=g)
    coords, ratio = pca(plane, k=3)
    assert coords.shape == (200, 3) and abs(float(ratio[:2].sum()) - 1.0) < 1e-5 and float(ratio[2]) < 1e-6
