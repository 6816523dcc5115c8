"""What benchmarks/replicate.py runs: each preset's budget here, the experiments that test a gap, the GPU set.

A *key* names one row or one experiment and is the folder its runs go under
(``RUNS/<key>/``): a preset's name for its row, ``preset@label`` for an
experiment on it. The report reads the newest finished run under each key.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Job:
    key: str
    preset: str
    flags: tuple[str, ...] = ()
    budget: str = "full (the preset's own)"
    """Said in the table: the preset's own budget, or what was cut and why."""
    question: str = ""
    """For an experiment: the hypothesis about the gap that this run tests."""
    from_key: str | None = None
    """A linear probe trains on the frozen features of this key's finished run (--from)."""
    pca: bool = False
    """Measure its features' spread as study 001 does: the variance its first principal components hold."""

    full_budget: bool = True
    """False where the preset's own budget was cut (the table says how): a number that cannot match the study's."""


# The CPU rows at their full budgets. 001's AlexNets train at about 100 img/s here (5 epochs of 45,000 images:
# ~45 min each), so they need no cut; their probes reuse the run's own budget on its frozen features.
CPU_ROWS: tuple[Job, ...] = (
    Job("004-mlp", "004-mlp"),
    Job("004-mlp-deep-wide", "004-mlp-deep-wide"),
    Job("004-cnn-bn-dropout", "004-cnn-bn-dropout"),
    Job("004-vgg-style", "004-vgg-style"),
    Job("003-smallcnn", "003-smallcnn"),
    Job("002-alexnet-cifar", "002-alexnet-cifar"),
    Job("001-alexnet", "001-alexnet", pca=True),
    Job("001-alexnet-skip", "001-alexnet-skip", pca=True),
    Job("001-alexnet-linear-probe", "001-alexnet-linear-probe", from_key="001-alexnet"),
    Job("001-alexnet-skip-linear-probe", "001-alexnet-skip-linear-probe", from_key="001-alexnet-skip"),
)

# Runs that test an explanation of a gap: the same preset with one thing changed.
EXPERIMENTS: tuple[Job, ...] = (
    Job("004-mlp@standardize", "004-mlp", ("--normalize", "standardize"),
        question="do standardised inputs (our old default) explain the MLP's gap?"),
    Job("004-mlp-deep-wide@standardize", "004-mlp-deep-wide", ("--normalize", "standardize"),
        question="do standardised inputs explain the deep-wide MLP's gap?"),
    Job("004-mlp-deep-wide@batch32", "004-mlp-deep-wide", ("--batch-size", "32"),
        question="Keras fit's default batch (32): twice the steps, does the deep-wide MLP overfit into a lower test?"),
    Job("004-mlp@batch32", "004-mlp", ("--batch-size", "32"),
        question="the plain MLP with Keras fit's default batch (32), to compare with the deep-wide one"),
    Job("004-mlp@raw", "004-mlp", ("--normalize", "raw"),
        question="unscaled 0-255 pixels (a notebook that skipped /255): does the plain MLP survive them?"),
    Job("004-mlp-deep-wide@raw", "004-mlp-deep-wide", ("--normalize", "raw"),
        question="unscaled 0-255 pixels: does the deep-wide MLP fall below the plain one, as in the study?"),
    Job("004-mlp-deep-wide@epochs60", "004-mlp-deep-wide", ("--epochs", "60"),
        question="three times as long (the study states no epoch count): does the deep-wide MLP overfit below?"),
    Job("004-mlp@epochs60", "004-mlp", ("--epochs", "60"),
        question="the plain MLP three times as long, to compare with the deep-wide one"),
    Job("001-alexnet@unit", "001-alexnet", ("--normalize", "unit"),
        question="pixels scaled to [0, 1] only (no per-channel standardising): does SGD start slower, "
                 "to the study's 48.92% at 5 epochs?"),
    Job("001-alexnet-skip@unit", "001-alexnet-skip", ("--normalize", "unit"),
        question="the skip model on [0, 1] pixels: does it start slower, to the study's 55.27%?"),
    Job("001-alexnet@signed", "001-alexnet", ("--normalize", "signed"),
        question="pixels in [-1, 1] (PyTorch's CIFAR-10 tutorial's Normalize(0.5, 0.5)): between standardised and "
                 "[0, 1] inputs, does SGD reach the study's 48.92% at 5 epochs?"),
    Job("001-alexnet-skip@signed", "001-alexnet-skip", ("--normalize", "signed"),
        question="the skip model on [-1, 1] pixels: the study's 55.27%?"),
)

# Need ImageNet weights or hours of GPU: `replicate.py --gpu` runs them at full budget on official CIFAR-10.
GPU_PRESETS: tuple[str, ...] = (
    "000-alexnet-feature-extract", "000-alexnet-finetune", "000-alexnet-scratch", "003-resnet18-transfer",
    "003-resnet18-cifar-basic", "003-resnet18-cifar-final", "004-mobilenet-v2-frozen",
    "004-mobilenet-v2-two-phase", "004-resnet50", "004-resnet50-final",
)
# Here, each of them on a small budget that only proves the recipe trains (weights made locally, random).
PROOF_FLAGS = ("--train-limit", "1000", "--test-limit", "1000", "--val-split", "500", "--epochs", "1")
PROOF_BUDGET = "proof: 1,000 images, 1 epoch, random weights"


# A two-phase recipe proves itself only if its second phase (the unfreezing) runs too: one epoch each.
PROOF_EXTRA = {"004-mobilenet-v2-two-phase": ("--epochs", "2", "--phase2-epoch", "2")}


def proof_jobs() -> tuple[Job, ...]:
    return tuple(Job(f"{p}@proof", p, PROOF_FLAGS + PROOF_EXTRA.get(p, ()),
                     PROOF_BUDGET.replace("1 epoch", "1 epoch per phase") if p in PROOF_EXTRA else PROOF_BUDGET,
                     full_budget=False) for p in GPU_PRESETS)


@dataclass(frozen=True)
class Plan:
    rows: tuple[Job, ...] = CPU_ROWS
    experiments: tuple[Job, ...] = EXPERIMENTS
    extra: tuple[Job, ...] = field(default_factory=proof_jobs)

    def all(self) -> tuple[Job, ...]:
        return self.rows + self.experiments + self.extra

    def find(self, key: str) -> Job:
        for job in self.all():
            if job.key == key:
                return job
        raise KeyError(key)
