"""saylau.report: the evidence report (HTML and PDF, in Kazakh, Russian and English), figures.

>>> from saylau.report import build_report, prepare_report, write_report
"""

from __future__ import annotations

from .build import ReportResult, build_report, write_report
from .data import ReportData, prepare_report

__all__ = ["ReportData", "ReportResult", "build_report", "prepare_report", "write_report"]
