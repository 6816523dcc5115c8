"""Fixtures and helpers shared by the tests (imported as ``tests.helpers.<module>``)."""
from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
"""The repository root (where ``python -m tui`` and ``benchmarks/`` run from)."""
