"""Frozen features computed once, beside the same run without the cache and the usual reference loop.

Usage: python benchmarks/feature_cache.py [--repeats 3] [--epochs 10] [--models alexnet mobilenet_v2]
                                          [--alexnet-size 224 --alexnet-train 128]
                                          [--mobilenet-size 96 --mobilenet-train 320] [--noise]
                                          [--quick] [--json PATH]

Three ways to train one feature-extraction run, side by side in one process,
interleaved (the order rotates every repeat), medians of the repeats:

- cached:    the engine (engine.training.loop) with the feature cache (the default):
             the frozen part runs once per image and view, the head trains on it;
- uncached:  the same run with --no-feature-cache;
- reference: the usual loop: a dataset of in-memory uint8 images with
             per-sample PIL transforms (RandomHorizontalFlip, Resize to the
             model's input, ToTensor, Normalize), a DataLoader (2 workers) and a
             plain step; the same model, weights, freezing, batch size and
             optimizer; validation and test evaluated every epoch as the engine does.

The runs are study 000's AlexNet feature extraction (``features`` frozen, the
whole classifier trains: Adam 1e-4, batch 128, flip) and study 004's frozen
MobileNetV2 (Adam 1e-3, batch 64, flip), each from its preset, on a stratified
subset of CIFAR-10 (JPEG q75) from ../shared/data/cifar10-jpg.tar.gz (dataset
"folder"; skipped when absent): --*-train images, and a quarter of that each
for validation and test (the studies' 4:1:1). End to end means the whole train() call (data from the
decoded-folder cache, model and weights, every epoch with its evaluation);
checkpoints are off for all three (the reference writes none; an AlexNet
checkpoint with Adam's moments is ~650 MB an epoch).

--noise instead trains each model once with fp16 and once with fp32 storage,
and without the cache at three seeds: what fp16 changes, beside what the seed does.

No pretrained weights exist offline: each model gets a random "pretrained"
weight file (MobileNetV2's BatchNorm statistics measured on 512 training
images so its features are not vanishingly small). This measures speed; the
accuracies only show that the three ways train alike, not what ImageNet
features would reach.
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402

from benchmarks import DATA  # noqa: E402

from engine.config import RunConfig  # noqa: E402
from engine.data.load import load_config_dataset  # noqa: E402
from engine.events import Log  # noqa: E402
import engine.training.feature_cache  # noqa: E402
from engine.training.feature_cache import FeatureCache  # noqa: E402
from engine.training.feature_cut import find_cut, input_of  # noqa: E402
from engine.models.registry import get_spec  # noqa: E402
from engine.training.optim import build_optimizer  # noqa: E402
from engine.data.pipeline import IMAGENET_MEAN, IMAGENET_STD  # noqa: E402
from engine.presets import preset_run_config  # noqa: E402
from engine.models.strategies import build_model  # noqa: E402
from benchmarks.trained import train_to_end  # noqa: E402

PRESETS = {"alexnet": "000-alexnet-feature-extract", "mobilenet_v2": "004-mobilenet-v2-frozen"}
VARIANTS = ("cached", "uncached", "reference")
SIZES = {"alexnet": lambda a: a.alexnet_size, "mobilenet_v2": lambda a: a.mobilenet_size}
TRAIN = {"alexnet": lambda a: a.alexnet_train, "mobilenet_v2": lambda a: a.mobilenet_train}


@dataclass
class Trial:
    seconds: float
    test_acc: float
    train_loss: float
    """The last epoch's mean training loss (more telling than the accuracy of a near-chance model)."""
    build_s: float | None = None
    train_s: float | None = None
    epochs_s: float | None = None
    cache_log: str = ""


@dataclass
class Results:
    trials: dict[tuple[str, str], list[Trial]] = field(default_factory=dict)

    def add(self, model: str, variant: str, trial: Trial) -> None:
        self.trials.setdefault((model, variant), []).append(trial)

    def median(self, model: str, variant: str, attr: str = "seconds") -> float:
        values = [getattr(t, attr) for t in self.trials[(model, variant)] if getattr(t, attr) is not None]
        return statistics.median(values) if values else float("nan")


def config_for(model: str, weights: str, runs: str, args: argparse.Namespace, cache: bool) -> RunConfig:
    size, n = SIZES[model](args), TRAIN[model](args)
    return preset_run_config(
        PRESETS[model], dataset="folder", data_dir=str(DATA), weights=weights, image_size=size,
        epochs=args.epochs, train_limit=n, val_split=n // 4, test_limit=n // 4, checkpoints=False,
        runs_dir=runs, device="cpu", feature_cache=cache, seed=0,
    )


def write_weights(model: str, size: int, config: RunConfig, path: Path) -> str:
    """Random 'pretrained' weights; BatchNorm statistics measured on training images (else they vanish)."""
    torch.manual_seed(1234)
    spec = get_spec(model)
    net = spec.build(1000, 3, size) if model == "alexnet" else spec.build(10, 3, size)
    bns = [m for m in net.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    if bns:
        data = load_config_dataset(config.replace(train_limit=None, val_split=0))
        pick = torch.randperm(len(data.train))[:512]
        x = torch.as_tensor(data.train.x)[pick].permute(0, 3, 1, 2).float() / 255
        x = torch.nn.functional.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
        x = (x - torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)) / torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
        for m in bns:
            m.reset_running_stats()
            m.momentum = None  # a plain average over the batches
        net.train()
        with torch.no_grad():
            for chunk in x.split(64):
                net(chunk)
    torch.save(net.state_dict(), path)
    return str(path)


def run_engine(config: RunConfig) -> Trial:
    logs: list[str] = []
    run = train_to_end(config, on_event=lambda e: logs.append(e.message) if isinstance(e, Log) else None)
    on = [m for m in logs if m.startswith("feature cache on")]
    build = float(on[0].rsplit("built in ", 1)[1].split(" s")[0]) if on else None
    return Trial(run.wall_s, run.last["test_acc"], run.last["train_loss"], build, run.total("train_time_s"),
                 run.total("epoch_time_s"), on[0] if on else next(
                     (m for m in logs if m.startswith("feature cache off")), ""))


def run_reference(config: RunConfig) -> Trial:
    """The usual notebook loop on the same images, model, weights and optimizer."""
    import numpy as np
    import torchvision.transforms as T
    from PIL import Image

    t0 = time.perf_counter()
    data = load_config_dataset(config)
    size = config.image_size or 224
    norm = T.Normalize(IMAGENET_MEAN, IMAGENET_STD)
    train_tf = T.Compose([T.RandomHorizontalFlip(), T.Resize(size), T.ToTensor(), norm])
    eval_tf = T.Compose([T.Resize(size), T.ToTensor(), norm])

    class Images(torch.utils.data.Dataset):  # as torchvision.datasets.CIFAR10 holds them: uint8 HWC arrays
        def __init__(self, x: np.ndarray, y: np.ndarray, tf: Any):
            self.x, self.y, self.tf = x, y, tf

        def __len__(self) -> int:
            return len(self.y)

        def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
            return self.tf(Image.fromarray(self.x[i])), int(self.y[i])

    def loader(split: Any, tf: Any, shuffle: bool) -> torch.utils.data.DataLoader:
        return torch.utils.data.DataLoader(Images(np.asarray(split.x), np.asarray(split.y), tf),
                                           batch_size=config.batch_size, shuffle=shuffle, num_workers=2)

    torch.manual_seed(config.seed)
    model, plan = build_model(config, get_spec(config.model), data.num_classes, 3, size)
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=config.lr)
    crit = torch.nn.CrossEntropyLoss()
    train_loader = loader(data.train, train_tf, True)
    evals = [loader(s, eval_tf, False) for s in (data.val, data.test) if s is not None]
    acc = loss_sum = 0.0
    for _ in range(config.epochs):
        plan.train_mode(model)  # the frozen backbone in eval mode, as the engine (and Keras) keep it
        loss_sum = 0.0
        for xb, yb in train_loader:
            loss = crit(model(xb), yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            loss_sum += loss.item() * len(yb)
        model.eval()
        with torch.no_grad():
            for ev in evals:
                correct = sum(int((model(xb).argmax(1) == yb).sum()) for xb, yb in ev)
                acc = correct / len(ev.dataset)  # type: ignore[arg-type]
    return Trial(time.perf_counter() - t0, acc, loss_sum / len(data.train))


def _seconds(fn: Any, repeats: int = 3) -> float:
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def profile(config: RunConfig) -> str:
    """Per image, at the run's batch: the frozen part's forward, and the step left with the cache."""
    size, batch = config.image_size or 224, config.batch_size
    torch.manual_seed(0)
    net, plan = build_model(config, get_spec(config.model), 10, 3, size)
    x, y = torch.randn(batch, 3, size, size), torch.randint(0, 10, (batch,))
    cut = find_cut(net, plan, x[:2])
    assert not isinstance(cut, str), cut
    net.eval()

    @torch.no_grad()
    def frozen() -> torch.Tensor:
        return net.get_submodule(cut.path)(x) if cut.kind == "output" else input_of(net, cut.path, x)

    t_frozen, feats = _seconds(frozen), frozen()
    head = FeatureCache(net, cut, feats.unsqueeze(0), {}, False)
    plan.train_mode(net)
    opt = build_optimizer(config, net.parameters())
    crit = torch.nn.CrossEntropyLoss()

    def forward_backward() -> None:
        opt.zero_grad(set_to_none=True)
        crit(head.forward(feats), y).backward()

    t_fb = _seconds(forward_backward)
    t_opt = _seconds(opt.step)
    fused = torch.optim.Adam([p for p in net.parameters() if p.requires_grad], lr=config.lr, fused=True)
    t_fused = _seconds(fused.step)
    per = lambda t: t / batch * 1e3  # noqa: E731
    head_ms = per(t_fb + t_opt)
    return (f"{config.model} {size} px, batch {batch}: frozen forward {per(t_frozen):.2f} ms/img; with the cache "
            f"the step is {head_ms:.2f} ms/img (forward+backward {per(t_fb):.2f}, Adam {per(t_opt):.2f}; fused Adam "
            f"would be {per(t_fused):.2f}); an epoch's bound (frozen + step) / step = "
            f"{(per(t_frozen) + head_ms) / head_ms:.1f}x")


def noise(models: list[str], weights: dict[str, str], runs: str, args: argparse.Namespace) -> None:
    """What fp16 storage does to a run, beside what another seed does (one run each)."""
    print("\nfp16 storage vs fp32 vs the seed (one run each; last epoch's train loss, val acc, test acc):")
    for m in models:
        base = config_for(m, weights[m], runs, args, True)
        cases = [("cached fp16", base, None), ("cached fp32", base, 0.0),
                 *((f"uncached seed {s}", base.replace(feature_cache=False, seed=s), None) for s in (0, 1, 2))]
        for tag, config, tolerance in cases:
            old = engine.training.feature_cache.FP16_TOLERANCE
            if tolerance is not None:
                engine.training.feature_cache.FP16_TOLERANCE = tolerance  # 0: any rounding at all means fp32
            try:
                last = train_to_end(config).last
            finally:
                engine.training.feature_cache.FP16_TOLERANCE = old
            print(f"  {m:<13}{tag:<16}{last['train_loss']:.5f}  {last['val_acc']:.3f}  {last['test_acc']:.3f}",
                  flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="*", default=list(PRESETS), choices=list(PRESETS))
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--alexnet-size", type=int, default=224)
    ap.add_argument("--alexnet-train", type=int, default=128)
    ap.add_argument("--mobilenet-size", type=int, default=96)
    ap.add_argument("--mobilenet-train", type=int, default=320)
    ap.add_argument("--noise", action="store_true",
                    help="instead: one run each of fp16 and fp32 storage and three seeds without the cache")
    ap.add_argument("--quick", action="store_true", help="MobileNetV2 at 32 px, 64 images, 1 epoch: a smoke run")
    ap.add_argument("--json", type=Path, help="write the speed-ups here as JSON rows")
    args = ap.parse_args()
    if args.quick:
        args.models, args.repeats, args.epochs, args.mobilenet_size, args.mobilenet_train = (
            ["mobilenet_v2"], 1, 1, 32, 64)
    if args.json:
        args.json.write_text("[]\n")  # no data, no rows
    if not DATA.is_file():
        print(f"skipped: {DATA} is absent (the JPEG CIFAR-10 of ../shared/data/)")
        return
    sizes = {m: SIZES[m](args) for m in PRESETS}
    print(f"# python benchmarks/feature_cache.py {' '.join(sys.argv[1:])}".rstrip())
    print(f"{platform.platform()}, {os.cpu_count()} cores, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads, device cpu; load average at the start "
          + " ".join(f"{v:.1f}" for v in os.getloadavg()))
    print(f"CIFAR-10 (JPEG q75) subsets, {args.epochs} epochs, {args.repeats} interleaved repeats, random "
          "'pretrained' weights, checkpoints off:")
    for m in args.models:
        n = TRAIN[m](args)
        print(f"  {m} ({PRESETS[m]}): {sizes[m]} px, {n} train / {n // 4} val / {n // 4} test images")
    results = Results()
    t_all = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        weights = {m: write_weights(m, sizes[m], config_for(m, "", tmp, args, True), Path(tmp) / f"{m}.pt")
                   for m in args.models}
        if args.noise:
            noise(args.models, weights, tmp, args)
            return
        for rep in range(args.repeats):
            order = VARIANTS[rep % 3:] + VARIANTS[: rep % 3]
            for m in args.models:
                for variant in order:
                    config = config_for(m, weights[m], tmp, args, variant == "cached")
                    trial = run_reference(config) if variant == "reference" else run_engine(config)
                    results.add(m, variant, trial)
                    print(f"  repeat {rep + 1} {m:<13}{variant:<10}{trial.seconds:8.1f} s  test acc "
                          f"{trial.test_acc:.3f}  last train loss {trial.train_loss:.5f}", flush=True)
        report(results, args.models, sizes)
        if args.json:
            args.json.write_text(json_rows(results, args))
        print("\nwhere a training step's time goes, in this process (random inputs, medians of 3):")
        for m in args.models:
            print("  " + profile(config_for(m, weights[m], tmp, args, True)), flush=True)
    print(f"\nwhole benchmark: {time.perf_counter() - t_all:.0f} s; load average at the end "
          + " ".join(f"{v:.1f}" for v in os.getloadavg()) + " (other work shares these cores)")


def json_rows(results: Results, args: argparse.Namespace) -> str:
    """Each model's end-to-end speed-ups (no target: reported)."""
    import json

    rows = []
    for m in args.models:
        c, u, r = (results.median(m, v) for v in VARIANTS)
        for other, seconds in (("uncached", u), ("reference", r)):
            rows.append(dict(benchmark="feature_cache", target=f"{m} cached vs {other}", measured=round(seconds / c, 2),
                             goal=0.0, unit="x", higher_is_better=True, met=True,
                             note=f"reported; {args.epochs} epochs, {TRAIN[m](args)} images, median of {args.repeats}"))
    return json.dumps(rows, indent=1) + "\n"


def report(results: Results, models: list[str], sizes: dict[str, int]) -> None:
    print(f"\n{'model':<14}{'px':>4}{'cached s':>10}{'uncached s':>12}{'reference s':>13}{'vs uncached':>13}"
          f"{'vs reference':>14}")
    for m in models:
        c, u, r = (results.median(m, v) for v in VARIANTS)
        print(f"{m:<14}{sizes[m]:>4}{c:>10.1f}{u:>12.1f}{r:>13.1f}{u / c:>12.2f}x{r / c:>13.2f}x")
    print("\nmedians: test accuracy, last epoch's train loss (cached / uncached / reference)")
    for m in models:
        accs = " / ".join(f"{results.median(m, v, 'test_acc'):.3f}" for v in VARIANTS)
        losses = " / ".join(f"{results.median(m, v, 'train_loss'):.5f}" for v in VARIANTS)
        print(f"  {m:<14}acc {accs}   loss {losses}")
    print("\nwhere the time goes (medians, seconds): build = the cache's one pass; train = the steps of all "
          "epochs;\neval = evaluation of val and test in all epochs; rest = start-up, data, model, run files")
    for m in models:
        for v in ("cached", "uncached"):
            total, build = results.median(m, v), results.median(m, v, "build_s")
            train_s, epochs_s = results.median(m, v, "train_s"), results.median(m, v, "epochs_s")
            build_part = 0.0 if build != build else build
            print(f"  {m:<13}{v:<9} build {build_part:6.1f}  train {train_s:7.1f}  eval "
                  f"{epochs_s - train_s - build_part:6.1f}  rest {total - epochs_s:6.1f}")
    print("\nthe cache, as logged by the cached runs:")
    for m in models:
        print(f"  {m}: {results.trials[(m, 'cached')][0].cache_log}")
    print("  at the studies' full splits (40,000 train x 2 views + 20,000 val/test), fp16:")
    for m in models:
        log = results.trials[(m, "cached")][0].cache_log
        shape = log.split("(", 1)[1].split(" per image")[0] if "per image" in log else ""
        per_image = 1
        for d in shape.split("x"):
            per_image *= int(d) if d.isdigit() else 1
        print(f"    {m} ({shape} per image): {per_image * 2 * 100_000 / 2**30:.2f} GiB")


if __name__ == "__main__":
    main()
