"""Survey comparisons that do not cry wolf: the cases where a report cannot carry a test.

Honest copies (equal to the official protocols) of a synthetic election: a single report, a
report with an empty cell, a region with fewer reports than choices, and a copy that fails its
own control relation must raise no alarm and say why; a zero variance never becomes p = 0.
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest

from saylau.domain.table import ProtocolTable
from saylau.results import Finding
from saylau.survey.compare import compare_with_official, holm
from saylau.survey.estimates import ShareEstimates
from saylau.survey.frame import SamplingFrame
from saylau.survey.official import OfficialResults, compare_quick_count
from saylau.survey.quickcount import quick_count

CHOICES = ["A", "B", "C", "D", "Против всех"]


@pytest.fixture(scope="module")
def population() -> pl.DataFrame:
    g = np.random.default_rng(42)
    rows = []
    for r in range(4):
        base = g.dirichlet([10, 6, 3, 2, 1])
        for i in range(50):
            valid = int(g.integers(300, 1200))
            votes = g.multinomial(valid, g.dirichlet(base * 80))
            rows.append(
                {"station": f"{r}-{i}", "region": f"R{r}", "voters_on_list": valid + 400,
                 "issued": valid + 10, "invalid": 10, "valid": valid,
                 **dict(zip(CHOICES, votes.tolist(), strict=True))}
            )  # fmt: skip
    return pl.DataFrame(rows)


def _table(df: pl.DataFrame) -> ProtocolTable:
    return ProtocolTable.from_frame(df, profile="plain", choices=CHOICES, levels=["region"])


def _compare(population: pl.DataFrame, reports: pl.DataFrame):
    full = _table(population)
    frame = SamplingFrame.from_frame(
        population.select("station", pl.col("voters_on_list").alias("registered"), "region")
    )
    rep = _table(reports)
    qc = quick_count(rep, frame=frame, strata=["region"], by_stratum=True, empty="collapse")
    res = compare_quick_count(qc, OfficialResults.from_table(full), reports=rep, strata=["region"])
    return qc, res


def _no_alarm(res) -> None:
    for f in (res.finding, res.strata_finding, res.stations_finding):
        assert f is None or (isinstance(f, Finding) and not f.alarm), f
    assert not res.flagged
    for jt in (res.joint, *res.strata_joint.values()):
        assert not (jt.tested and jt.pvalue == 0.0)


def test_a_single_honest_report_raises_no_alarm(population):
    _, res = _compare(population, population.head(1))
    _no_alarm(res)
    assert not res.joint.tested and "too few reports" in res.joint.reason
    assert math.isnan(res.joint.pvalue)
    assert all(math.isnan(r.pvalue) for r in res.rows)  # no variance: no test, not p = 0
    assert "not tested" in " ".join(res.finding.caveats)
    # the other regions had no report: the national finding says so
    assert "3 strata have no report" in res.finding.caveats[0]


def test_a_region_with_fewer_reports_than_choices(population):
    # R0 has two reports for five choices, R1 one, the others ten each
    reports = pl.concat(
        [
            population.filter(pl.col("region") == "R0").head(2),
            population.filter(pl.col("region") == "R1").head(1),
            population.filter(pl.col("region") == "R2").head(10),
            population.filter(pl.col("region") == "R3").head(10),
        ]
    )
    _, res = _compare(population, reports)
    _no_alarm(res)
    assert "R1" in res.strata_untested and "too few" in res.strata_untested["R1"]
    assert "R0" in res.strata_joint  # two reports can be tested (re-drawn), never p = 0
    assert "1 of 4 strata not tested" in res.strata_finding.caveats[0]
    assert res.strata_finding.correction.startswith("Holm over 3 strata")


def _spread(population: pl.DataFrame, per_region: int = 4) -> pl.DataFrame:
    return pl.concat(
        [population.filter(pl.col("region") == f"R{r}").head(per_region) for r in range(4)]
    )


def test_an_empty_cell_is_missing_not_zero(population):
    reports = _spread(population).with_columns(
        pl.when(pl.col("station") == "0-3").then(None).otherwise(pl.col("B")).alias("B")
    )
    qc, res = _compare(population, reports)
    _no_alarm(res)
    assert {e.station: e.reason for e in qc.excluded}["0-3"] == "missing vote figure"
    assert res.stations == ()  # the empty cell is not a "copy differs" finding
    assert res.stations_not_compared["0-3"].startswith("empty cell")


def test_a_copy_failing_its_control_relation_is_kept_out_and_listed(population):
    reports = _spread(population).with_columns(
        pl.when(pl.col("station") == "0-2").then(pl.col("A") + 7).otherwise(pl.col("A")).alias("A")
    )
    qc, res = _compare(population, reports)
    out = {e.station: e for e in qc.excluded}
    assert out["0-2"].reason.startswith("copy fails a strict control relation")
    assert out["0-2"].detail is not None  # which relation, found and expected
    assert res.stations == ()  # a failing copy is not compared
    assert qc.stations_reported == 15
    # a valid copy that differs is a finding (the alarm of fact)
    reports = _spread(population).with_columns(
        pl.when(pl.col("station") == "0-2").then(pl.col("A") + 7).otherwise(pl.col("A")).alias("A"),
        pl.when(pl.col("station") == "0-2").then(pl.col("B") - 7).otherwise(pl.col("B")).alias("B"),
    )
    _, res = _compare(population, reports)
    assert [(f.station, f.choice) for f in res.stations] == [("0-2", "A"), ("0-2", "B")]
    assert res.stations_finding.alarm and res.flagged


def test_joint_test_with_fewer_df_than_choices_is_bonferroni_not_zero():
    p = np.array([0.5, 0.3, 0.15, 0.05])
    cov = 1e-4 * (np.diag(p) - np.outer(p, p)) * 10
    est = ShareEstimates(
        choices=("A", "B", "C", "D"), estimate=p, cov=cov, df=2.0, method="t",
        nobs=3, n_psu=3, n_strata=1,
    )  # fmt: skip
    res = compare_with_official(est, {"A": 0.49, "B": 0.31, "C": 0.15, "D": 0.05})
    assert res.joint.tested and res.joint.method.startswith("Bonferroni t")
    assert 0.05 < res.joint.pvalue <= 1.0
    # a choice with no variance but a positive share is dropped, not divided by zero
    cov2 = cov.copy()
    cov2[3, :] = cov2[:, 3] = 0.0
    est2 = ShareEstimates(
        choices=est.choices, estimate=p, cov=cov2, df=40.0, method="t", nobs=41, n_psu=41,
        n_strata=1,
    )  # fmt: skip
    res2 = compare_with_official(est2, {"A": 0.5, "B": 0.3, "C": 0.15, "D": 0.05}, test="wald")
    assert res2.joint.excluded == ("D",) and res2.joint.tested
    assert res2.joint.statistic == pytest.approx(0.0, abs=1e-9)


def test_holm_matches_the_step_down_by_hand():
    # Holm (1979): sorted p (0.01, 0.03, 0.04) × (3, 2, 1) = (0.03, 0.06, 0.04) -> monotone
    assert holm({"a": 0.01, "b": 0.04, "c": 0.03}) == {"a": 0.03, "c": 0.06, "b": 0.06}
