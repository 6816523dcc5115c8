"""Models outside the registry: any torchvision classifier by name, ``timm/NAME``, and your own code.

``--model`` takes, besides a registry name:

- a ``torchvision.models.get_model`` name (``efficientnet_b0``, ``convnext_tiny``, ...): built for the
  dataset's classes, its ``DEFAULT`` ImageNet weights for the pretrained strategies, its input size
  from those weights' transforms;
- ``timm/NAME`` when timm is installed (``pip install 'cifar-tui[timm]'``);
- ``path/to/file.py:Name`` or ``package.module:Name``: an ``nn.Module`` class or a function returning
  one, called with ``num_classes`` (and ``in_channels``, ``image_size`` when it takes them).

Each becomes a ModelSpec like a registered model's, so every strategy, the feature cache, resume and
the analyses work unchanged. The head (what feature-extract keeps training and a probe replaces) is
``--head PATH`` or else found: the last ``nn.Linear`` the forward pass calls (the last module with
parameters when there is none). Everything the user's code raises is reported as one line naming
their file and line.
"""
from __future__ import annotations

import hashlib
import importlib
import importlib.util
import inspect
import sys
import traceback
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

import torch
import torch.nn as nn

from engine.config import UserError
from engine.models.spec import ModelSpec

TIMM_PREFIX = "timm/"


def is_code_reference(name: str) -> bool:
    """``file.py:Name`` or ``package.module:Name``."""
    return ":" in name


def source_file(name: str) -> Path | None:
    """The user's file of a ``file.py:Name`` model (None for the other forms)."""
    path, _, _ = name.rpartition(":")
    return Path(path).expanduser().resolve() if is_code_reference(name) and path.endswith(".py") else None


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def torchvision_names() -> list[str]:
    """Every classification model torchvision can build by name."""
    import torchvision.models

    return sorted(torchvision.models.list_models(module=torchvision.models))


_INSTANCES: dict[str, nn.Module] = {}
"""Modules handed to ``train(config, model=...)`` (the Python API), by the name their run records."""


def use_instance(model: nn.Module) -> str:
    """Let the run of a module object find it by name: 'package.module:ClassName' (importable again
    later when it is, for resume and analyze from the command line)."""
    cls = type(model)
    name = f"{cls.__module__}:{cls.__qualname__}"
    _INSTANCES[name] = model
    return name


def external_spec(name: str, head: str | None = None) -> ModelSpec | None:
    """The spec of a model named in one of the external forms; None when ``name`` is in none of them."""
    if name in _INSTANCES:
        return _instance_spec(name, _INSTANCES[name], head)
    return _named_spec(name, head)


@lru_cache(maxsize=32)
def _named_spec(name: str, head: str | None = None) -> ModelSpec | None:
    if name.startswith(TIMM_PREFIX):
        return _with_head(_timm_spec(name), head)
    if is_code_reference(name):
        return _with_head(_code_spec(name), head)
    if name in torchvision_names():
        return _with_head(_torchvision_spec(name), head)
    return None


# ----------------------------------------------------------------------------- the three forms


def _torchvision_spec(name: str) -> ModelSpec:
    import torchvision.models as tvm

    weights = tvm.get_model_weights(name).DEFAULT if _has_weights(name) else None
    crop = getattr(weights.transforms(), "crop_size", None) if weights is not None else None

    def build(num_classes: int, in_channels: int, image_size: int) -> nn.Module:
        return tvm.get_model(name, weights=None, num_classes=num_classes)

    return ModelSpec(name=name, build=build, family="torchvision", rgb_only=True,
                     description=f"torchvision {name}" + (f", ImageNet weights ({weights.name})" if weights else ""),
                     input_size=int(crop[0]) if crop else None,
                     pretrained=f"{type(weights).__name__}.{weights.name}" if weights is not None else None)


def _has_weights(name: str) -> bool:
    import torchvision.models as tvm

    try:
        return tvm.get_model_weights(name) is not None
    except (ValueError, KeyError):
        return False


def _timm_spec(name: str) -> ModelSpec:
    try:
        import timm
    except ImportError:
        raise UserError(f"{name} needs timm, which is not installed: pip install 'cifar-tui[timm]' "
                        "(or pip install timm)") from None
    arch = name[len(TIMM_PREFIX):]
    if not timm.is_model(arch):
        close = timm.list_models(f"*{arch}*")[:5]
        raise UserError(f"timm has no model {arch!r}" + (f"; close: {', '.join(close)}" if close else ""))
    size = timm.get_pretrained_cfg_value(arch, "input_size")

    def build(num_classes: int, in_channels: int, image_size: int) -> nn.Module:
        return timm.create_model(arch, pretrained=False, num_classes=num_classes)

    return ModelSpec(name=name, build=build, family="timm", rgb_only=True, description=f"timm {arch}",
                     input_size=int(size[-1]) if size else None, pretrained=f"timm:{arch}")


def _code_spec(name: str) -> ModelSpec:
    where, _, attr = name.rpartition(":")
    if not where or not attr:
        raise UserError(f"--model {name}: give FILE.py:Name or package.module:Name")
    factory = getattr(_import_user_module(where), attr, None)
    if factory is None:
        raise UserError(f"{where} has no {attr!r}: name an nn.Module class or a function that returns one")
    if not callable(factory):
        raise UserError(f"{where}:{attr} is a {type(factory).__name__}, not an nn.Module class or a function")
    path = source_file(name)
    return ModelSpec(name=name, build=_user_builder(name, factory), family="your own",
                     description=f"your own model from {path or where}")


def _instance_spec(name: str, model: nn.Module, head: str | None) -> ModelSpec:
    """A module object as a spec whose builder hands it over (its head: --head, else its last Linear)."""
    import dataclasses

    linear = [n for n, m in model.named_modules() if isinstance(m, nn.Linear)]
    spec = ModelSpec(name=name, build=lambda num_classes, in_channels, image_size: model, family="your own",
                     description=f"your own {type(model).__name__} object (the Python API)")
    if not (head or linear):
        raise UserError(f"{name} has no nn.Linear layer to call its head; pass RunConfig(head='dotted.path')")
    return dataclasses.replace(spec, head=head or linear[-1])


def _import_user_module(where: str) -> Any:
    """The user's module by file path or dotted name; their errors become one line with their file and line."""
    try:
        if where.endswith(".py"):
            path = Path(where).expanduser().resolve()
            if not path.is_file():
                raise UserError(f"model file {where} does not exist")
            spec = importlib.util.spec_from_file_location(f"cifar_tui_user_{hashlib.sha1(str(path).encode()).hexdigest()[:10]}",
                                                          path)
            module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
            sys.modules[spec.name] = module  # type: ignore[union-attr]  # dataclasses and pickling look it up
            spec.loader.exec_module(module)  # type: ignore[union-attr]
            return module
        return importlib.import_module(where)
    except UserError:
        raise
    except ModuleNotFoundError as exc:
        if exc.name and where.startswith(exc.name):
            raise UserError(f"no module named {where!r} on the Python path (or give a FILE.py:Name)") from None
        raise UserError(user_error(exc, f"importing {where}")) from None
    except BaseException as exc:  # noqa: BLE001 - the user's module may raise anything while it loads
        if isinstance(exc, KeyboardInterrupt):
            raise
        raise UserError(user_error(exc, f"importing {where}")) from None


def _user_builder(name: str, factory: Callable[..., Any]) -> Callable[[int, int, int], nn.Module]:
    """Call the user's factory with the arguments it takes: num_classes, in_channels, image_size."""
    try:
        params = inspect.signature(factory).parameters
    except (TypeError, ValueError):
        params = {}  # type: ignore[assignment]
    takes_all = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())

    def build(num_classes: int, in_channels: int, image_size: int) -> nn.Module:
        offered = {"num_classes": num_classes, "in_channels": in_channels, "image_size": image_size}
        kwargs = {k: v for k, v in offered.items() if takes_all or k in params}
        try:
            model = factory(**kwargs)
        except BaseException as exc:  # noqa: BLE001 - whatever the user's constructor raises
            if isinstance(exc, KeyboardInterrupt):
                raise
            raise UserError(user_error(exc, f"building {name}")) from None
        if not isinstance(model, nn.Module):
            raise UserError(f"{name} returned a {type(model).__name__}, not an nn.Module")
        return model

    return build


def user_error(exc: BaseException, doing: str) -> str:
    """'model.py:12: ValueError: ... (building my.py:Net)': the innermost frame outside this package."""
    if isinstance(exc, SyntaxError) and exc.filename:
        return f"{exc.filename}:{exc.lineno}: SyntaxError: {exc.msg} ({doing})"
    library = (str(Path(__file__).resolve().parents[2]), str(Path(torch.__file__).resolve().parents[1]),
               str(Path(inspect.__file__).resolve().parent))  # ours, site-packages, the standard library
    frames = [f for f in traceback.extract_tb(exc.__traceback__)
              if not f.filename.startswith(library) and not f.filename.startswith("<frozen")]
    where = f"{frames[-1].filename}:{frames[-1].lineno}: " if frames else ""
    message = str(exc).splitlines()[0] if str(exc) else ""
    return f"{where}{type(exc).__name__}: {message} ({doing})"


# ----------------------------------------------------------------------------- the head


def _with_head(spec: ModelSpec, head: str | None) -> ModelSpec:
    import dataclasses

    return dataclasses.replace(spec, head=head or find_head(spec))


def find_head(spec: ModelSpec) -> str:
    """The last nn.Linear the forward pass calls (else the last module with parameters), on the meta device."""
    with torch.device("meta"):
        model = spec.build(10, 3, spec.input_size or 32)
        size = spec.input_size or 32
        called: list[str] = []
        names = {id(m): n for n, m in model.named_modules() if n}
        hooks = [m.register_forward_hook(lambda mod, i, o: called.append(names[id(mod)]))
                 for n, m in model.named_modules() if n and next(m.parameters(recurse=False), None) is not None]
        try:
            model.eval()(torch.empty(1, 3, size, size))
        except Exception as exc:  # noqa: BLE001 - ops without meta support: fall back to the module order
            del exc
            called = [n for n, m in model.named_modules() if n and next(m.parameters(recurse=False), None) is not None]
        finally:
            for h in hooks:
                h.remove()
    linear = [n for n in called if isinstance(model.get_submodule(n), nn.Linear)]
    if linear or called:
        return (linear or called)[-1]
    raise UserError(f"{spec.name} has no layer with parameters to train as its head; pass --head PATH")
