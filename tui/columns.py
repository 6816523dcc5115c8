"""Config fields as table columns, for `cifar-tui runs --columns` and the runs screen's chosen columns.

What a column may be (any RunConfig field with one value, and ``aug``: the augmentations a run used,
in one word each), how a value reads in a cell, and the header: the field's long name where the
table has room, a short one where it has not. Plain Python: the command line imports it without
textual, and screens import it without the command line.
"""
from __future__ import annotations

import dataclasses
from typing import Any

from engine.config import FIELD_GROUPS, RunConfig

from tui import format as fmt

AUG = "aug"
"""Not a field: the run's augmentations in one cell ('crop flip cut16'), the one column that answers 'what aug?'."""
NOT_COLUMNS = frozenset({"extra", "runs_dir"})  # a dict, and where the table's own runs live
LONG = {"batch_size": "batch size", "lr": "lr", "weight_decay": "weight decay", "label_smoothing": "label smoothing",
        "warmup_epochs": "warm-up epochs", "early_stop_patience": "early stop", "val_split": "val images",
        "train_limit": "train images", "test_limit": "test images", AUG: "augmentation"}
SHORT = {"batch_size": "batch", "weight_decay": "wd", "label_smoothing": "smooth", "warmup_epochs": "warm-up",
         "early_stop_patience": "patience", "val_split": "val", "train_limit": "train", "test_limit": "test",
         "optimizer": "opt", "schedule": "sched", "momentum": "mom", "randaugment": "ra",
         "randaugment_magnitude": "ra mag", "eval_batch_size": "eval bs", "channels_last": "ch last",
         "plateau_patience": "plateau", "alternating_flip": "alt flip", "crop_padding": "crop pad",
         "feature_cache": "fcache", "image_size": "img px", "folder_size": "folder px", "phase2_epoch": "ph2 ep",
         "phase2_lr": "ph2 lr", "predictions": "preds", "checkpoints": "ckpts", AUG: "aug"}


def column_names() -> list[str]:
    """Every column a table may add: what tells experiments apart first (optimisation, augmentation with 'aug'
    at its head, data size, seed), in RunConfig's groups; where the data lives and how runs are saved last."""
    fields = {f.name for f in dataclasses.fields(RunConfig)} - NOT_COLUMNS
    groups = list(FIELD_GROUPS.values())
    groups = groups[1:4] + groups[4:5] + groups[:1] + groups[5:]  # 'what' (dataset, data dir...) after 'hardware'
    grouped = [n for names in groups for n in names if n in fields]
    names = grouped + sorted(fields - set(grouped))
    at = names.index("crop") if "crop" in names else len(names)
    return names[:at] + [AUG] + names[at:]


def config_columns(text: str | None) -> list[str]:
    """'lr,batch_size' (dashes allowed: batch-size) -> column names; UserError naming an unknown one."""
    from engine.config import UserError

    if not text:
        return []
    known = column_names()
    names = [n.strip().replace("-", "_") for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in known]
    if unknown:
        raise UserError(f"--columns: no setting named {', '.join(unknown)}; choose from: {', '.join(sorted(known))}")
    return names


def cell(value: Any) -> str:
    """A config value as a table cell: on/off, '-', 0.1 / 3e-04, as the user would type it."""
    if value is None or value == "":
        return fmt.MISSING
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def aug_text(config: dict[str, Any]) -> str:
    """The augmentations a config turns on, one word each: 'crop flip cut16 mix0.2 ra2'; 'none'."""
    parts = [word for word, on in (
        ("crop", config.get("crop")), ("flip", config.get("flip")), ("altflip", config.get("alternating_flip")),
        (f"cut{config.get('cutout')}", config.get("cutout")), (f"mix{cell(config.get('mixup'))}", config.get("mixup")),
        (f"ra{config.get('randaugment')}", config.get("randaugment")), (f"rot{cell(config.get('rotate'))}",
                                                                        config.get("rotate")),
        (f"shift{cell(config.get('translate'))}", config.get("translate")),
        (f"zoom{cell(config.get('zoom'))}", config.get("zoom"))) if on]
    return " ".join(parts) or "none"


def value(config: dict[str, Any], name: str) -> Any:
    """A column's raw value for one run's config (sortable: numbers stay numbers)."""
    return aug_text(config) if name == AUG else config.get(name)


def config_cell(config: dict[str, Any], name: str) -> str:
    return cell(value(config, name))


def long_name(name: str) -> str:
    """The header where there is room: 'batch size', 'weight decay'."""
    return LONG.get(name, name.replace("_", " "))


def short_name(name: str) -> str:
    """The header where there is not: 'batch', 'wd'."""
    return SHORT.get(name, long_name(name))


def flag_name(name: str) -> str:
    """How --columns spells it: 'batch-size'."""
    return name.replace("_", "-")
