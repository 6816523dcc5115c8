"""Accuracy, top-k, confusion matrix and what derives from them.

Counts are accumulated on the device as tensors and read back once per
evaluation: a .item() per batch would sync the GPU every step.
"""
from __future__ import annotations

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


def per_class_accuracy(confusion: list[list[int]]) -> list[float]:
    """Recall of each class (diagonal / row sum); 0 for a class with no images."""
    out = []
    for i, row in enumerate(confusion):
        total = sum(row)
        out.append(row[i] / total if total else 0.0)
    return out


def generalization_gap(train_acc: float, eval_acc: float) -> float:
    """Train accuracy minus held-out accuracy (positive: overfitting)."""
    return train_acc - eval_acc
