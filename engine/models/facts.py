"""What the command line and the launcher need to know about the registered models, without torch.

``cifar-tui models``, ``presets`` and the launcher's first screen must start
in well under a second; importing torch and building ResNet50 to count its
parameters takes seconds. So the facts are kept as data in
``engine/models/facts_data.py``: per model its description, input size,
pretrained weights, rgb_only and family, and the parameter counts (total,
trainable) per strategy for each dataset shape a run can have without
``--image-size`` or a folder's own class count.

The data is generated from the real models::

    python -m engine.models.facts --write    # rebuild engine/models/facts_data.py
    python -m engine.models.facts --check    # exit 1 when it no longer matches the models

and tests/engine/test_model_facts.py rebuilds it in memory and fails on any drift, so
a changed model can never leave a stale count behind. Reading it imports no
torch; only ``collect`` (the generator) does.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from engine.models import facts_data as data
from engine.config import RunConfig
from engine.data.registry import DATASETS, native_size

# The ModelSpec fields kept as data (what `cifar-tui models` and the launcher show).
SPEC_FIELDS = ("description", "input_size", "pretrained", "rgb_only", "family")
DATA_FILE = Path(__file__).with_name("facts_data.py")


def shape_key(model: str, classes: int, channels: int, size: int) -> str:
    """The key of one model at one dataset shape in ``data.PARAMS``: 'cnn/10x3x32'."""
    return f"{model}/{classes}x{channels}x{size}"


def model_facts(name: str) -> dict[str, Any] | None:
    """The SPEC_FIELDS of a registered model, or None for a model the data does not know."""
    return data.MODELS.get(name)


def model_names() -> list[str]:
    """Every registered model, sorted."""
    return sorted(data.MODELS)


def param_counts(model: str, strategy: str, classes: int, channels: int, size: int) -> tuple[int, int] | None:
    """(total, trainable) at the start of a run, or None where the data does not cover it (build instead)."""
    counts = data.PARAMS.get(shape_key(model, classes, channels, size), {}).get(strategy)
    return None if counts is None else (counts[0], counts[1])


# ----------------------------------------------------------------------------- parameter counts, input size


def count_params(config: RunConfig) -> tuple[int, int]:
    """(total, trainable) parameters of the model a config trains, at its start.

    Read from the data when it covers the config (no torch: `cifar-tui presets` and the
    launcher stay instant); otherwise built on the meta device (build_counts).
    """
    return _counts_from_data(config) or build_counts(config)


def _counts_from_data(config: RunConfig) -> tuple[int, int] | None:
    data = DATASETS.get(config.dataset)
    if data is None or data.classes is None or config.image_size:  # a folder's classes, a chosen size: build
        return None
    if config.strategy == "two-phase" and not 0 < config.phase2_epoch <= config.epochs:
        return None  # build_model refuses a switch after the last epoch: let it say so
    return param_counts(config.model, config.strategy, data.classes, data.channels,
                                    input_size(config))


def build_counts(config: RunConfig) -> tuple[int, int]:
    """count_params by building the model on the meta device, without weights (the data's generator).

    Needs neither the dataset, the ImageNet weights nor the probed run; imports torch.
    """
    import torch

    from engine.models.registry import get_spec
    from engine.models.strategies import build_model

    spec = get_spec(config.model, config.head)
    data = DATASETS[config.dataset]
    # A folder's class count is known only once it is read: count as if 10 (only the head depends on it).
    classes, channels = data.classes or 10, data.channels
    size = pick_input_size(config.image_size, spec.input_size, native_size(config.dataset, config.folder_size))
    with torch.device("meta"):
        model, _ = build_model(config, spec, classes, channels, size, load_weights=False)
    params = list(model.parameters())
    return sum(p.numel() for p in params), sum(p.numel() for p in params if p.requires_grad)


def pick_input_size(image_size: int | None, model_size: int | None, data_size: int) -> int:
    """The one input-size rule: --image-size, else the model's own input size, else the dataset's side."""
    return image_size or model_size or data_size


def input_size(config: RunConfig) -> int:
    """The side in pixels a config's model sees, known before the data is read (a folder: its folder_size)."""
    return pick_input_size(config.image_size, _model_input_size(config.model),
                           native_size(config.dataset, config.folder_size))


def _model_input_size(model: str) -> int | None:
    facts = model_facts(model)
    if facts is not None:
        return facts["input_size"]
    from engine.models.registry import get_spec  # a model the data does not know (registered at run time): ask it

    return get_spec(model).input_size


# ----------------------------------------------------------------------------- the generator (imports torch)


def collect() -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, tuple[int, int]]]]:
    """(MODELS, PARAMS) as the real models give them today: what facts_data.py must hold."""
    from engine.config import STRATEGIES
    from engine.models.registry import MODELS

    facts = {name: {f: getattr(spec, f) for f in SPEC_FIELDS} for name, spec in sorted(MODELS.items())}
    params: dict[str, dict[str, tuple[int, int]]] = {}
    for name, spec in sorted(MODELS.items()):
        for dataset in _shaped_datasets():
            config = RunConfig(dataset=dataset, model=name)
            d = DATASETS[dataset]
            key = shape_key(name, d.classes or 10, d.channels, pick_input_size(None, spec.input_size, d.native_size or 32))
            if key not in params:  # synthetic has CIFAR-10's shape
                # linear-probe needs a run to probe only to load weights; counting never reads it.
                params[key] = {s: build_counts(config.replace(strategy=s, from_run="x")) for s in STRATEGIES}
    return facts, params


def _shaped_datasets() -> list[str]:
    """Datasets whose class count, channels and size are known before reading them (not a folder)."""
    return [name for name, d in DATASETS.items() if d.classes and d.native_size]


def render(facts: dict[str, dict[str, Any]], params: dict[str, dict[str, tuple[int, int]]]) -> str:
    """facts_data.py's text: one line per model and per model shape, so a diff shows what changed."""
    lines = ['"""Generated by `python -m engine.models.facts --write` from the real models: do not edit.',
             "", "tests/engine/test_model_facts.py rebuilds it and fails when a model changed and this did not.",
             '"""',
             "from __future__ import annotations", "", "from typing import Any", "",
             "# name -> ModelSpec fields (engine.models.facts.SPEC_FIELDS)",
             "MODELS: dict[str, dict[str, Any]] = {"]
    lines += [f"    {name!r}: {fields!r}," for name, fields in facts.items()]
    lines += ["}", "", "# 'model/CLASSESxCHANNELSxSIZE' -> strategy -> (total, trainable) parameters at the run's start",
              "PARAMS: dict[str, dict[str, tuple[int, int]]] = {"]
    lines += [f"    {key!r}: {counts!r}," for key, counts in params.items()]
    return "\n".join(lines + ["}", ""])


def main(argv: list[str]) -> int:
    """--write: regenerate the data file; --check: exit 1 when it is stale."""
    text = render(*collect())
    if argv == ["--write"]:
        DATA_FILE.write_text(text)
        print(f"wrote {DATA_FILE}")
        return 0
    if argv == ["--check"]:
        stale = DATA_FILE.read_text() != text
        print(f"{DATA_FILE} is {'stale: run python -m engine.models.facts --write' if stale else 'up to date'}")
        return int(stale)
    print("usage: python -m engine.models.facts --write | --check", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
