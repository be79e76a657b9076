"""The dashboard's view of a cached live estimate: the library's intervals and comparison,
carried through the JSON cache unchanged (no statistics recomputed in the web layer)."""

from __future__ import annotations

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


def _live(official: dict[str, int] | None) -> dict[str, object]:
    result = {"shares": to_jsonable(EST), "stations_sampled": 60, "stations_reported": 50,
              "strata": [{"stratum": "Алматы", "sampled": 6, "reported": 5}]}  # fmt: skip
    return {"status": "ok", "result": result, "official_totals": official,
            "computed_at": "2026-12-06T20:00:00+00:00"}  # fmt: skip


def test_intervals_are_the_librarys() -> None:
    view = estimate_view(_live(None), NAMES, lambda s: s)
    low, high = EST.conf_int()
    assert [r["name"] for r in view["rows"]] == ["A", "B", "Барлығына қарсы"]
    np.testing.assert_allclose([r["low"] for r in view["rows"]], low)
    np.testing.assert_allclose([r["high"] for r in view["rows"]], high)
    assert (view["reported"], view["sampled"]) == (50, 60)
    assert view["strata"][0]["stratum"] == "Алматы"
    assert not view["finding"]["alarm"]


def test_official_comparison_is_the_librarys() -> None:
    official = {"a": 4000, "b": 3500, "c": 2500}  # 0.40 / 0.35 / 0.25: far outside for "a"
    view = estimate_view(_live(official), NAMES, lambda s: s)
    cmp = compare_with_official(EST, {k: float(v) for k, v in official.items()})
    assert view["finding"]["alarm"] == bool(cmp.flagged) is True
    assert view["finding"]["caveats"] == [cmp.caveat]
    for row, ref in zip(view["rows"], cmp.rows, strict=True):
        assert (row["low"], row["high"], row["official"]) == (ref.ci_low, ref.ci_high, ref.official)
        assert row["inside"] == (ref.ci_low <= ref.official <= ref.ci_high)
    assert view["rows"][0]["inside"] is False  # 0.40 against 0.50 ± 0.03


def test_states_before_an_estimate() -> None:
    assert estimate_view(None, NAMES, lambda s: s)["rows"] is None
    no_sample = estimate_view({"status": "no quick-count sample imported"}, NAMES, lambda s: s)
    assert no_sample["note"] == "No sample imported yet."
    waiting = estimate_view({"status": "no sampled station reported yet"}, NAMES, lambda s: s)
    assert waiting["note"].startswith("Not computed yet")
