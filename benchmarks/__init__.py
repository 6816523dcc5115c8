"""Side-by-side performance scripts (run them one by one, or all with ``python -m benchmarks``)."""
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "cifar10-jpg.tar.gz"
"""The real CIFAR-10 as JPEG q75 files (../shared/data/README.md): the benchmarks' data where it is present."""
