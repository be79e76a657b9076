"""The survey comparisons' false-alarm rates measured on clean elections, and what they decide.

Every comparison of :mod:`saylau.survey.compare` quotes, in its finding, the false-alarm rate
its alarm had on honest official results (real elections resampled as populations,
:func:`saylau.survey.calibration.false_alarm_study`); the runs, with their seeds, are in
:data:`CALIBRATION`. Where a rate lies above the binomial band of the nominal level, the
comparison is a screen (:func:`no_tally_is_screen`).

Examples
--------
>>> FALSE_ALARM_RATE[("exit poll", "strata")] <= 0.05
True
"""

from __future__ import annotations

from scipy import stats

__all__ = ["CALIBRATION", "FALSE_ALARM_RATE", "NO_TALLY_FALSE_ALARM", "no_tally_is_screen"]

#: Where the false-alarm rates below were measured (with their seeds).
CALIBRATION = "tests/results/survey_false_alarms.json"

#: False-alarm rates at the 5% level on resampled real elections (honest official results),
#: from :data:`CALIBRATION`: (kind, level of the test) -> the largest rate measured.
FALSE_ALARM_RATE: dict[tuple[str, str], float] = {
    # Russia 2011, 1,500 stations, 60 samples (0.067); 300 stations, 150 (0.027); PPS with 20%
    # missing, 300 stations, 100 (0.030)
    ("quick count", "national"): 0.067,
    # the same runs, Holm over 84 regions, re-drawn tests: 0 of 60, 4 of 150, under SRS; with
    # take-all strata, 300 stations, 100 samples: Russia 2011 0.020, Russia 2021 0.030
    ("quick count", "strata"): 0.030,
    # Russia 2004, 300 stations in 91 strata: 0.055 (200 polls), 0.090 (200), 0.043 (400),
    # 0.040 (200); 1,500 stations: 0.080 (50); Poland 2020, 300 stations: 0.055, 0.065 (200);
    # 1,500: 0.020 (50)
    ("exit poll", "national"): 0.090,
    # re-drawn per-stratum tests against every station's protocol, Holm over the strata:
    # Russia 2004 0.030 (300 stations, 200 polls), 0.040 (1,500, 50); Poland 2020 0.045
    # (300, 200), 0.040 (1,500, 50)
    ("exit poll", "strata"): 0.045,
}


#: The national exit-poll comparison of a poll weighted without the interviewers' tally,
#: measured on honest polls whose interviewing intervals differ by station (set from each
#: station's turnout): (largest rate, polls of that run, where). From :data:`CALIBRATION`;
#: Poland 2020, where station size goes less with the vote, gave 0.000 of 200 (seed 6300).
NO_TALLY_FALSE_ALARM: tuple[float, int, str] = (
    0.915,
    200,
    "Russia 2004 resampled, 300 stations, seed 5300",
)


def no_tally_is_screen(level: float = 0.05) -> bool:
    """Whether the no-tally comparison is a screen: its measured false-alarm rate lies above
    the 99% binomial band of the nominal ``level`` over the polls of the run.

    >>> isinstance(no_tally_is_screen(), bool)
    True
    """
    rate, draws, _ = NO_TALLY_FALSE_ALARM
    return rate > float(stats.binom.ppf(0.995, draws, level)) / draws
