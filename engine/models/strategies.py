"""Strategies: how a model starts (weights) and which parts train when.

- scratch:          random init, everything trains.
- feature-extract:  pretrained backbone frozen (and its BatchNorm kept in eval
                    mode), a new head trains.
- finetune:         pretrained weights, new head, everything trains.
- two-phase:        feature-extract until ``phase2_epoch``, then everything
                    trains at ``phase2_lr`` (study 004: 1e-5).
- linear-probe:     a saved run's trained model, frozen; only a fresh linear
                    layer trains, at the spec's ``probe`` (study 001: the whole
                    FC stack becomes one Linear on the conv features) or head.
"""
from __future__ import annotations

import socket
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn as nn

from engine.config import PRETRAINED_STRATEGIES, RunConfig, UserError
from engine.models.registry import ModelSpec, get_submodule, set_submodule



@dataclass
class Plan:
    """The model's frozen parts now, and when (if ever) they unfreeze."""

    frozen: tuple[str, ...]
    phase2_epoch: int | None = None
    phase2_frozen: tuple[str, ...] = ()
    """two-phase: what stays frozen after the switch (the early layers; only the deep ones unfreeze)."""
    phase2_bn_eval: bool = False
    """two-phase: after the switch BatchNorm stays in inference mode, as Keras fine-tuning keeps it."""
    switched: bool = False

    def is_frozen(self, name: str) -> bool:
        return any(name == p.rstrip(".") or name.startswith(p) for p in self.frozen)

    def apply(self, model: nn.Module) -> None:
        """Set requires_grad from the frozen prefixes."""
        for name, p in model.named_parameters():
            p.requires_grad_(not self.is_frozen(name))

    def train_mode(self, model: nn.Module) -> None:
        """model.train(), but frozen modules stay in eval (BatchNorm stats, Dropout)."""
        model.train()
        bn_eval = self.switched and self.phase2_bn_eval
        if self.frozen or bn_eval:
            for name, module in model.named_modules():
                if (name and self.is_frozen(name + ".")) or (bn_eval and isinstance(module, nn.modules.batchnorm._BatchNorm)):
                    module.eval()

    def unfreeze(self, model: nn.Module) -> None:
        """The two-phase switch: the deep layers (all but phase2_frozen) start training."""
        self.frozen, self.switched = self.phase2_frozen, True
        self.apply(model)

    @property
    def unfrozen(self) -> bool:
        """A two-phase run past its switch (what a resume must restore before the optimizer)."""
        return self.switched


def phase2_switch(config: RunConfig) -> int:
    """two-phase: the epoch the backbone unfreezes (1-based); half way unless --phase2-epoch says."""
    return config.phase2_epoch or max(2, config.epochs // 2 + 1)


def frozen_prefixes(spec: ModelSpec, model: nn.Module) -> tuple[str, ...]:
    """The backbone: the spec's prefixes, or every top-level child but the head's."""
    if spec.backbone:
        return spec.backbone
    head_root = spec.head.split(".")[0]
    return tuple(f"{name}." for name, _ in model.named_children() if name != head_root)


def build_model(
    config: RunConfig, spec: ModelSpec, num_classes: int, in_channels: int, image_size: int,
    *, load_weights: bool = True,
) -> tuple[nn.Module, Plan]:
    """Build the model, load its starting weights and freeze what the strategy says.

    ``load_weights=False`` builds the same structure and freezing without reading
    any weights (parameter counts for ``cifar-tui presets``; works on the meta device).
    """
    if spec.rgb_only:
        in_channels = 3
    model = spec.build(num_classes, in_channels, image_size)
    if load_weights:
        _load_start(model, config, spec)
    plan = _freeze_plan(model, config, spec)
    plan.apply(model)
    return model, plan


def _load_start(model: nn.Module, config: RunConfig, spec: ModelSpec) -> None:
    """The starting weights the strategy names: ImageNet's, a saved run's (a probe), a file, or none."""
    if config.strategy in PRETRAINED_STRATEGIES:
        state = load_pretrained(spec, config.weights)
        load_matching(model, state, spec, source=config.weights or "torchvision cache")
    elif config.strategy == "linear-probe":
        load_matching(model, load_run_weights(config), spec, source=config.from_run or "")
    elif config.weights:
        load_matching(model, load_weights_file(config.weights), spec, source=config.weights)


def _freeze_plan(model: nn.Module, config: RunConfig, spec: ModelSpec) -> Plan:
    """What the strategy freezes, and for two-phase when it unfreezes."""
    if config.strategy == "linear-probe":
        # Everything but the fresh linear layer is frozen, including a classifier
        # stack around the head: a probe measures the features, nothing more.
        return Plan(complement_prefixes(model, _reset_head(model, spec)))
    if config.strategy == "feature-extract":
        return Plan(frozen_prefixes(spec, model))
    if config.strategy != "two-phase":
        return Plan(())
    switch = phase2_switch(config)
    if switch > config.epochs:
        raise UserError(
            f"two-phase unfreezes at epoch {switch} but the run has {config.epochs} epochs; "
            "raise --epochs or lower --phase2-epoch"
        )
    return Plan(frozen_prefixes(spec, model), phase2_epoch=switch, phase2_frozen=spec.finetune_frozen,
                phase2_bn_eval=spec.finetune_bn_eval)


def _reset_head(model: nn.Module, spec: ModelSpec) -> str:
    """Put a fresh linear classifier where the spec's probe (else head) is; returns its path.

    A probe module (e.g. study 001's whole FC stack) becomes Flatten -> Linear on
    the features that entered it; a plain head becomes a fresh Linear of the same
    shape, so its checkpoint still loads into the registry's model.
    """
    classes = _first_linear(get_submodule(model, spec.head)).out_features
    path = spec.probe or spec.head
    inputs = _first_linear(get_submodule(model, path)).in_features
    device = next(model.parameters()).device
    fresh = nn.Linear(inputs, classes, device=device)
    set_submodule(model, path, nn.Sequential(nn.Flatten(), fresh) if spec.probe else fresh)
    return path


def _first_linear(module: nn.Module) -> nn.Linear:
    """The module itself if Linear, else its first Linear submodule (the features' consumer)."""
    for m in module.modules():
        if isinstance(m, nn.Linear):
            return m
    raise UserError(f"no Linear layer in {type(module).__name__} to probe from")


def complement_prefixes(model: nn.Module, keep: str) -> tuple[str, ...]:
    """Prefixes of every module outside the dotted path ``keep`` (siblings along the way)."""
    out: list[str] = []
    parent, prefix = model, ""
    for part in keep.split("."):
        out += [f"{prefix}{name}." for name, _ in parent.named_children() if name != part]
        parent, prefix = getattr(parent, part), f"{prefix}{part}."
    return tuple(out)


def load_weights_file(path: str) -> dict[str, torch.Tensor]:
    """A state dict from a file: plain, or one of our checkpoints ({'model': ...}).

    Every load goes through engine.runs.checkpoint.load_weights: sha256-verified
    beside a manifest, unpickled with weights_only (no code runs, torch's warning
    silenced), and refused when a tensor holds NaN/Inf.
    """
    from engine.runs.checkpoint import load_weights

    p = Path(path).expanduser()
    if not p.is_file():
        raise UserError(f"weights file {p} does not exist; check the --weights path")
    obj = load_weights(p)
    # Checkpoints of torch.compile'd models prefix every key with _orig_mod.
    return {k.removeprefix("_orig_mod."): v for k, v in obj.items()}


def cached_weights_path(spec: ModelSpec) -> tuple[Path, str]:
    """Where torchvision's cache keeps this model's weights, and their URL."""
    import torchvision.models as tvm

    enum_name, member = spec.pretrained.split(".")  # type: ignore[union-attr]
    weights = getattr(getattr(tvm, enum_name), member)
    filename = weights.url.rsplit("/", 1)[-1]
    return Path(torch.hub.get_dir()) / "checkpoints" / filename, weights.url


def load_pretrained(spec: ModelSpec, weights_file: str | None) -> dict[str, torch.Tensor]:
    """ImageNet weights from --weights, torchvision's cache, or a download."""
    if weights_file:
        return load_weights_file(weights_file)
    if spec.pretrained is None:
        raise UserError(
            f"model {spec.name} has no published pretrained weights; pass --weights FILE "
            "or use --strategy scratch"
        )
    if spec.pretrained.startswith("timm:"):
        return _timm_pretrained(spec)
    path, url = cached_weights_path(spec)
    if not path.is_file():
        old = socket.getdefaulttimeout()
        socket.setdefaulttimeout(30)  # offline: fail, don't hang
        try:
            # A fresh machine has no hub/checkpoints/ yet: without it the error would
            # read FileNotFoundError instead of the real (network) reason.
            path.parent.mkdir(parents=True, exist_ok=True)
            torch.hub.download_url_to_file(url, str(path), progress=False)
        except Exception as exc:
            raise UserError(
                f"pretrained weights for {spec.name} are not in the cache ({path}) and the download "
                f"failed ({type(exc).__name__}); pass --weights FILE, or copy {path.name} into {path.parent}"
            ) from None
        finally:
            socket.setdefaulttimeout(old)
    return load_weights_file(str(path))


def _timm_pretrained(spec: ModelSpec) -> dict[str, torch.Tensor]:
    """timm's published weights, from its cache (Hugging Face's) or a download; one line when neither works."""
    import timm

    arch = spec.pretrained.removeprefix("timm:")  # type: ignore[union-attr]
    old = socket.getdefaulttimeout()
    socket.setdefaulttimeout(30)  # offline: fail, don't hang
    try:
        return timm.create_model(arch, pretrained=True).state_dict()
    except Exception as exc:  # noqa: BLE001 - hub, network and file errors alike
        raise UserError(f"pretrained weights for {spec.name} are not in timm's cache and the download failed "
                        f"({type(exc).__name__}); pass --weights FILE") from None
    finally:
        socket.setdefaulttimeout(old)


def load_run_weights(config: RunConfig) -> dict[str, torch.Tensor]:
    """The best (else last) checkpoint of the run named by --from."""
    from engine.runs import resolve_run

    return run_checkpoint_weights(resolve_run(config.runs_dir, config.from_run or ""))


# torch.save writes a zip archive (torch >= 1.6) or, in the legacy format, a pickle (protocol >= 2).
def run_checkpoint_weights(run: Path) -> dict[str, torch.Tensor]:
    """Weights of a saved run: best.pt, else the newest checkpoint that verifies (last.pt, prev.pt).

    One reader for every use of a run's weights (engine.runs.checkpoint.newest_checkpoint): the
    bytes loaded are the bytes checked against the manifest, and a damaged best.pt is
    refused, not swapped for last.pt (the caller asked for the run's best model).
    """
    from engine.runs.checkpoint import newest_checkpoint

    return newest_checkpoint(run, run.name, "best")[1]


def load_matching(model: nn.Module, state: dict[str, torch.Tensor], spec: ModelSpec, source: str) -> None:
    """Load a state dict; a head of another class count is left freshly initialised."""
    own = model.state_dict()
    head = spec.head + "."
    shape_differs = [k for k, v in state.items() if k in own and v.shape != own[k].shape]
    bad_shapes = [k for k in shape_differs if not k.startswith(head)]
    if bad_shapes:
        raise UserError(
            f"weights from {source} have other shapes than model {spec.name} (e.g. {bad_shapes[0]}); "
            "check --model matches the weights"
        )
    state = {k: v for k, v in state.items() if k not in shape_differs}
    missing, unexpected = model.load_state_dict(state, strict=False)
    bad_missing = [k for k in missing if not k.startswith(head)]
    if bad_missing or unexpected:
        example = (bad_missing or unexpected)[0]
        raise UserError(
            f"weights from {source} do not fit model {spec.name} "
            f"({len(bad_missing)} missing, {len(unexpected)} unexpected keys, e.g. {example!r}); "
            "check --model matches the weights"
        )
