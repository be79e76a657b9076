"""The dashboard's view of a cached live estimate shows the library's figures unchanged: the
intervals of ``ShareEstimates.table`` and the comparison of ``compare_with_official``, as the
store caches them (JSON), with no statistics recomputed in the web layer."""

from __future__ import annotations

import json

import numpy as np

from saylau.results import to_jsonable
from saylau.survey.compare import compare_with_official
from saylau.survey.estimates import ShareEstimates
from saylau.web.live_view import estimate_view

# a 3-choice estimate with a valid covariance (rows sum to zero: shares sum to one)
COV = 1e-4 * np.array([[2.0, -1.0, -1.0], [-1.0, 2.0, -1.0], [-1.0, -1.0, 2.0]])
EST = ShareEstimates(choices=("a", "b", "c"), estimate=np.array([0.5, 0.3, 0.2]), cov=COV,
                     df=40.0, method="test", nobs=200, n_psu=50, n_strata=10)  # fmt: skip
NAMES = {"a": "A", "b": "B", "c": "Барлығына қарсы"}
OFFICIAL = {"a": 4000.0, "b": 3500.0, "c": 2500.0}  # 0.40 / 0.35 / 0.25: far outside for "a"


def _cached(comparison: bool) -> dict[str, object]:
    """What the store caches (through JSON, as the database keeps it)."""
    live = {
        "status": "ok", "shares": EST.table(), "stations_sampled": 60, "stations_reported": 50,
        "strata": [{"stratum": "Алматы", "sampled": 6, "reported": 5}],
        "comparison": to_jsonable(compare_with_official(EST, OFFICIAL)) if comparison else None,
        "computed_at": "2026-12-06T20:00:00+00:00",
    }  # fmt: skip
    return json.loads(json.dumps(live))


def test_intervals_are_the_librarys() -> None:
    view = estimate_view(_cached(False), NAMES, lambda s: s)
    low, high = EST.conf_int()
    assert [r["name"] for r in view["rows"]] == ["A", "B", "Барлығына қарсы"]
    np.testing.assert_allclose([r["low"] for r in view["rows"]], low)
    np.testing.assert_allclose([r["high"] for r in view["rows"]], high)
    assert (view["reported"], view["sampled"]) == (50, 60)
    assert view["strata"][0]["stratum"] == "Алматы"
    assert not view["finding"]["alarm"] and not view["has_official"]


def test_official_comparison_is_the_librarys() -> None:
    view = estimate_view(_cached(True), NAMES, lambda s: s)
    cmp = compare_with_official(EST, OFFICIAL)
    assert view["finding"]["alarm"] is bool(cmp.flagged) is True
    assert view["finding"]["caveats"] == [cmp.caveat]
    for row, ref in zip(view["rows"], cmp.rows, strict=True):
        assert row["official"] == ref.official
        assert row["inside"] == (ref.ci_low <= ref.official <= ref.ci_high)
    assert view["rows"][0]["inside"] is False  # 0.40 against 0.50 ± 0.03


def test_states_before_an_estimate() -> None:
    assert estimate_view(None, NAMES, lambda s: s)["rows"] is None
    waiting = estimate_view({"status": "no sampled station reported yet"}, NAMES, lambda s: s)
    assert waiting["note"].startswith("Not computed yet")
    failed = estimate_view({"status": "not estimable yet", "reason": "one station"}, NAMES, str)
    assert failed["note"] == "Not estimable yet: one station"
