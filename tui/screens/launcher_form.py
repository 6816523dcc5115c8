"""The launcher's logic without widgets: fields, parsing, dataset checks, parameter counts.

Kept apart from the screen so it can be tested (and reasoned about) without a
terminal. Nothing here imports torch at module level: the parameter count
runs in a worker after the registry has been imported in the background.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from engine.config import DATASETS, DEVICES, OPTIMIZERS, SCHEDULES, STRATEGIES, RunConfig


@dataclass(frozen=True)
class NumberField:
    """A typed text field of the form: how to parse it and what is allowed."""

    name: str
    label: str
    kind: type  # int or float
    check: Callable[[float], bool]
    rule: str  # said in place when the check fails
    optional: bool = False


NUMBER_FIELDS: tuple[NumberField, ...] = (
    NumberField("epochs", "epochs", int, lambda v: v >= 1, "a whole number ≥ 1"),
    NumberField("batch_size", "batch size", int, lambda v: v >= 1, "a whole number ≥ 1"),
    NumberField("lr", "learning rate", float, lambda v: v > 0, "a number > 0, e.g. 0.05 or 1e-3"),
    NumberField("weight_decay", "weight decay", float, lambda v: v >= 0, "a number ≥ 0"),
    NumberField("train_limit", "train images", int, lambda v: v >= 10, "empty (all) or ≥ 10", optional=True),
    NumberField("test_limit", "test images", int, lambda v: v >= 10, "empty (all) or ≥ 10", optional=True),
    NumberField("val_split", "validation images", int, lambda v: v >= 0,
                "empty (5,000, or 10% of a small set) or a whole number ≥ 0 (0: no selection)", optional=True),
    NumberField("cutout", "cutout px", int, lambda v: v >= 0, "0 (off) or a size in pixels"),
    NumberField("mixup", "mixup α", float, lambda v: v >= 0, "0 (off) or α > 0, e.g. 0.2"),
    NumberField("seed", "seed", int, lambda v: True, "a whole number"),
)
NUMBER_BY_NAME = {f.name: f for f in NUMBER_FIELDS}
CHOICES: dict[str, tuple[str, ...]] = {
    "dataset": DATASETS, "strategy": STRATEGIES, "optimizer": OPTIMIZERS, "schedule": SCHEDULES, "device": DEVICES,
}
SWITCHES = (("crop", "crop", "pad + random crop"), ("flip", "flip", "horizontal flip"),
            ("download", "download", "fetch CIFAR if missing"))


def parse_number(name: str, text: str) -> tuple[Any, str | None]:
    """(value, None) or (None, what is wrong) for one numeric field's text."""
    spec = NUMBER_BY_NAME[name]
    text = text.strip()
    if not text:
        return (None, None) if spec.optional else (None, f"{spec.label}: {spec.rule}")
    try:
        number = float(text)
        if number != number or number in (float("inf"), float("-inf")):
            raise ValueError(text)
        if spec.kind is int and not number.is_integer():
            raise ValueError(text)
        value = int(number) if spec.kind is int else number
    except ValueError:
        return None, f"{spec.label}: {spec.rule}"
    if not spec.check(value):
        return None, f"{spec.label}: {spec.rule}"
    return value, None


def format_number(value: Any) -> str:
    """How a config value is shown in its field."""
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def dataset_status(dataset: str, data_dir: str | None) -> tuple[bool, str]:
    """(present, message) from a look at the files only: never downloads, never blocks."""
    if dataset == "synthetic":
        return True, "synthetic: generated in memory (5,000 train / 1,000 test, 10 classes)"
    if dataset == "folder":
        return folder_status(data_dir)
    from engine.data import default_data_dir
    from engine.datasets_files import CIFAR_SPECS

    root = Path(data_dir or default_data_dir(dataset)).expanduser()
    if dataset in CIFAR_SPECS:
        spec = CIFAR_SPECS[dataset]
        meta = "batches.meta" if dataset == "cifar10" else "meta"
        for folder in (root / spec["folder"], root):
            if (folder / meta).is_file():
                return True, f"{dataset}: found in {folder}"
        tarball = root if root.is_file() else root / spec["tarball"]
        if tarball.is_file():
            return True, f"{dataset}: {tarball.name} found; it is extracted on the first run"
        return False, (f"{dataset} not found in {root}/ (no {spec['folder']}/ or {spec['tarball']}): "
                       "set 'data path', use the synthetic demo data, or keep 'download' on if online")
    if dataset == "fashion-mnist":
        if all((root / f"{s}-idx{d}-ubyte{gz}").is_file() or (root / f"{s}-idx{d}-ubyte").is_file()
               for s, d, gz in (("train-images", 3, ".gz"), ("train-labels", 1, ".gz"),
                                ("t10k-images", 3, ".gz"), ("t10k-labels", 1, ".gz"))):
            return True, f"fashion-mnist: found in {root}"
        return False, (f"fashion-mnist not found in {root}/: 'apt-get install dataset-fashion-mnist', "
                       "set 'data path', or use the synthetic demo data")
    return False, f"unknown dataset {dataset}"


def folder_status(data_dir: str | None) -> tuple[bool, str]:
    """Your own images: what the folder (or tarball) at 'data path' holds, or why it cannot be used."""
    from engine.config import UserError
    from engine.datasets_folder import describe_folder

    if not data_dir:
        return False, ("folder: set 'data path' to a folder with train/<class>/* and test/<class>/* "
                       "(PNG/JPEG/BMP/WebP), or a .tar.gz of one")
    try:
        return True, f"folder: {describe_folder(Path(data_dir))}"
    except UserError as exc:
        return False, f"folder: {exc}"


def count_params(config: RunConfig) -> tuple[int, int, int]:
    """(total, trainable, input size) of the model a config trains, without any weights or data.

    Imports torch (engine.presets builds on the meta device), so call it from a worker thread.
    """
    from engine.presets import count_params as params, input_size

    total, trainable = params(config)
    return total, trainable, input_size(config)


def device_description(name: str) -> str:
    """What 'auto' (or an explicit device) means on this machine. Imports torch."""
    import torch

    if name in ("auto", "cuda") and torch.cuda.is_available():
        return f"cuda: {torch.cuda.get_device_name(0)}"
    if name == "cuda":
        return "cuda asked for, but no CUDA GPU is visible"
    mps = getattr(torch.backends, "mps", None)
    if name in ("auto", "mps") and mps is not None and mps.is_available():
        return "mps (Apple GPU)"
    return f"cpu ({torch.get_num_threads()} threads)"


def load_presets() -> dict[str, Any]:
    """engine.presets.PRESETS when that module exists (written separately), else {}."""
    try:
        from engine.presets import PRESETS
    except ImportError:
        return {}
    return dict(PRESETS)


def preset_fields(name: str) -> dict[str, Any]:
    """The RunConfig fields a preset sets, or {} when presets are unavailable."""
    try:
        from engine.presets import preset_config
    except ImportError:
        return {}
    return preset_config(name)
