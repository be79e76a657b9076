"""Readers and writers of real-world election files, with row-precise errors."""

from __future__ import annotations

from .mappings import ColumnMapping, detect_mapping
from .readers import read_frame, read_protocols
from .samples import SAMPLES, sample_path
from .votes import read_votes_csv

__all__ = [
    "SAMPLES",
    "ColumnMapping",
    "detect_mapping",
    "read_frame",
    "read_protocols",
    "read_votes_csv",
    "sample_path",
]
