"""Every experiment of the five studies in ../shared/studies/, one named preset each.

A preset is a set of RunConfig field overrides plus where it comes from: the
study, a one-line description, and the test accuracy the study reports (a
fraction), which train() copies into summary.json so the dashboard and
``runs`` show it beside the run's own number.

Where a study is silent about a setting (often the optimizer, batch size or
epoch count) the preset still has to pick one; those fields are listed in
``assumed`` (and saved in the run's ``extra``) so a user can tell the study's
recipe from our fill-ins. Explicit command-line flags override any field.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from engine.models import facts as model_facts
from engine.config import RunConfig, UserError, input_scaling

STUDIES: dict[str, str] = {
    "000": "CIFAR-10 AlexNet: feature extraction vs fine-tuning vs from scratch",
    "001": "AlexNet on CIFAR-10: skip connections and a linear probe of the features",
    "002": "The 2012 ImageNet winner on CIFAR-10: a 32 px AlexNet",
    "003": "CIFAR-10 project: SmallCNN to CIFAR-stem ResNet18 (92.72%)",
    "004": "CIFAR-10 accuracy evolution: MLP 46.19% to ResNet50 94.38%",
    "ours": "our own recipes, not from a study: time to accuracy",
}


@dataclass(frozen=True)
class Preset:
    """One experiment of a study: config overrides and the study's reported result."""

    name: str
    study: str
    """Study id, a key of STUDIES ('000'..'004', or 'ours' for a recipe of our own)."""
    description: str
    reported_test_acc: float | None
    """Test accuracy the study reports, as a fraction; None where it reports none."""
    overrides: dict[str, Any]
    """RunConfig fields that differ from the defaults."""
    assumed: tuple[str, ...] = ()
    """Fields the study does not state: our choice, not the study's."""
    needs: str = field(default="")
    """What the user must add on the command line (e.g. '--from RUN'), if anything."""
    notes: tuple[str, ...] = ()
    """Assumptions that are not a single field (framework defaults we do not copy, layer choices)."""
    reported_at: str = "last"
    """Which epoch the study's number is measured at: 'last', or 'best' (its best-validation checkpoint)."""

    @property
    def study_title(self) -> str:
        return STUDIES[self.study]


# Study 000: torchvision AlexNet at 224 px; 40k/10k/10k split; flip only; 10 epochs.
# Its learning rates are stated, its optimizer and batch size are not: 1e-4/1e-3
# are Adam's usual values, so Adam it is.
_S000 = dict(dataset="cifar10", model="alexnet", epochs=10, val_split=10000, crop=False, flip=True,
             optimizer="adam", batch_size=128, weight_decay=0.0, schedule="none")
_A000 = ("optimizer", "batch_size", "weight_decay", "schedule")

# Study 001: SGD(momentum 0.9), lr 0.01, batch 256, 5 epochs, full 50k train; no augmentation named.
# Nor its input scaling: we standardise, as study 002 does for the same net (--normalize unit tests it).
_S001 = dict(dataset="cifar10", epochs=5, batch_size=256, optimizer="sgd", lr=0.01, momentum=0.9,
             nesterov=False, weight_decay=0.0, schedule="none", crop=False, flip=False)
_A001 = ("weight_decay", "schedule", "crop", "flip", "normalize")
# The probes' training is not described at all: the run's own optimizer, lr, batch and length are reused.
_PROBE = ("epochs", "optimizer", "lr", "batch_size")

# Study 002: Adam 1e-3, batch 128, 10 epochs, RandomCrop(32, 4) + flip, dataset mean/std.
_S002 = dict(dataset="cifar10", model="alexnet-cifar", epochs=10, batch_size=128, optimizer="adam", lr=1e-3,
             weight_decay=0.0, schedule="none", crop=True, flip=True)

# Study 003, stage 4 ("final"): every setting below is stated except the peak lr, the
# warm-up length, the early-stopping patience and where its validation set came from.
_S003_FINAL = dict(dataset="cifar10", model="resnet18-cifar", epochs=30, batch_size=384, optimizer="sgd", lr=0.2,
                   momentum=0.9, nesterov=True, weight_decay=5e-4, schedule="cosine", warmup_epochs=2.0,
                   randaugment=2, randaugment_magnitude=7, cutout=16, mixup=0.2, label_smoothing=0.1,
                   crop=True, flip=True, early_stop_patience=5, val_split=5000, amp=True)

# Study 004 reads as a Keras notebook: Adam at its default 1e-3 and a 20%
# validation split (validation_split=0.2 -> 10,000 images) are assumed throughout.
# Its inputs: pixels / 255, the Keras notebook's usual first line (the text names no standardisation).
_S004 = dict(dataset="cifar10", optimizer="adam", lr=1e-3, batch_size=64, weight_decay=0.0, schedule="none",
             val_split=10000, crop=False, flip=False, normalize="unit")
_A004 = ("optimizer", "lr", "batch_size", "weight_decay", "schedule", "val_split", "epochs", "normalize")
# Keras defaults the text implies but these presets do not copy.
_NOTES004 = ("Keras fit's default batch is 32; we use 64", "Keras initialises conv/dense layers glorot-uniform; "
             "the conv models here keep torch's default init", "Keras UpSampling2D is nearest-neighbour; we resize "
             "bilinearly")
# Stage 5 *adds* translation to stage 3's flip / rotation (0.1 turn = 36 degrees) / zoom 0.1.
_AUG004: dict[str, Any] = dict(flip=True, rotate=36.0, zoom=0.1, translate=0.1)


def _p(name: str, study: str, description: str, reported: float | None, base: dict[str, Any],
       assumed: tuple[str, ...] = (), needs: str = "", **overrides: Any) -> Preset:
    # Study 003 reports its best checkpoint (it reloads best_cifar_sgd_mixup.pt to test); the others the end.
    at = "best" if study == "003" else "last"
    notes: tuple[str, ...] = _NOTES004 if study == "004" else ()
    if overrides.get("strategy", base.get("strategy")) == "two-phase":
        notes += ("phase 2 unfreezes MobileNetV2 from features.12 on (Keras fine_tune_at=100) with BatchNorm "
                  "kept in inference mode",)
    fields = {**base, **overrides}
    if input_scaling(fields["strategy"], "") == "imagenet":  # --normalize does not apply: nothing to assume
        assumed = tuple(a for a in assumed if a != "normalize")
    return Preset(name, study, description, reported, fields, tuple(dict.fromkeys(assumed)), needs, notes, at)


_ALL = [
    # ---- 000
    _p("000-alexnet-feature-extract", "000", "ImageNet AlexNet, features frozen, new classifier trained at lr 1e-4",
       0.8378, _S000, _A000, strategy="feature-extract", lr=1e-4),
    _p("000-alexnet-finetune", "000", "ImageNet AlexNet, whole network fine-tuned at lr 1e-4 (the study's best)",
       0.8988, _S000, _A000, strategy="finetune", lr=1e-4),
    _p("000-alexnet-scratch", "000", "the same AlexNet from random weights at lr 1e-3",
       0.7461, _S000, _A000, strategy="scratch", lr=1e-3),
    # ---- 001
    _p("001-alexnet", "001", "baseline CIFAR AlexNet (no skips), SGD 0.01, 5 epochs",
       0.4892, _S001, _A001 + ("model",), model="alexnet-cifar", strategy="scratch"),
    _p("001-alexnet-skip", "001", "AlexNet with skip connections, SGD 0.01, 5 epochs",
       0.5527, _S001, _A001 + ("model",), model="alexnet-skip", strategy="scratch"),
    _p("001-alexnet-linear-probe", "001", "linear classifier on a trained 001-alexnet run's frozen conv features",
       None, _S001, _A001 + _PROBE, needs="--from RUN (a finished 001-alexnet run)",
       model="alexnet-cifar", strategy="linear-probe"),
    _p("001-alexnet-skip-linear-probe", "001", "linear classifier on a trained 001-alexnet-skip run's frozen features",
       None, _S001, _A001 + _PROBE, needs="--from RUN (a finished 001-alexnet-skip run)",
       model="alexnet-skip", strategy="linear-probe"),
    # ---- 002
    _p("002-alexnet-cifar", "002", "32 px AlexNet (3x3 convs, 3 pools, FC 4096-4096), Adam 1e-3, crop + flip",
       None, _S002, ("weight_decay", "schedule"), strategy="scratch"),
    # ---- 003
    _p("003-smallcnn", "003", "SmallCNN from scratch at 32 px with AMP: the fast baseline",
       0.8359, dict(dataset="cifar10", model="smallcnn", amp=True, crop=True, flip=True),
       ("epochs", "batch_size", "optimizer", "lr", "weight_decay", "schedule", "crop", "flip"),
       strategy="scratch", epochs=15, batch_size=256, optimizer="adamw", lr=2e-3, weight_decay=0.05,
       schedule="cosine", warmup_epochs=1.0),
    _p("003-resnet18-transfer", "003", "ImageNet ResNet18 (7x7 stem) fine-tuned at 224 px: accurate but slow (study: ~92%)",
       0.92, dict(dataset="cifar10", model="resnet18", amp=True, crop=True, flip=True),
       ("strategy", "epochs", "batch_size", "optimizer", "lr", "momentum", "weight_decay", "schedule", "crop", "flip"),
       strategy="finetune", epochs=5, batch_size=128, optimizer="sgd", lr=0.01, momentum=0.9,
       weight_decay=5e-4, schedule="cosine"),
    _p("003-resnet18-cifar-basic", "003", "CIFAR-stem ResNet18, RandAugment(1) + Cutout 16, smoothing 0.1, wd 0.02, batch 384",
       0.9240, dict(_S003_FINAL, mixup=0.0, randaugment=1, weight_decay=0.02, early_stop_patience=0),
       ("optimizer", "lr", "schedule", "warmup_epochs", "epochs", "randaugment_magnitude", "crop", "flip",
        "val_split"),
       strategy="scratch", optimizer="adamw", lr=2e-3, nesterov=False, warmup_epochs=1.0),
    _p("003-resnet18-cifar-final", "003", "CIFAR-stem ResNet18, SGD nesterov, RandAugment(2,7) + Cutout + MixUp 0.2, "
       "cosine with warm-up, early stopping", 0.9272, _S003_FINAL,
       ("lr", "warmup_epochs", "early_stop_patience", "val_split"), strategy="scratch"),
    # ---- 004
    _p("004-mlp", "004", "stage 1: MLP with Xavier init on flattened 3072-pixel inputs",
       0.4619, _S004, _A004 + ("model",), model="mlp", strategy="scratch", epochs=20),
    _p("004-mlp-deep-wide", "004", "stage 1b: deeper, wider MLP (~2.3M params) that overfits and tests worse",
       0.4289, _S004, _A004 + ("model",), model="mlp-deep-wide", strategy="scratch", epochs=20),
    _p("004-cnn-bn-dropout", "004", "stage 2: Conv + MaxPool with BatchNorm and Dropout 0.5",
       0.7071, _S004, _A004 + ("model",), model="cnn-bn-dropout", strategy="scratch", epochs=20),
    _p("004-vgg-style", "004", "stage 3: VGG-style Conv-Conv-Pool blocks with flip, rotation and zoom",
       0.7633, _S004, _A004 + ("model", "rotate", "zoom"), model="vgg-style", strategy="scratch", epochs=30,
       flip=True, rotate=36.0, zoom=0.1),
    _p("004-mobilenet-v2-frozen", "004", "stage 4: ImageNet MobileNetV2 frozen at 96 px, ~165k-param head trained",
       0.8022, _S004, _A004 + ("flip",), model="mobilenet_v2", strategy="feature-extract", epochs=10, flip=True),
    _p("004-mobilenet-v2-two-phase", "004", "stage 4b: head warm-up, then the deep layers unfrozen at lr 1e-5",
       0.8216, _S004, _A004 + ("flip", "phase2_epoch"), model="mobilenet_v2", strategy="two-phase",
       epochs=20,
       phase2_epoch=11, phase2_lr=1e-5, flip=True),
    _p("004-resnet50", "004", "stage 5: ImageNet ResNet50 at 160 px, ReduceLROnPlateau (halve), translation",
       0.9390, _S004, _A004 + ("strategy", "translate", "plateau_patience"), model="resnet50",
       strategy="finetune", epochs=10, lr=1e-4, schedule="plateau", **_AUG004),
    _p("004-resnet50-final", "004", "stage 6: + MixUp, AdamW and label smoothing (the study's best, 94.38%)",
       0.9438, _S004, _A004 + ("strategy", "translate", "mixup", "label_smoothing", "plateau_patience"),
       model="resnet50", strategy="finetune", epochs=10, optimizer="adamw", lr=1e-4, weight_decay=0.05,
       schedule="plateau", mixup=0.2, label_smoothing=0.1, **_AUG004),
]

# ---- ours: time to accuracy (benchmarks/time_to_accuracy.py), from the published ideas of the fastest CIFAR-10 trainers
# (engine/models/fast.py says which). Short runs want little regularisation beyond label smoothing: 2 px
# crops, flips that alternate per image, a high rate with warm-up, Lookahead to damp it, and flip test-time
# augmentation (+ 1-px shifts on the GPU, where 6 views cost little). No validation split: every image trains,
# and nothing in a fixed-length run needs one (no early stopping, no plateau, best.pt is the last epoch).
_FAST = dict(dataset="cifar10", strategy="scratch", batch_size=512, optimizer="sgd", lr=0.2, momentum=0.9,
             nesterov=True, weight_decay=5e-4, schedule="onecycle", label_smoothing=0.2, lookahead=5,
             crop=True, crop_padding=2, flip=True, alternating_flip=True, tta=1, val_split=0)
# On the CPU the schedule is sized to the budget: a 2-epoch run tests ~73% where the old 8-epoch one (batch
# 512, rate 0.2) needed 5 epochs for 70%. In a run this short the number of steps and the rate decide: half
# the batch (twice the steps, the same cost per image on 2 cores), a rate Lookahead can still damp (0.8, 1.0
# and 1.2 tested alike, 0.4 two points lower), and no random crops (two epochs are too few to learn from
# shifted copies: +1.5 points without them; 12 epochs keep them). The trials:
# benchmarks/results/fast_recipe_trials-cpu-1core.txt.
_FAST_CPU = dict(_FAST, model="fast", batch_size=256)
_FAST_GPU = "the GPU design target (not checked on our CPU machines): 94% on CIFAR-10 in <= 3 s on one H100"
_ALL += [
    Preset("fast", "ours", "time to accuracy on a CPU: 70% on CIFAR-10 in 2 epochs; whitened 2x2-patch stem, "
           "conv groups 32-64-128, Lookahead, alternating flip, flip TTA, no crops", None,
           dict(_FAST_CPU, epochs=2, lr=1.0, crop=False),
           notes=("sized for a few CPU cores; the GPU-sized net and recipe is the preset fast-gpu",)),
    Preset("fast-80", "ours", "the fast recipe for 80%: the same net over 12 epochs, with 2 px crops at rate 0.8 "
           "(~3 min on 2 CPU cores)", None, dict(_FAST_CPU, epochs=12, lr=0.8),
           notes=("a longer schedule of the same recipe; rate 0.8 (1.0 is tuned for 2 epochs)",)),
    Preset("fast-gpu", "ours", "the fast recipe at airbench94's widths (64-256-256), bf16 and compiled: "
           + _FAST_GPU, None, dict(_FAST, model="fast-wide", epochs=10, batch_size=1024, lr=0.4, tta=2,
                                   compile=True, amp=True),
           notes=(_FAST_GPU + "; on a CPU it trains too, several times slower than fast",)),
]

PRESETS: dict[str, Preset] = {p.name: p for p in _ALL}


def get_preset(name: str) -> Preset:
    """The preset called name; UserError listing the names otherwise."""
    try:
        return PRESETS[name]
    except KeyError:
        raise UserError(f"unknown preset {name!r}; choose one of: {', '.join(PRESETS)}") from None


def preset_config(name: str) -> dict[str, Any]:
    """RunConfig fields for a preset (merged under explicit flags by the CLI).

    ``extra`` carries the study, description and reported accuracy into
    config.json and (reported_test_acc) summary.json.
    """
    p = get_preset(name)
    extra = {"study": p.study, "study_title": p.study_title, "description": p.description,
             "reported_test_acc": p.reported_test_acc, "reported_at": p.reported_at, "assumed": list(p.assumed),
             "assumed_notes": list(p.notes)}
    return {**p.overrides, "preset": p.name, "extra": extra}


def preset_run_config(name: str, **changes: Any) -> RunConfig:
    """A RunConfig for a preset, with some fields changed (tests, the launcher)."""
    return RunConfig.from_dict({**preset_config(name), **changes})


def describe(name: str) -> dict[str, Any]:
    """Everything `cifar-tui presets --json` shows for one preset."""
    p = get_preset(name)
    config = preset_run_config(name)
    total, trainable = model_facts.count_params(config)
    return {
        "name": p.name, "model": config.model, "strategy": config.strategy, "study": p.study,
        "study_title": p.study_title, "description": p.description, "reported_test_acc": p.reported_test_acc,
        "params_total": total, "params_trainable": trainable, "assumed": list(p.assumed),
        "assumed_notes": list(p.notes), "reported_at": p.reported_at, "needs": p.needs,
        "config": config.to_dict(),
    }
