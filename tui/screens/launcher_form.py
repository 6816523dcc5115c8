"""The launcher's logic without widgets: fields, parsing, dataset checks, parameter counts.

Kept apart from the screen so it can be tested (and reasoned about) without a
terminal. Nothing here imports torch at module level: the parameter count
runs in a worker after the registry has been imported in the background.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from engine.config import RunConfig
from engine.data.registry import is_native

from tui.screens.launcher_fields import FieldSpec, field_specs, parse_text


@dataclass(frozen=True)
class NumberField:
    """A number field of the main form, with the rule it is checked against as you type.

    The rule is a fast pre-check that needs no torch; RunConfig.validate() (which
    imports the model registry) checks every field again once the app has loaded it.
    """

    name: str
    check: Callable[[float], bool]
    rule: str  # said in place when the check fails

    @property
    def spec(self) -> FieldSpec:
        return field_specs()[self.name]

    @property
    def label(self) -> str:
        return self.spec.label


NUMBER_FIELDS: tuple[NumberField, ...] = (
    NumberField("epochs", lambda v: v >= 1, "a whole number ≥ 1"),
    NumberField("batch_size", lambda v: v >= 1, "a whole number ≥ 1"),
    NumberField("lr", lambda v: v > 0, "a number > 0, e.g. 0.05 or 1e-3"),
    NumberField("weight_decay", lambda v: v >= 0, "a number ≥ 0"),
    NumberField("train_limit", lambda v: v >= 10, "empty (all) or ≥ 10"),
    NumberField("test_limit", lambda v: v >= 10, "empty (all) or ≥ 10"),
    NumberField("val_split", lambda v: v >= 0,
                "empty (5,000, or 10% of a small set) or a whole number ≥ 0 (0: no selection)"),
    NumberField("cutout", lambda v: v >= 0, "0 (off) or a size in pixels"),
    NumberField("mixup", lambda v: v >= 0, "0 (off) or α > 0, e.g. 0.2"),
    NumberField("seed", lambda v: True, "a whole number"),
)
NUMBER_BY_NAME = {f.name: f for f in NUMBER_FIELDS}
SWITCHES = (("crop", "crop", "pad + random crop"), ("flip", "flip", "horizontal flip"),
            ("download", "download", "fetch CIFAR if missing"))
# Fields with a control of their own on the main form; the advanced section has the rest.
MAIN_FIELDS = frozenset({"preset", "dataset", "data_dir", "model", "strategy", "from_run", "optimizer", "schedule",
                         "device", *NUMBER_BY_NAME, *(name for name, _, _ in SWITCHES)})


def parse_number(name: str, text: str) -> tuple[Any, str | None]:
    """(value, None) or (None, what is wrong) for one main-form number field's text."""
    spec = NUMBER_BY_NAME[name]
    value, error = parse_text(spec.spec, text)
    if error:
        return None, f"{spec.label}: {spec.rule}"
    if value is not None and not spec.check(value):
        return None, f"{spec.label}: {spec.rule}"
    return value, None


@dataclass(frozen=True)
class DatasetStatus:
    """What a look at the files says about the dataset: never downloads, never blocks."""

    present: bool
    message: str
    """One line for the info panel: where it was found, or where it was looked for and what for."""
    downloadable: bool = False
    """Missing, but 'download' fetches it when the run starts (CIFAR, online)."""
    short: str = ""
    """Missing: the message without its details ('cifar10 not found in /abs/data/'), for the banner."""

    def can_start(self, download: bool) -> bool:
        return self.present or (self.downloadable and download)

    def headline(self, download: bool) -> str:
        """The missing-dataset banner's sentence (the fixes are its buttons)."""
        short = self.short or self.message
        if self.downloadable and download:
            return f"{short}; downloaded on start if online, or:"
        off = " and 'download' is off" if self.downloadable else ""
        return f"⚠ {short}{off}. Start waits for one of:"

    def refusal(self) -> str:
        """Why Start is refused, and the fixes in this screen."""
        turn_on = ", or turn 'download' on (needs internet)" if self.downloadable else ""
        return (f"{self.short or self.message}: set 'data path' to the folder that holds it, press ctrl+y for "
                f"the synthetic demo data{turn_on}")


def data_dir_placeholder(dataset: str) -> str:
    """What an empty 'data path' means for this dataset, as an absolute path."""
    if dataset == "synthetic":
        return "not needed (generated in memory)"
    if dataset == "folder":
        return "a folder (or .tar.gz) of your images: required"
    from engine.data.registry import default_data_dir

    return f"{Path(default_data_dir(dataset)).expanduser().absolute()}/"


def dataset_status(dataset: str, data_dir: str | None) -> DatasetStatus:
    """Whether the dataset is there, from a look at the files only."""
    if dataset == "synthetic":
        return DatasetStatus(True, "synthetic: generated in memory (5,000 train / 1,000 test, 10 classes)")
    if dataset == "folder":
        return folder_status(data_dir)
    from engine.data.registry import default_data_dir
    from engine.data.readers import CIFAR_SPECS

    root = Path(data_dir or default_data_dir(dataset)).expanduser().absolute()
    if dataset in CIFAR_SPECS:
        return _cifar_status(dataset, root, CIFAR_SPECS[dataset])
    if dataset == "fashion-mnist":
        if all((root / f"{s}-idx{d}-ubyte.gz").is_file() or (root / f"{s}-idx{d}-ubyte").is_file()
               for s, d in (("train-images", 3), ("train-labels", 1), ("t10k-images", 3), ("t10k-labels", 1))):
            return DatasetStatus(True, f"fashion-mnist: found in {root}/")
        short = f"fashion-mnist not found in {root}/"
        return DatasetStatus(False, f"{short} (no train-images-idx3-ubyte.gz; the dataset-fashion-mnist package "
                                    "installs it in /usr/share/datasets/fashion-mnist/)", short=short)
    return DatasetStatus(False, f"unknown dataset {dataset}")


def _cifar_status(dataset: str, root: Path, spec: dict[str, Any]) -> DatasetStatus:
    meta = "batches.meta" if dataset == "cifar10" else "meta"
    for folder in (root / spec["folder"], root):
        if (folder / meta).is_file():
            return DatasetStatus(True, f"{dataset}: found in {folder}/")
    tarball = root if root.is_file() else root / spec["tarball"]
    if tarball.is_file():
        return DatasetStatus(True, f"{dataset}: {tarball} found; it is extracted on the first run")
    short = f"{dataset} not found in {root}/"
    return DatasetStatus(False, f"{short} (no {spec['folder']}/ or {spec['tarball']})", downloadable=True,
                         short=short)


def folder_status(data_dir: str | None) -> DatasetStatus:
    """Your own images: what the folder (or tarball) at 'data path' holds, or why it cannot be used."""
    from engine.config import UserError
    from engine.data.folder import describe_folder

    if not data_dir:
        return DatasetStatus(False, "folder: set 'data path' to a folder with train/<class>/* and test/<class>/* "
                                    "(PNG/JPEG/BMP/WebP), or a .tar.gz of one", short="folder: no 'data path' set")
    path = Path(data_dir).expanduser().absolute()
    try:
        return DatasetStatus(True, f"folder: {describe_folder(path)}")
    except UserError as exc:
        return DatasetStatus(False, f"folder: {exc}")


def count_params(config: RunConfig) -> tuple[int, int, int]:
    """(total, trainable, input size) of the model a config trains, without any weights or data.

    Imports torch (engine.presets builds on the meta device), so call it from a worker thread.
    """
    from engine.models.facts import count_params as params, input_size

    total, trainable = params(config)
    return total, trainable, input_size(config)


def count_info(config: RunConfig) -> dict[str, str]:
    """The info panel's params, input and device lines for a config. Imports torch: call it from a worker."""
    from tui import format as fmt
    from tui.engine_import import import_engine

    try:
        import_engine()  # never import torch beside another worker doing the same
        total, trainable, size = count_params(config)
    except Exception as exc:  # noqa: BLE001 - an unusual combination: say so, don't crash
        return {"params": f"cannot count: {type(exc).__name__}: {exc}", "input": "-",
                "device": device_description(config.device)}
    native = is_native(config.dataset, size, config.folder_size)
    return {"params": f"{fmt.params(total)} total · {fmt.params(trainable)} trainable",
            "input": f"{size} px{' (native)' if native else ' (resized on the device)'}",
            "device": device_description(config.device)}


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
