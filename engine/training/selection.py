"""Model selection: which epoch is "best". One rule for the loop, the dashboard, watch and compare.

The validation split alone chooses (best.pt, early stopping, the plateau schedule and the "best"
every screen shows): choosing on the test set would make the reported test accuracy optimistic.
Without a validation split nothing is chosen: the last epoch stands.

Plain Python: the command line's watch and the app read it without importing torch.
"""
from __future__ import annotations

import math
from typing import Any, Mapping

SELECTION_METRIC = "val_acc"


def selection_value(record: Mapping[str, Any]) -> float | None:
    """The number selection compares (None: this record has no validation split or a damaged value)."""
    value = record.get(SELECTION_METRIC)
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def improves(record: Mapping[str, Any], best: float | None) -> bool:
    """Is this epoch better than the best so far? Strictly: a tie keeps the earlier epoch."""
    value = selection_value(record)
    return value is not None and (best is None or value > best)


def chose_by_validation(summary: Mapping[str, Any]) -> bool:
    """Whether a saved run's best epoch was chosen on the validation split (else: the last epoch)."""
    return summary.get("best_metric") == SELECTION_METRIC
