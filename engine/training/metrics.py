"""Accuracy, top-k, confusion matrix and what derives from them.

Counts are accumulated on the device as tensors and read back once per
evaluation: a .item() per batch would sync the GPU every step.
"""
from __future__ import annotations

from typing import Any

import torch


def topk_correct(logits: torch.Tensor, target: torch.Tensor, k: int) -> torch.Tensor:
    """Number of rows whose target is among the k highest logits (a 0-dim tensor)."""
    k = min(k, logits.shape[1])
    top = logits.topk(k, dim=1).indices
    return (top == target[:, None]).any(dim=1).sum()


def confusion_update(conf: torch.Tensor, pred: torch.Tensor, target: torch.Tensor) -> None:
    """Add a batch to a (C, C) confusion matrix in place; rows are true classes."""
    n = conf.shape[0]
    conf += torch.bincount(target * n + pred, minlength=n * n).reshape(n, n)


def top_probs(logits: torch.Tensor, k: int = 5) -> tuple[torch.Tensor, torch.Tensor]:
    """The k most probable classes of each row and their softmax probabilities (ids, probs)."""
    probs, ids = logits.float().softmax(dim=1).topk(min(k, logits.shape[1]), dim=1)
    return ids, probs


def per_class_accuracy(confusion: list[list[int]]) -> list[float]:
    """Recall of each class (diagonal / row sum); 0 for a class with no images."""
    out = []
    for i, row in enumerate(confusion):
        total = sum(row)
        out.append(row[i] / total if total else 0.0)
    return out


def generalization_gap(record: dict[str, Any]) -> dict[str, float]:
    """Train minus held-out accuracy, and held-out minus train loss, of one epoch's record.

    Both are positive when the model overfits (study 001 reports the loss gap). The
    held-out split is validation when the run has one (``n_val`` in its summary), else test.
    The train figures are running averages over the epoch's augmented batches, as the
    studies' own loops report them.
    """
    split = "val" if "val_acc" in record else "test"
    if f"{split}_acc" not in record or "train_acc" not in record:
        return {}
    return {"gap_acc": record["train_acc"] - record[f"{split}_acc"],
            "gap_loss": record[f"{split}_loss"] - record["train_loss"]}
