"""RunConfig: the one frozen description of a training run.

Everything that decides what a run does lives here, is validated before any
work starts, and is saved verbatim in ``config.json`` so a run can be
reproduced, compared and resumed.
"""
from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass, field, fields
from typing import Any

from engine.data import registry as dataset_registry


class UserError(Exception):
    """Bad input from the user: shown as one line, exit code 2, no traceback."""


class ConfigError(UserError):
    """A RunConfig field has a value that cannot work; ``field`` names it when one field is to blame."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


DATASETS = dataset_registry.NAMES
STRATEGIES = ("scratch", "feature-extract", "finetune", "two-phase", "linear-probe")
PRETRAINED_STRATEGIES = ("feature-extract", "finetune", "two-phase")
"""The strategies that start from ImageNet weights (and so feed the ImageNet normalisation)."""
OPTIMIZERS = ("sgd", "adam", "adamw")
SCHEDULES = ("none", "cosine", "step", "onecycle", "plateau")
NORMALIZE = ("standardize", "unit", "signed", "raw")
DEVICES = ("auto", "cpu", "cuda", "mps")
TTA_LEVELS = (0, 1, 2)
# Training images of each dataset (the official files; synthetic is generated at this size).
TRAIN_IMAGES = {s.name: s.train_images for s in dataset_registry.DATASETS.values() if s.train_images}
# The run id is <timestamp>-<model>-<strategy>-<name> and must stay a valid file name (255 bytes) with room to spare.
MAX_NAME = 64
# Validation images held out when --val-split is not given: sets of 50k+ training images give 5,000,
# smaller ones (synthetic, most image folders) 10% of their training images.
DEFAULT_VAL_IMAGES = 5_000
DEFAULT_VAL_FRACTION = 0.1


def default_val_split(n_train: int) -> int:
    """The validation images held out when --val-split is not given, for a set of n_train training images."""
    if n_train >= 10 * DEFAULT_VAL_IMAGES:
        return DEFAULT_VAL_IMAGES
    return max(1, int(n_train * DEFAULT_VAL_FRACTION))


def input_scaling(strategy: str, normalize: str) -> str:
    """How a run's pixels are scaled: 'imagenet' for the pretrained strategies (their features expect
    ImageNet's mean and std, so --normalize does not apply), else its --normalize."""
    return "imagenet" if strategy in PRETRAINED_STRATEGIES else normalize


RUNS_DIR_ENV = "CIFAR_TUI_RUNS_DIR"
DEFAULT_RUNS_DIR = "saved_runs"


def default_runs_dir() -> str:
    """The runs directory every command uses unless told otherwise: $CIFAR_TUI_RUNS_DIR, else ./saved_runs."""
    return os.environ.get(RUNS_DIR_ENV) or DEFAULT_RUNS_DIR


@dataclass(frozen=True)
class RunConfig:
    """Every knob of one training run. Frozen: derive new ones with ``replace``."""

    dataset: str = "cifar10"
    """Dataset name: cifar10, cifar100, fashion-mnist, synthetic, or folder (your own images: --data-dir)."""
    data_dir: str | None = None
    """Where the dataset lives (unset: the dataset's default location); for folder: DIR with train/<class>/* and test/<class>/*, or a .tar/.tar.gz of it."""
    folder_size: int = 32
    """folder: side in pixels the images are stored at (others are resized once, then cached)."""
    download: bool = True
    """Download CIFAR when it is missing (needs internet)."""
    model: str = "cnn"
    """A registry name (``cifar-tui models``), a torchvision model name (efficientnet_b0, ...), timm/NAME, or your own code: FILE.py:Name or package.module:Name."""
    head: str | None = None
    """Dotted path of the model's head, which feature-extract trains and a linear probe replaces (unset: the registry's, else the last Linear layer the forward pass calls)."""
    strategy: str = "scratch"
    """scratch, feature-extract, finetune, two-phase or linear-probe."""
    weights: str | None = None
    """Pretrained weights file (state dict); unset: torchvision's cache."""
    from_run: str | None = None
    """A saved run whose trained weights start this one (linear-probe)."""
    image_size: int | None = None
    """Input size fed to the model; unset: the model's own (e.g. 224 for AlexNet)."""
    normalize: str = "standardize"
    """How pixels become inputs (scratch and linear-probe runs): standardize (each channel's training mean and std, as torchvision recipes do), unit (pixels / 255 only, as Keras notebooks do), signed (pixels / 255 mapped to [-1, 1] by Normalize(0.5, 0.5), as PyTorch's CIFAR-10 tutorial does) or raw (the 0-255 values as they are, as a notebook that forgot to scale does); pretrained strategies always use ImageNet's statistics."""

    epochs: int = 10
    """Number of passes over the training set."""
    batch_size: int = 128
    """Images per optimisation step."""
    optimizer: str = "sgd"
    """sgd, adam or adamw."""
    lr: float = 0.05
    """Peak learning rate."""
    momentum: float = 0.9
    """SGD momentum."""
    nesterov: bool = False
    """Use Nesterov momentum with SGD."""
    weight_decay: float = 5e-4
    """L2 / decoupled weight decay."""
    schedule: str = "cosine"
    """Learning-rate schedule: none, cosine, step, onecycle or plateau."""
    warmup_epochs: float = 0.0
    """Linear warm-up length in epochs (cosine and step schedules)."""
    label_smoothing: float = 0.0
    """Cross-entropy label smoothing in [0, 1)."""
    lookahead: int = 0
    """Lookahead (Zhang et al. 2019): every this many steps a slow copy of the weights moves half way to them and they restart from it (0: off; 5 is usual)."""
    phase2_epoch: int = 0
    """two-phase: epoch (1-based) at which the backbone is unfrozen; 0 = half way."""
    phase2_lr: float = 1e-5
    """two-phase: learning rate once the backbone is unfrozen."""
    early_stop_patience: int = 0
    """Stop when validation accuracy has not improved for this many epochs (0: off)."""
    plateau_patience: int = 2
    """plateau schedule: halve the learning rate after this many epochs without a better validation accuracy."""

    crop: bool = True
    """Random crop after zero padding (4 px at 32 px, scaled with image size)."""
    flip: bool = True
    """Random horizontal flip."""
    alternating_flip: bool = False
    """With --flip: mirror each image on every other epoch (a seeded random half on odd epochs, the rest on even ones) instead of a coin toss each time."""
    crop_padding: int = 0
    """Random crop: pixels of zero padding each side (0: an eighth of the side, 4 at 32 px)."""
    cutout: int = 0
    """Cutout square size in pixels (0: off)."""
    mixup: float = 0.0
    """MixUp alpha (0: off)."""
    randaugment: int = 0
    """RandAugment: number of ops per image (0: off)."""
    randaugment_magnitude: int = 9
    """RandAugment magnitude, 0..30."""
    rotate: float = 0.0
    """Random rotation: up to this many degrees either way, reflected edges (0: off)."""
    translate: float = 0.0
    """Random translation: up to this fraction of the side in x and y, reflected edges (0: off)."""
    zoom: float = 0.0
    """Random zoom: scale in [1 - zoom, 1 + zoom], reflected edges (0: off)."""
    tta: int = 0
    """Test-time augmentation at every evaluation (validation, test, stored predictions): 0 off, 1 the mean of the image's and its mirror's logits, 2 also both shifted 1 px diagonally each way (6 views)."""

    train_limit: int | None = None
    """Use a stratified subset of this many training images."""
    test_limit: int | None = None
    """Use a stratified subset of this many test images."""
    val_split: int | None = None
    """Training images held out for validation, which alone picks the best epoch, early-stops and drives plateau; unset: 5000 (CIFAR, Fashion-MNIST) or 10% (smaller sets); 0: none, then best.pt is the last epoch."""

    seed: int = 0
    """Seed for weights, shuffling, splits and augmentation."""
    device: str = "auto"
    """auto, cpu, cuda or mps."""
    amp: bool = True
    """bf16 autocast on CUDA; ignored on the CPU, where bf16 without native support is slower (CIFAR_TUI_CPU_AMP=1 forces it)."""
    channels_last: bool = True
    """channels_last memory format on CUDA and the CPU."""
    compile: bool = False
    """torch.compile the model (CUDA or CPU; the CPU needs a C++ compiler); the first epoch pays the compile."""
    eval_batch_size: int = 512
    """Images per evaluation forward pass."""
    feature_cache: bool = True
    """Compute a frozen backbone's features once per image (both flip views) and train the head on them; needs no augmentation but flip."""
    sync_bn: bool = False
    """Under torchrun on GPUs: BatchNorm statistics over the global batch (SyncBatchNorm) instead of each rank's share."""
    dist_timeout: float = 300.0
    """Under torchrun: seconds a process waits for the others at a collective before the run fails (a dead or hung rank)."""

    runs_dir: str = field(default_factory=lambda: default_runs_dir())
    """Where runs are saved ($CIFAR_TUI_RUNS_DIR, else ./saved_runs)."""
    name: str | None = None
    """Optional suffix for the run id: at most 64 letters, digits, '-', '_' or '.'."""
    preset: str | None = None
    """Start from this preset's settings (``cifar-tui presets`` lists them); other flags override it."""
    checkpoints: bool = True
    """Save last.pt / best.pt each epoch."""
    predictions: bool = True
    """Store each epoch's test-set predictions (top-5 classes and scores, ~17 bytes an image) for the drill-down."""
    tensorboard: bool = True
    """Write TensorBoard event files under RUN/tensorboard/ as it trains (tensorboard --logdir saved_runs; wandb sync --sync-tensorboard)."""

    extra: dict[str, Any] = field(default_factory=dict)
    """Free-form metadata (e.g. a preset's study and reported accuracy)."""

    def validate(self) -> "RunConfig":
        """Raise ConfigError naming the first field that cannot work."""
        _check_finite(self)  # first: NaN slips through every range check below (nan < 0 is False)
        _check_choice("dataset", self.dataset, DATASETS)
        _check_choice("strategy", self.strategy, STRATEGIES)
        _check_choice("optimizer", self.optimizer, OPTIMIZERS)
        _check_choice("schedule", self.schedule, SCHEDULES)
        _check_choice("normalize", self.normalize, NORMALIZE)
        _check_choice("device", self.device, DEVICES)
        _positive("epochs", self.epochs)
        _positive("batch_size", self.batch_size)
        _positive("eval_batch_size", self.eval_batch_size)
        if self.dist_timeout <= 0:
            raise ConfigError(f"dist_timeout must be > 0 seconds, got {self.dist_timeout:g}", field="dist_timeout")
        if not self.lr > 0:
            raise ConfigError(f"lr must be > 0, got {self.lr}")
        if not 0 <= self.label_smoothing < 1:
            raise ConfigError(f"label_smoothing must be in [0, 1), got {self.label_smoothing}")
        for name in ("weight_decay", "momentum", "warmup_epochs", "mixup", "phase2_lr"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name} must be >= 0, got {getattr(self, name)}")
        for name in ("cutout", "randaugment", "val_split", "early_stop_patience", "phase2_epoch", "crop_padding"):
            if (getattr(self, name) or 0) < 0:
                raise ConfigError(f"{name} must be >= 0, got {getattr(self, name)}")
        self._validate_selection()
        self._validate_fast()
        self._validate_augment()
        self._validate_sizes()
        if self.strategy == "linear-probe" and not self.from_run:
            raise ConfigError("strategy linear-probe needs --from RUN (a saved run to probe)")
        if self.name is not None:
            _check_name(self.name)
        return self

    def _validate_augment(self) -> None:
        """The augmentations' strengths are in their ranges."""
        if not 0 <= self.randaugment_magnitude <= 30:
            raise ConfigError("randaugment_magnitude must be in 0..30")
        if not 0 <= self.rotate <= 180:
            raise ConfigError(f"rotate must be in 0..180 degrees, got {self.rotate}")
        for name in ("translate", "zoom"):
            if not 0 <= getattr(self, name) < 1:
                raise ConfigError(f"{name} must be in [0, 1), got {getattr(self, name)}")

    def _validate_sizes(self) -> None:
        """Image counts and the input size a model can be given."""
        for name in ("train_limit", "test_limit"):
            value = getattr(self, name)
            if value is not None and value < 10:
                raise ConfigError(f"{name} must be at least 10 (one image per class), got {value}")
        if self.image_size is not None and not 8 <= self.image_size <= 1024:
            raise ConfigError(f"image_size must be in 8..1024, got {self.image_size}")

    def _validate_selection(self) -> None:
        """The validation split fits the dataset, and what needs one has one."""
        known = TRAIN_IMAGES.get(self.dataset)
        if self.val_split and known and self.val_split >= known:
            raise ConfigError(f"--val-split {self.val_split} leaves no training images ({self.dataset} has "
                              f"{known}); use a smaller --val-split", field="val_split")
        if self.val_split == 0 and self.early_stop_patience:
            raise ConfigError("--early-stop-patience needs a validation split (never the test set); "
                              "drop --val-split 0", field="early_stop_patience")
        if self.val_split == 0 and self.schedule == "plateau":
            raise ConfigError("the plateau schedule needs a validation split (never the test set); "
                              "drop --val-split 0 or pick another --schedule", field="schedule")
        if not 1 <= self.plateau_patience <= 100:
            raise ConfigError(f"plateau_patience must be in 1..100, got {self.plateau_patience}")
        if self.dataset == "folder" and not self.data_dir:
            raise ConfigError("--dataset folder needs --data-dir DIR (train/<class>/* and test/<class>/*, "
                              "or a .tar.gz of them)", field="data_dir")
        if not 8 <= self.folder_size <= 1024:
            raise ConfigError(f"folder_size must be in 8..1024, got {self.folder_size}")

    def _validate_fast(self) -> None:
        """The time-to-accuracy options (the ``fast`` preset's): each in range, and meaningful together."""
        if not 0 <= self.lookahead <= 1000:
            raise ConfigError(f"lookahead must be in 0..1000 steps (0: off), got {self.lookahead}", field="lookahead")
        if self.tta not in TTA_LEVELS:
            raise ConfigError(f"tta must be 0 (off), 1 (flip) or 2 (flip and 1-px shifts), got {self.tta}", field="tta")
        if self.alternating_flip and not self.flip:
            raise ConfigError("--alternating-flip decides when each image is flipped: it needs --flip",
                              field="alternating_flip")
        if self.crop_padding > 64:
            raise ConfigError(f"crop_padding must be in 0..64 pixels, got {self.crop_padding}", field="crop_padding")

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict of every field."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "RunConfig":
        """Build from a dict, ignoring unknown keys (older/newer run files)."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    def replace(self, **changes: Any) -> "RunConfig":
        """A copy with some fields changed."""
        return dataclasses.replace(self, **changes)


# The fields by theme (one order for --help and the launcher's advanced section).
FIELD_GROUPS: dict[str, tuple[str, ...]] = {
    "what": ("dataset", "data_dir", "folder_size", "download", "model", "head", "strategy", "weights", "from_run",
             "image_size", "normalize", "preset"),
    "optimisation": ("epochs", "batch_size", "optimizer", "lr", "momentum", "nesterov", "weight_decay", "schedule",
                     "warmup_epochs", "label_smoothing", "lookahead", "phase2_epoch", "phase2_lr", "early_stop_patience",
                     "plateau_patience"),
    "augmentation (batched, on the device)": ("crop", "crop_padding", "flip", "alternating_flip", "cutout", "mixup",
                                              "randaugment", "randaugment_magnitude", "rotate", "translate", "zoom",
                                              "tta"),
    "data size": ("train_limit", "test_limit", "val_split"),
    "hardware": ("seed", "device", "amp", "channels_last", "compile", "eval_batch_size", "feature_cache"),
    "saving": ("runs_dir", "name", "checkpoints", "predictions", "tensorboard"),
    "several processes (torchrun, --no-ui)": ("sync_bn", "dist_timeout"),
}
# The fields whose value is one of a fixed list.
FIELD_CHOICES: dict[str, tuple[str, ...]] = {
    "dataset": DATASETS, "strategy": STRATEGIES, "optimizer": OPTIMIZERS, "schedule": SCHEDULES, "device": DEVICES,
    "normalize": NORMALIZE,
}


def field_docs() -> dict[str, str]:
    """Field name -> the docstring under it (used by --help and the launcher)."""
    import ast
    import inspect

    tree = ast.parse(inspect.getsource(RunConfig))
    body = tree.body[0].body  # type: ignore[attr-defined]
    docs: dict[str, str] = {}
    for node, nxt in zip(body, body[1:]):
        if isinstance(node, ast.AnnAssign) and isinstance(nxt, ast.Expr):
            value = getattr(nxt, "value", None)
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                docs[node.target.id] = value.value  # type: ignore[union-attr]
    return docs


def _check_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ConfigError(f"unknown {name} {value!r}; choose one of: {', '.join(choices)}")


def _positive(name: str, value: int) -> None:
    if value < 1:
        raise ConfigError(f"{name} must be >= 1, got {value}")


def _check_finite(config: RunConfig) -> None:
    """Every float setting must be a real number: inf/nan would reach the optimiser or schedule and
    fail (or silently train garbage) only after the run directory exists."""
    for f in fields(config):
        value = getattr(config, f.name)
        if isinstance(value, float) and not math.isfinite(value):
            flag = "--" + f.name.replace("_", "-")
            raise ConfigError(f"{f.name} must be a finite number, got {value}; pass a real number to {flag} "
                              f"(default {f.default})", field=f.name)


def _check_name(name: str) -> None:
    if len(name) > MAX_NAME:
        raise ConfigError(f"name is {len(name)} characters long; use at most {MAX_NAME}", field="name")
    if not _safe_name(name):
        raise ConfigError(f"name {name!r} may only hold letters, digits, '-', '_' and '.'", field="name")


def _safe_name(name: str) -> bool:
    return bool(name) and all(c.isalnum() or c in "-_." for c in name) and name[0] != "."
