"""`cifar-tui models`: the registry, and how to name every other model --model takes."""
from __future__ import annotations

from typing import Sequence

from tui.cli.base import EXIT_OK, PROG, Parser

OTHER_MODELS = f"""
Besides these, --model takes:
  a torchvision name     efficientnet_b0, ... ({PROG} models --torchvision)
  timm/NAME              any timm model (pip install 'cifar-tui[timm]')
  FILE.py:Name           your own nn.Module class or a function returning one,
  package.module:Name    called with num_classes (in_channels, image_size if taken)
--head PATH: the layer feature-extract trains (default: the last Linear)"""


def cmd_models(argv: Sequence[str]) -> int:
    parser = Parser(prog=f"{PROG} models", description="List the registered models, and how to name the rest.")
    parser.add_argument("--torchvision", action="store_true", help="list every torchvision classifier name")
    args = parser.parse_args(argv)
    if args.torchvision:
        from engine.models.external import torchvision_names

        print("\n".join(torchvision_names()))
        return EXIT_OK
    # The registry's facts kept as data: the listing needs no torch (a test keeps the data true to the models).
    from engine.models.facts import model_facts, model_names

    names = model_names()
    width = max(len(n) for n in names)
    for name in names:
        facts = model_facts(name) or {}
        size = f"{facts['input_size']}px" if facts["input_size"] else "native"
        pre = "pretrained" if facts["pretrained"] else ""
        print(f"{name:<{width}}  {size:>6}  {pre:<10}  {facts['description']}")
    print(OTHER_MODELS)
    return EXIT_OK
