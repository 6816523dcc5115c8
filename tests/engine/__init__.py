"""Unit tests of engine modules, in this process (tiny trainings included; no subprocess training)."""
