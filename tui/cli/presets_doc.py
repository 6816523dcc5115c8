"""``cifar-tui presets --markdown``: each study's recipes as docs/presets.md prints them.

Made from the presets themselves (engine/presets.py) so the page cannot drift from what a run does:
tests/cli/test_presets_doc.py checks that docs/presets.md holds exactly this text. Imports no torch.
"""
from __future__ import annotations

from typing import Any

from tui.cli.base import PROG

BEGIN = "<!-- recipes: made by `cifar-tui presets --markdown`; edit engine/presets.py, not this -->"
END = "<!-- end of recipes -->"


def _optimizer(c: dict[str, Any]) -> str:
    text = f"{c['optimizer']} lr {c['lr']:g}"
    if c["optimizer"] == "sgd":
        text += f" momentum {c['momentum']:g}" + (" nesterov" if c["nesterov"] else "")
    return f"{text}, wd {c['weight_decay']:g}"


def _schedule(c: dict[str, Any]) -> str:
    warmup = f" (warm-up {c['warmup_epochs']:g} ep)" if c["warmup_epochs"] else ""
    return f"schedule {c['schedule']}{warmup}"


def _augmentation(c: dict[str, Any]) -> str:
    parts = [name for name in ("crop", "flip") if c[name]]
    parts += [f"rotate ±{c['rotate']:g}°"] if c["rotate"] else []
    parts += [f"{name} ±{c[name]:g}" for name in ("zoom", "translate") if c[name]]
    parts += [f"RandAugment({c['randaugment']},{c['randaugment_magnitude']})"] if c["randaugment"] else []
    parts += [f"cutout {c['cutout']}"] if c["cutout"] else []
    parts += [f"mixup {c['mixup']:g}"] if c["mixup"] else []
    parts += [f"smoothing {c['label_smoothing']:g}"] if c["label_smoothing"] else []
    return "augmentation: " + (", ".join(parts) or "none")


def _split(c: dict[str, Any]) -> str:
    from engine.config import default_val_split
    from engine.data.registry import spec

    data = spec(c["dataset"])
    assert data is not None and data.train_images and data.test_images, c["dataset"]
    val = default_val_split(data.train_images) if c["val_split"] is None else c["val_split"]
    split = f"{data.train_images - val:,} train / " + (f"{val:,} val / " if val else "")
    return split + f"{data.test_images:,} test"


def _extras(c: dict[str, Any]) -> list[str]:
    from engine.config import input_scaling

    extras = [f"inputs: {input_scaling(c['strategy'], c['normalize'])}"]
    if c["early_stop_patience"]:
        extras.append(f"early stop patience {c['early_stop_patience']}")
    if c["strategy"] == "two-phase":
        extras.append(f"unfreeze at epoch {c['phase2_epoch']}, lr {c['phase2_lr']:g}")
    return extras


def recipe(row: dict[str, Any], size: int) -> str:
    """One preset (a row of `presets --json`) as a Markdown list item with the command that runs it."""
    c = row["config"]
    facts = "; ".join([f"`{c['model']}`, {c['strategy']}, {size} px, {c['epochs']} epochs, batch {c['batch_size']}",
                       _optimizer(c), _schedule(c), _augmentation(c), _split(c), *_extras(c)])
    line = (f"- **`{row['name']}`** — {facts}. Params {row['params_total']:,} ({row['params_trainable']:,} "
            f"trainable).")
    if row["assumed"]:
        line += f" *Assumed:* {', '.join(row['assumed'])}."
    needs = " --from RUN" if row["needs"].startswith("--from") else ""
    return line + f"\n  ```\n  {PROG} --no-ui --preset {row['name']} --data-dir ~/data{needs}\n  ```"


def recipes_markdown(only: str | None = None) -> str:
    """Every study's presets (or only one study's), study by study, between docs/presets.md's markers."""
    from engine.config import RunConfig
    from engine.models.facts import input_size
    from engine.presets import PRESETS, STUDIES, describe

    out = [BEGIN]
    for study, title in STUDIES.items():
        names = [n for n, p in PRESETS.items() if p.study == study and only in (None, study)]
        if not names:
            continue
        heading = f"Study {study}: {title}" if study.isdigit() else title[0].upper() + title[1:]
        out += ["", f"### {heading}", ""]
        for name in names:
            row = describe(name)
            out.append(recipe(row, input_size(RunConfig.from_dict(row["config"]))))
    return "\n".join(out + ["", END])
