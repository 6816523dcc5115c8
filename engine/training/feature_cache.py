"""Frozen backbones: their features computed once per distinct input, the head trained on the cache.

With a frozen backbone (feature-extract, two-phase before its switch,
linear-probe) every epoch feeds the same images through the same frozen
layers. On study 000's AlexNet or study 004's MobileNetV2 that frozen forward
pass is most of an epoch, so the run computes it once, stores what leaves the
frozen part, and trains the head on the stored features.

Why this is exact, not an approximation:

- ``Plan.train_mode`` keeps every frozen module in eval mode: BatchNorm uses
  its running statistics (no batch statistics, nothing updated) and Dropout is
  off. The frozen part is therefore a fixed per-image function. A Dropout that
  trains (AlexNet's, inside ``classifier``; MobileNetV2's head) sits after the
  cut: it runs on every step, in train mode, as without the cache.
- The flip is the only augmentation allowed, and each image then has exactly
  two inputs: both views are computed. Crop, cutout, MixUp, RandAugment and
  rotate/translate/zoom make a new input every epoch: the cache is refused and
  the log says which setting to change.
- The cached step draws the permutation and the flip decisions from the same
  generator, in the same order, as the pipeline would, so a cached run sees the
  same inputs in the same order and draws the same dropout masks. What differs
  is rounding: the build's batches are not the steps' batches, and fp16 storage
  where it is exact enough (``_Store._check``; else fp32, and the log says which).
- Nothing here is checkpointed: a resumed run rebuilds the cache from the frozen
  weights (which never change) and the same images, bit for bit the same, and
  the build draws no random numbers, so resume stays exact.

Where the model is cut, and how that is checked: engine.training.feature_cut.
"""
from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, Callable

import torch
import torch.nn as nn
import torch.nn.functional as F

from engine.device import accel
from engine.events import Log, PhaseTicker
from engine.training.feature_cut import Cut, find_cut, input_of, replaced, side_effect_free

if TYPE_CHECKING:
    from engine.config import RunConfig
    from engine.training.context import Context

FP16_MAX = 65504.0
FP16_TOLERANCE = 1e-3
"""fp16 storage while its rounding stays within this share of the largest feature and moves the head's
loss on the first batch by at most this (relative) against fp32."""
CPU_BUILD_BATCH = 32
"""Images per pass of the build off the GPU: bigger batches spill the CPU's caches (MobileNetV2 at 96 px
runs ~3.5 ms an image in batches of 32, ~5 in 64s, ~9 in 512s on 2 cores)."""
MEMORY_SHARE = 0.5
"""The cache may take at most this share of the device's free memory (else it is refused)."""

# Settings that change the backbone's input every epoch, what they do, and how to turn them off.
_AUGMENTATIONS: tuple[tuple[str, str, str], ...] = (
    ("crop", "random crop", "--no-crop"),
    ("cutout", "cutout", "--cutout 0"),
    ("mixup", "MixUp", "--mixup 0"),
    ("randaugment", "RandAugment", "--randaugment 0"),
    ("rotate", "random rotation", "--rotate 0"),
    ("translate", "random translation", "--translate 0"),
    ("zoom", "random zoom", "--zoom 0"),
)


def refusal(config: "RunConfig") -> str | None:
    """Why a frozen backbone's features cannot be cached under this config (None: they can)."""
    if not config.feature_cache:
        return "turned off (--no-feature-cache)"
    if config.alternating_flip:  # the cache draws coin-toss flips; alternating ones it does not know
        return "--alternating-flip is not cached; --no-alternating-flip enables it"
    if config.tta:  # the cached evaluation bypasses the model, and with it the TTA views
        return "test-time augmentation (--tta) evaluates views the cache does not hold; --tta 0 enables it"
    on = [(what, flag) for name, what, flag in _AUGMENTATIONS if getattr(config, name)]
    if not on:
        return None
    whats, flags = ", ".join(w for w, _ in on), " ".join(f for _, f in on)
    verb = "changes" if len(on) == 1 else "change"
    return f"{whats} {verb} the backbone's input every epoch; {flags} enables it (flip alone is cached exactly)"


class _Interrupted(Exception):
    """The user stopped the run while the cache was being built."""


class FeatureCache:
    """The frozen part's features of every train image (one or two views) and of val/test; the head on them."""

    def __init__(self, model: nn.Module, cut: Cut, train: torch.Tensor, evals: dict[str, torch.Tensor],
                 flip: bool):
        self.model, self.cut, self.train, self.evals, self.flip = model, cut, train, evals, flip

    @property
    def nbytes(self) -> int:
        return sum(t.numel() * t.element_size() for t in (self.train, *self.evals.values()))

    def train_batch(self, idx: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        """The batch's features: the flip decided exactly as augment.random_flip would decide it."""
        if not self.flip:
            return self.train[0, idx].float()
        flip = torch.rand(idx.shape[0], device=idx.device, generator=gen) < 0.5
        return self.train[flip.long(), idx].float()

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        """The model's output from the stored features (only the part after the cut runs)."""
        if self.cut.kind == "input":
            return self.model.get_submodule(self.cut.path)(feats)
        with replaced(self.model, self.cut.path, nn.Identity()):
            return self.model(feats)

    def eval_outputs(self, split: str) -> Callable[[int, int], torch.Tensor]:
        """For engine.training.loop.evaluate: the outputs of rows i:j of a val/test split."""
        feats = self.evals[split]
        return lambda i, j: self.forward(feats[i:j].float())


# ----------------------------------------------------------------------------- building


def at_epoch_start(ctx: "Context", epoch: int) -> float:
    """Turn the cache on (once per session, when it applies) or off (two-phase unfrozen); log why.

    Returns the seconds spent building it (0.0 when nothing was built).
    """
    if ctx.plan.switched:
        if ctx.feature_cache is not None:
            ctx.feature_cache = None  # the backbone trains now: its features change every step
            ctx.emit(Log("info", f"feature cache off from epoch {epoch}: the backbone trains now"))
        return 0.0
    if ctx.feature_cache_decided:
        return 0.0
    ctx.feature_cache_decided = True
    if not ctx.plan.frozen:
        return 0.0  # scratch and finetune: nothing frozen, nothing to cache
    t0 = time.perf_counter()
    reason = refusal(ctx.config)
    if reason is None and ctx.dist.active:
        # The head would train outside DistributedDataParallel (no gradient all-reduce), and every
        # rank would compute every feature: one process with the cache beats N without it anyway.
        reason = "not under torchrun (run the frozen-backbone job in one process to use it)"
    if reason is None:
        ctx.feature_cache, reason = build(ctx)
    if reason:
        ctx.emit(Log("info", f"feature cache off: {reason}"))
    return time.perf_counter() - t0


def build(ctx: "Context") -> tuple[FeatureCache | None, str | None]:
    """Run the frozen part once over every distinct input; (cache, None) or (None, why not)."""
    data, views = ctx.data, 2 if ctx.config.flip else 1
    sample = ctx.pipeline.eval_batch(data.train.x[:2])
    cut = find_cut(ctx.model, ctx.plan, sample)
    if isinstance(cut, str):
        return None, cut
    splits = {"train": data.train, **{k: s for k, s in (("val", data.val), ("test", data.test)) if s is not None}}
    rows = sum(len(s) * (views if k == "train" else 1) for k, s in splits.items())
    need, free = rows * cut.per_image * 2, _free_bytes(ctx.device)
    if free is not None and need > MEMORY_SHARE * free:
        return None, (f"the features would take {_size(need)}, more than half of the {_size(free)} free; "
                      "use --train-limit or a smaller --image-size")
    ctx.emit(Log("info", f"feature cache: computing the frozen part's {cut.describe()} once, for "
                         f"{len(data.train):,} train images x {views} view(s) and {rows - views * len(data.train):,} "
                         "val/test images"))
    t0 = time.perf_counter()
    store = _Store(ctx, cut)
    try:
        for name, split in splits.items():
            store.fill(name, split.x, split.y, views if name == "train" else 1)
    except _Interrupted:
        return None, "stopped while computing the features"
    cache = FeatureCache(ctx.model, cut, store.tensors["train"],
                         {k: v[0] for k, v in store.tensors.items() if k != "train"}, ctx.config.flip)
    ctx.emit(Log("info", f"feature cache on: {cut.describe()}, {store.dtype_note()}; {_size(cache.nbytes)} for "
                         f"{rows:,} feature rows, built in {time.perf_counter() - t0:.1f} s"))
    return cache, None


def build_batch(ctx: "Context") -> int:
    """Images per pass of the build: the evaluation batch, capped at CPU_BUILD_BATCH off the GPU."""
    bs = ctx.config.eval_batch_size
    return bs if ctx.device.type == "cuda" else min(bs, CPU_BUILD_BATCH)


class _Store:
    """Features written split by split: fp16 unless a check (``_check``) says fp32."""

    def __init__(self, ctx: "Context", cut: Cut):
        self.ctx, self.cut = ctx, cut
        self.tensors: dict[str, torch.Tensor] = {}
        """Split name -> (views, N, *cut.shape)."""
        self.dtype: torch.dtype | None = None
        self.why = ""
        self.max_err = 0.0
        self.max_abs = 0.0
        self.loss = (math.nan, math.nan)
        """The head's loss on the first batch: fp32 features, fp16-rounded ones."""

    def fill(self, name: str, x: torch.Tensor, y: torch.Tensor, views: int) -> None:
        """Features of every image of one split, a build batch at a time: (views, N, *shape)."""
        ctx, bs = self.ctx, build_batch(self.ctx)
        ticker = PhaseTicker(ctx.emit, f"caching {name} features", views * len(x))
        for view in range(views):
            for i in range(0, len(x), bs):
                ticker.update(view * len(x) + i)
                if ctx.control.paused:
                    ctx.control.wait_while_paused()
                if ctx.control.stop_requested:
                    raise _Interrupted
                images = x[i : i + bs]
                f = self._features(images.flip(2) if view else images).float()  # NHWC: dim 2 is the width
                self._check(f, y[i : i + bs])
                if name not in self.tensors:
                    self.tensors[name] = torch.empty((views, len(x), *self.cut.shape), device=ctx.device,
                                                     dtype=self.dtype)
                self.tensors[name][view, i : i + bs] = f
        ticker.finish()

    @torch.no_grad()
    def _features(self, images: torch.Tensor) -> torch.Tensor:
        ctx, cut = self.ctx, self.cut
        ctx.model.eval()
        inputs = ctx.pipeline.eval_batch(images)  # what evaluate() feeds; the train pipeline's too, flip aside
        with accel.autocast(ctx.config, ctx.device):
            if cut.kind == "output":
                return ctx.model.get_submodule(cut.path)(inputs)
            return input_of(ctx.model, cut.path, inputs)

    def _check(self, f: torch.Tensor, y: torch.Tensor) -> None:
        """fp16 while it is exact enough: in range, rounding within 1e-3 of the largest feature (fp16 keeps
        2^-11 relative; features so small they would be fp16 subnormals fail this), and the first
        batch's head loss within FP16_TOLERANCE of fp32's. Else fp32, from here on and for what is stored."""
        self.max_abs = max(self.max_abs, f.abs().max().item())
        if self.dtype == torch.float32:
            return
        if self.max_abs > FP16_MAX:
            return self._use_fp32("a feature exceeds fp16's range")
        self.max_err = max(self.max_err, (f.half().float() - f).abs().max().item())
        if self.max_err > FP16_TOLERANCE * self.max_abs:
            return self._use_fp32(f"fp16 would round features by {self.max_err:.2g}, more than 1e-3 of the "
                                  f"largest ({self.max_abs:.3g})")
        if self.dtype is None:
            exact, rounded = self.loss = self._head_loss(f, y), self._head_loss(f.half().float(), y)
            if abs(rounded - exact) > FP16_TOLERANCE * max(abs(exact), 1e-6):
                return self._use_fp32(f"fp16 moves the head's loss from {exact:.5f} to {rounded:.5f}")
            self.dtype = torch.float16

    @torch.no_grad()
    def _head_loss(self, f: torch.Tensor, y: torch.Tensor) -> float:
        """Cross-entropy of the model (eval mode, nothing updated) from these features."""
        tail = FeatureCache(self.ctx.model, self.cut, f.unsqueeze(0), {}, False)
        with side_effect_free(self.ctx.model, f.device), accel.autocast(self.ctx.config, self.ctx.device):
            self.ctx.model.eval()
            return F.cross_entropy(tail.forward(f).float(), y).item()

    def _use_fp32(self, why: str) -> None:
        self.dtype, self.why = torch.float32, f"fp32 ({why})"
        self.tensors = {k: v.float() for k, v in self.tensors.items()}

    def dtype_note(self) -> str:
        if self.dtype != torch.float16:
            return self.why
        exact, rounded = self.loss
        return (f"fp16 (max abs error {self.max_err:.2g} on values up to {self.max_abs:.3g}; "
                f"head loss {rounded:.5f} vs {exact:.5f} in fp32)")


def _free_bytes(device: torch.device) -> int | None:
    """Free memory where the cache would live: the GPU's, else the host's available RAM (None: unknown)."""
    if device.type == "cuda":
        return int(torch.cuda.mem_get_info(device)[0])
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def _size(n: float) -> str:
    return f"{n / 2**20:.1f} MiB" if n < 2**30 else f"{n / 2**30:.2f} GiB"
