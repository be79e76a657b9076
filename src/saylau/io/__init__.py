"""Readers and writers of real-world election files, with row-precise errors."""

from __future__ import annotations

from .columnmap import ColumnMapping, ReadOptions, mapping_for_file, read_options
from .mappings import detect_mapping
from .readers import read_frame, read_protocols
from .samples import SAMPLES, sample_path
from .votes import read_votes_csv

__all__ = [
    "SAMPLES",
    "ColumnMapping",
    "ReadOptions",
    "detect_mapping",
    "mapping_for_file",
    "read_frame",
    "read_options",
    "read_protocols",
    "read_votes_csv",
    "sample_path",
]
