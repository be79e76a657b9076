"""The battery's typed report: registry, family-wise alarms (Holm), findings, per-unit correction.

Expected values: Holm's procedure is checked against statsmodels' ``multipletests`` (an
established implementation); the alarms against simulated elections with a known truth
(``simulate_election``: drawn protocols put stations at whole percentages, clean ones do not).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from statsmodels.stats.multitest import multipletests

from saylau.forensics import fingerprint
from saylau.forensics.battery import (
    REGISTRY,
    ForensicsReport,
    holm,
    holm_adjusted,
    run_forensics,
)
from saylau.forensics.simulate import FraudSpec, simulate_election
from saylau.results import FINDING_KINDS, Finding


@pytest.mark.parametrize("seed", range(5))
def test_holm_matches_statsmodels(seed: int) -> None:
    g = np.random.default_rng(seed)
    p = np.concatenate([g.uniform(0, 0.02, 3), g.uniform(0, 1, 7)])
    reject, adjusted, _, _ = multipletests(p, alpha=0.05, method="holm")
    assert holm(p.tolist(), 0.05) == reject.tolist()
    assert holm_adjusted(p.tolist()) == pytest.approx(adjusted.tolist())


def test_holm_ignores_missing_pvalues() -> None:
    # one finite p-value: Holm over one test is the test itself
    assert holm([0.004, math.nan], 0.01) == [True, False]
    assert holm_adjusted([0.004, math.nan])[0] == pytest.approx(0.004)


def test_registry_is_one_list_of_known_kinds() -> None:
    names = [s.name for s in REGISTRY]
    assert len(names) == len(set(names))
    assert {s.kind for s in REGISTRY} <= set(FINDING_KINDS)
    # the fraud-model fit and the digit tests are not calibrated tests: they never alarm
    kinds = {s.name: s.kind for s in REGISTRY}
    assert kinds["fingerprint"] == "model"
    assert kinds["digits"] == "screen"
    assert kinds["distributions"] == "screen"


@pytest.fixture(scope="module")
def drawn() -> ForensicsReport:
    # 10% of 6,000 stations with drawn protocols: thousands of integer percentages too many
    sim = simulate_election(stations=6000, regions=4, rounded_share=0.1, rng=11)
    return run_forensics(sim.table, seed=2, resamples=20, by="region")


def test_drawn_protocols_raise_the_integer_alarm(drawn: ForensicsReport) -> None:
    assert "integer_peaks" in drawn.alarms
    f = drawn.finding("integer_peaks")
    assert f.alarm and f.kind == "test" and f.level == 0.01
    assert f.correction.startswith("Holm over")
    assert f.caveats


def test_screens_and_models_never_alarm(drawn: ForensicsReport) -> None:
    for o in drawn.outcomes:
        if o.finding.kind != "test":
            assert not o.finding.alarm, o.name
            assert o.name not in drawn.alarms
        assert o.finding.caveats, o.name  # every finding says what it cannot show
    assert drawn.finding("data_quality").kind == "screen"


def test_json_carries_alarm_level_caveats(drawn: ForensicsReport) -> None:
    out = drawn.to_dict()
    assert out["alarms"] == list(drawn.alarms)
    assert out["level"] == 0.01
    for o in drawn.outcomes:
        if o.name == "distributions":
            continue
        body = out[o.name]
        assert body["alarm"] is o.finding.alarm
        assert body["level"] == 0.01
        assert body["caveats"] == list(o.finding.caveats)
        assert body["finding"]["kind"] == o.finding.kind


def test_per_unit_pvalues_are_holm_corrected(drawn: ForensicsReport) -> None:
    tests = {t.method: t for t in drawn.unit_tests}
    ip = tests["integer_peaks"]
    assert ip.units_tested == 4
    raw = [ip.pvalues[u] for u in sorted(ip.pvalues)]
    _, expected, _, _ = multipletests(raw, method="holm")
    assert [ip.adjusted[u] for u in sorted(ip.pvalues)] == pytest.approx(expected.tolist())
    body = drawn.to_dict()["by_region"]
    unit = sorted(ip.pvalues)[0]
    assert body[unit]["integer_peaks"]["units_tested"] == 4
    assert body[unit]["integer_peaks"]["correction"] == "Holm over 4 units"
    assert body[unit]["integer_peaks"]["pvalue_adjusted"] == pytest.approx(ip.adjusted[unit])


def test_level_is_checked() -> None:
    sim = simulate_election(stations=300, regions=2, rng=1)
    with pytest.raises(ValueError, match="level"):
        run_forensics(sim.table, level=1.5, methods=("integer_peaks",))
    with pytest.raises(ValueError, match="unknown forensic method"):
        run_forensics(sim.table, methods=("nope",))


def test_fingerprint_never_alarms_even_on_heavy_fraud() -> None:
    # 20% extreme fraud: the fit sees it (f_e well above 0) but a model result is no alarm
    sim = simulate_election(stations=1500, regions=1, fraud=FraudSpec("extreme", 0.2), rng=5)
    res = fingerprint(sim.table, bootstrap=0, rng=1)
    assert res.f_e is not None and res.f_e > 0.1
    assert isinstance(res.finding, Finding)
    assert res.finding.kind == "model" and not res.finding.alarm
