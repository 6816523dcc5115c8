"""The benchmarks' matplotlib figures (the ``bench`` extra): one way to open and to save them."""
from __future__ import annotations

from pathlib import Path
from typing import Any


def figure() -> tuple[Any, Any] | None:
    """(figure, axes) on the file-only backend; None without matplotlib."""
    try:
        import matplotlib
    except ImportError:
        return None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=(8, 4.5), dpi=110)


def save(fig: Any, ax: Any, path: Path, title: str, xlabel: str) -> None:
    """Label the test-accuracy axes the same way in every plot, write the PNG, free the figure."""
    import matplotlib.pyplot as plt

    ax.set_xlabel(xlabel)
    ax.set_ylabel("test accuracy, %")
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:  # nothing measured yet: no legend, and no warning about one
        ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
