"""Exit polls and quick counts: sample design, design-based estimates, official comparison."""

from __future__ import annotations

from .calibration import FalseAlarmStudy, false_alarm_study
from .compare import ComparisonResult, compare_with_official
from .coverage import CoverageResult, coverage_study
from .estimates import ShareEstimates
from .exitpoll import ExitPollResult, estimate_by_stratum, estimate_exitpoll
from .exitpoll_sim import SimulatedExitPoll, fabricate, simulate_exitpoll, simulate_exitpoll_on
from .frame import SamplingFrame, frame_from_table, open_frame, read_frame
from .interviews import Interviews, interviews_from_frame, read_interviews
from .official import OfficialResults, compare_exit_poll, compare_quick_count, read_official
from .planning import plan_exit_poll, plan_quick_count, skip_interval
from .projection import SeatProjection, project_seats, threshold_probability
from .quickcount import QuickCountResult, quick_count, quick_count_progress, stratified_ratio
from .sample import SampleDraw, draw_sample, redo_draw, write_assignment_sheets

__all__ = [
    "ComparisonResult",
    "CoverageResult",
    "ExitPollResult",
    "FalseAlarmStudy",
    "Interviews",
    "OfficialResults",
    "QuickCountResult",
    "SampleDraw",
    "SamplingFrame",
    "SeatProjection",
    "ShareEstimates",
    "SimulatedExitPoll",
    "compare_exit_poll",
    "compare_quick_count",
    "compare_with_official",
    "coverage_study",
    "draw_sample",
    "estimate_by_stratum",
    "estimate_exitpoll",
    "fabricate",
    "false_alarm_study",
    "frame_from_table",
    "interviews_from_frame",
    "open_frame",
    "plan_exit_poll",
    "plan_quick_count",
    "project_seats",
    "quick_count",
    "quick_count_progress",
    "read_frame",
    "read_interviews",
    "read_official",
    "redo_draw",
    "simulate_exitpoll",
    "simulate_exitpoll_on",
    "skip_interval",
    "stratified_ratio",
    "threshold_probability",
    "write_assignment_sheets",
]
