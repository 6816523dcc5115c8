"""The pieces of benchmarks/throughput.py: the data both sides read, the step profiles, peak RSS, --json."""
from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import torch

from benchmarks import DATA

ROOT = Path(__file__).resolve().parent.parent
CLASSES = 10


def extract_subset(tarball: Path, dest: Path, n_train: int, n_test: int = 200) -> Path:
    """The first n_train / 10 training and n_test / 10 test JPEGs of every class, as files under dest."""
    want = {"train": n_train // CLASSES, "test": n_test // CLASSES}
    taken: dict[tuple[str, str], int] = defaultdict(int)
    with tarfile.open(tarball) as tar:
        for member in tar:
            parts = Path(member.name).parts
            if not member.isfile() or len(parts) < 4 or parts[-3] not in want:
                continue
            key = (parts[-3], parts[-2])
            if taken[key] < want[parts[-3]]:
                taken[key] += 1
                tar.extract(member, dest, filter="data")
    return next(p.parent for p in dest.rglob("train") if p.is_dir())


def write_synthetic_jpegs(dest: Path, n_train: int, n_test: int = 100) -> Path:
    """Synthetic CIFAR-sized images (engine.data.synthetic) as JPEG files in the image-folder layout."""
    from PIL import Image

    from engine.data.synthetic import make_synthetic

    root = dest / "synthetic-jpg"
    for split, n, seed in (("train", n_train, 0), ("test", n_test, 1)):
        x, y = make_synthetic(n, seed=seed)
        for i, (img, label) in enumerate(zip(x, y)):
            folder = root / split / f"class{int(label)}"
            folder.mkdir(parents=True, exist_ok=True)
            Image.fromarray(img).save(folder / f"{i:05d}.jpg", quality=75)
    return root


def _median_ms(times: dict[str, list[float]]) -> dict[str, float]:
    return {k: 1000 * statistics.median(v) for k, v in times.items()}


def profile_engine(config, steps: int) -> None:
    """One engine step split into data / forward / backward / optimizer, with the real pipeline and model."""
    import engine.training.loop as loop
    from engine.control import Control
    from engine.device import accel
    from engine.device.environment import resolve_device

    ctx = loop._prepare(config, lambda e: None, Control(), resolve_device(config.device))
    ctx.plan.train_mode(ctx.model)
    times: dict[str, list[float]] = defaultdict(list)
    n, b = len(ctx.data.train), config.batch_size
    for step in range(steps + 2):  # two warm-up steps, not counted
        t = [time.perf_counter()]
        idx = torch.randint(0, n, (b,), generator=ctx.gen)
        x, y = ctx.pipeline.train_batch(ctx.data.train.x[idx], ctx.data.train.y[idx], ctx.gen)
        t.append(time.perf_counter())
        with accel.autocast(ctx.config, ctx.device):
            loss = ctx.criterion(ctx.forward(x), y)
        t.append(time.perf_counter())
        loss.backward()
        t.append(time.perf_counter())
        ctx.optimizer.step()
        ctx.optimizer.zero_grad(set_to_none=True)
        t.append(time.perf_counter())
        if step >= 2:
            for name, a, z in zip(("data", "forward", "backward", "optimizer"), t, t[1:]):
                times[name].append(z - a)
    _print_split(f"engine {config.model}", _median_ms(times), b,
                 "syncs: none per step (the loss is read only at ~10/s events; the CPU has no device queue)")
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
        for _ in range(3):
            idx = torch.randint(0, n, (b,), generator=ctx.gen)
            x, y = ctx.pipeline.train_batch(ctx.data.train.x[idx], ctx.data.train.y[idx], ctx.gen)
            ctx.criterion(ctx.forward(x), y).backward()
            ctx.optimizer.step()
            ctx.optimizer.zero_grad(set_to_none=True)
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=10, max_name_column_width=40))


def profile_reference(model: str, folder: Path, batch: int, steps: int) -> None:
    """The usual loop's step: waiting for the DataLoader's next batch, then forward / backward / optimizer."""
    import torchvision
    import torchvision.transforms as T

    from engine.models.registry import get_spec

    tf = T.Compose([T.RandomCrop(32, padding=4), T.RandomHorizontalFlip(), T.ToTensor(),
                    T.Normalize((0.49, 0.48, 0.45), (0.25, 0.24, 0.26))])
    data = torchvision.datasets.ImageFolder(str(folder / "train"), transform=tf)
    loader = torch.utils.data.DataLoader(data, batch_size=batch, shuffle=True, num_workers=2, drop_last=True)
    net = get_spec(model).build(10, 3, 32).train()
    opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
    crit = torch.nn.CrossEntropyLoss()
    times: dict[str, list[float]] = defaultdict(list)
    it, done = iter(loader), 0
    while done < steps + 2:
        t0 = time.perf_counter()
        try:
            xb, yb = next(it)
        except StopIteration:
            it = iter(loader)
            continue
        t1 = time.perf_counter()
        loss = crit(net(xb), yb)
        t2 = time.perf_counter()
        loss.backward()
        t3 = time.perf_counter()
        opt.step()
        opt.zero_grad(set_to_none=True)
        t4 = time.perf_counter()
        if done >= 2:
            for name, a, z in (("data (waiting)", t0, t1), ("forward", t1, t2), ("backward", t2, t3),
                               ("optimizer", t3, t4)):
                times[name].append(z - a)
        done += 1
    _print_split(f"reference {model}", _median_ms(times), batch,
                 "the 2 loader workers decode and transform on the same 2 cores the step runs on")


def _print_split(title: str, ms: dict[str, float], batch: int, note: str) -> None:
    total = sum(ms.values())
    parts = ", ".join(f"{k} {v:.1f} ms ({100 * v / total:.0f}%)" for k, v in ms.items())
    print(f"  {title}: {total:.1f} ms a step of {batch} ({1000 * batch / total:.0f} img/s): {parts}\n    {note}")


RSS_CHILD = """
import resource, subprocess, sys
subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


RSS_GOAL_MB = 1200.0
"""A CIFAR-10 run of the fast preset, peak resident (torch's import alone is ~650 MB of it)."""


def peak_rss(quick: bool) -> list[dict]:
    """Peak RSS of a whole `fast` run on CIFAR-10 (JPEG q75) through the CLI, and the dataset's resident bytes."""
    from engine.config import RunConfig
    from engine.data.load import load_config_dataset

    if not DATA.is_file():
        print(f"peak RSS: skipped, {DATA} is absent")
        return []
    limit = ["--train-limit", "1000"] if quick else []
    with tempfile.TemporaryDirectory() as runs:
        cmd = [sys.executable, "-m", "tui", "--no-ui", "--preset", "fast", "--dataset", "folder", "--data-dir",
               str(DATA), "--epochs", "1", *limit, "--device", "cpu", "--runs-dir", runs]
        t0 = time.perf_counter()
        out = subprocess.run([sys.executable, "-c", RSS_CHILD, *cmd], cwd=ROOT, check=True, text=True,
                             capture_output=True, env={**__import__("os").environ, "PYTHONPATH": str(ROOT)})
        rss_mb = int(out.stdout.split()[-1]) * 1024 / 1e6  # ru_maxrss is in KiB on Linux
        data = load_config_dataset(RunConfig(dataset="folder", data_dir=str(DATA), runs_dir=runs))
    splits = {"train": data.train, "val": data.val, "test": data.test}
    nbytes = {k: s.x.nbytes for k, s in splits.items() if s is not None}
    dtypes = {str(s.x.dtype) for s in splits.values() if s is not None}
    train_mb = (nbytes["train"] + nbytes.get("val", 0)) / 1e6
    print(f"\npeak RSS of `{' '.join(cmd[1:])}` on CIFAR-10 (JPEG q75): {rss_mb:.0f} MB "
          f"({time.perf_counter() - t0:.0f} s); the dataset it loads holds "
          f"{', '.join(f'{k} {v / 1e6:.1f} MB' for k, v in nbytes.items())} as {'/'.join(sorted(dtypes))} "
          f"(float32 would be 4x: {4 * sum(nbytes.values()) / 1e6:.0f} MB)")
    return [
        dict(benchmark="rss", target="peak RSS, fast preset, CIFAR-10 run", measured=round(rss_mb, 1),
             goal=RSS_GOAL_MB, unit="MB", higher_is_better=False, met=rss_mb <= RSS_GOAL_MB,
             note="fast, 1 epoch, the whole dataset decoded and loaded" + (", --train-limit 1000" if quick else "")),
        dict(benchmark="rss", target="CIFAR-10 train set resident (uint8)", measured=round(train_mb, 1),
             goal=153.6, unit="MB", higher_is_better=False, met=dtypes == {"uint8"} and train_mb <= 153.6 * 1.01,
             note="50,000 x 32 x 32 x 3 bytes = 153.6 MB (train + val); 614 MB as float32"),
    ]


def write_json(path: Path, rows: list[dict]) -> None:
    path.write_text(json.dumps(rows, indent=1) + "\n")


CHOICES = {  # name -> (memory format, optimizer kwargs): what engine.device.accel could pick on the CPU
    "contiguous, for-loop SGD": (torch.contiguous_format, {"foreach": False}),
    "channels_last, for-loop SGD": (torch.channels_last, {"foreach": False}),
    "channels_last, foreach SGD": (torch.channels_last, {"foreach": True}),
    "channels_last, fused SGD": (torch.channels_last, {"fused": True}),
}


def cpu_choices(model: str, batch: int, repeats: int, steps: int) -> None:
    """Step time of each memory format / optimizer choice, interleaved, medians: why engine.device.accel picks what it does."""
    from engine.models.registry import get_spec

    times: dict[str, list[float]] = defaultdict(list)
    y = torch.randint(0, 10, (batch,))
    for rep in range(repeats):
        names = list(CHOICES)
        for name in names[rep % len(names):] + names[: rep % len(names)]:
            fmt, kw = CHOICES[name]
            torch.manual_seed(0)
            net = get_spec(model).build(10, 3, 32).to(memory_format=fmt).train()
            opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4, **kw)
            x = torch.randn(batch, 3, 32, 32).contiguous(memory_format=fmt)
            for step in range(steps + 1):  # the first step warms up oneDNN's kernels: not counted
                t0 = time.perf_counter()
                torch.nn.functional.cross_entropy(net(x), y).backward()
                opt.step()
                opt.zero_grad(set_to_none=True)
                if step:
                    times[name].append(time.perf_counter() - t0)
    base = statistics.median(times[next(iter(CHOICES))])
    print(f"  {model}, batch {batch}, {repeats} interleaved repeats of {steps} steps, median step time:")
    for name, ts in times.items():
        med = statistics.median(ts)
        print(f"    {name:<30}{1000 * med:8.1f} ms  {base / med:5.2f}x the first")
