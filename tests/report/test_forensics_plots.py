"""The forensic figures are written, non-trivial, and drawn without any matplotlib warning.

pytest turns every warning into an error (pyproject), so a font without Cyrillic glyphs, a
layout that cannot be satisfied or a log scale with no positive data fails these tests.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from matplotlib import image as mpimg

from saylau.forensics import digit_tests, excess_votes, fingerprint, integer_peaks
from saylau.forensics.battery import run_forensics
from saylau.forensics.distributions import distributions
from saylau.forensics.simulate import FraudSpec, simulate_election
from saylau.report.figure_style import SERIES, short_name
from saylau.report.figures import make_figure
from saylau.report.forensics_plots import curves_from_table, save_forensics_plots


@pytest.fixture(scope="module")
def election() -> object:
    spec = FraudSpec(kind="incremental", share=0.15)
    return simulate_election(stations=800, regions=5, fraud=spec, against_all=True, rng=5)


def _check_png(path: Path, min_bytes: int = 20_000) -> tuple[int, int]:
    assert path.exists()
    assert path.stat().st_size > min_bytes  # a blank figure of this size is ~10 kB
    img = mpimg.imread(path)
    h, w = img.shape[:2]
    assert w >= 600 and h >= 400
    # not a blank canvas: a good share of pixels differ from the white background
    rgb = img[..., :3]
    assert (rgb < 0.95).any(axis=-1).mean() > 0.02
    return w, h


def _texts(fig: object) -> str:
    from matplotlib.text import Text

    return " ".join(t.get_text() for t in fig.findobj(Text)).replace("\n", " ")  # type: ignore[attr-defined]


def test_all_figures_from_results(tmp_path: Path, election: object) -> None:
    table = election.table  # type: ignore[attr-defined]
    results = {
        "distributions": distributions(table),
        "integer_peaks": integer_peaks(table),
        "excess_votes": excess_votes(table),
        "fingerprint": fingerprint(table, fit=False, rng=1),
        "digits": digit_tests(table, resamples=30, rng=2),
    }
    paths = save_forensics_plots(results, table, tmp_path / "out")
    assert sorted(p.name for p in paths) == [
        "digits.png",
        "fingerprint.png",
        "integer-peaks.png",
        "regions.png",
        "shares.png",
        "shpilkin.png",
        "turnout.png",
    ]  # no coarse-shares result given: that figure is left out, nothing is computed
    for p in paths:
        _check_png(p)


def test_figures_without_regions(tmp_path: Path, election: object) -> None:
    table = election.table  # type: ignore[attr-defined]
    flat = type(table).from_frame(
        table.frame.drop("region"), profile=table.profile, choices=list(table.choices)
    )
    results = {"distributions": distributions(flat), "fingerprint": fingerprint(flat, fit=False)}
    paths = save_forensics_plots(results, flat, tmp_path)
    assert sorted(p.name for p in paths) == ["fingerprint.png", "shares.png", "turnout.png"]
    for p in paths:
        _check_png(p)
    assert make_figure("regions", flat, source="flat") is None


def test_against_all_is_drawn_as_a_choice(election: object) -> None:
    """Its own panel and curve, in a series colour of the palette, not greyed out."""
    table = election.table  # type: ignore[attr-defined]
    shares = make_figure("shares", table, source="sim").figure  # type: ignore[union-attr]
    axes = [ax for ax in shares.axes if ax.get_title(loc="left")]
    titles = [ax.get_title(loc="left") for ax in axes]
    assert "Против всех" in titles
    aa = axes[titles.index("Против всех")]
    patch = aa.patches[0]
    colours = {s.colour.lower() for s in SERIES}
    from matplotlib.colors import to_hex

    assert to_hex(patch.get_facecolor(), keep_alpha=False) in colours
    assert patch.get_alpha() == axes[0].patches[0].get_alpha()  # drawn like the leader
    curves = make_figure("shpilkin", table, source="sim").figure  # type: ignore[union-attr]
    labels = [line.get_label() for line in curves.axes[0].get_lines()]
    assert "Против всех" in labels


def test_fingerprint_counts_every_usable_station(election: object) -> None:
    table = election.table  # type: ignore[attr-defined]
    fig = make_figure("fingerprint", table, source="sim").figure  # type: ignore[union-attr]
    data = fig.axes[0].images[0].get_array()
    # every station with a defined turnout and share (<= 100%) is in exactly one cell
    reg = table.registered()
    cast = table.cast()
    ok = (reg > 0) & (cast > 0) & (table.turnout_ballots() <= reg)
    assert int(np.ma.filled(data, 0).sum()) == int(ok.sum())


def test_short_name() -> None:
    assert short_name('2. Политическая партия "Либерально-демократическая партия России"') == (
        "Либерально-демократическая партия…"
    )
    assert short_name("Против всех") == "Против всех"


def test_figures_print_the_run_finding_next_to_the_number(election: object) -> None:
    table = election.table  # type: ignore[attr-defined]
    report = run_forensics(table, seed=1, methods=("integer_peaks", "excess_votes"))
    fig = make_figure("integer-peaks", table, report=report, source="sim")
    assert fig is not None
    text = _texts(fig.figure)
    f = report.finding("integer_peaks")
    assert ("ALARM at level 0.01" if f.alarm else "no alarm at level 0.01") in text
    ip = report.results["integer_peaks"]
    assert f"z = {ip.z:.1f}" in text  # the number, with its null s.d. beside it
    curves = _texts(make_figure("shpilkin", table, report=report, source="sim").figure)  # type: ignore[union-attr]
    assert "rise with turnout" in curves  # Shpilkin's assumption, stated
    fe = report.finding("excess_votes")  # a test since its alarm is the within-unit test
    assert ("ALARM at level 0.01" if fe.alarm else "no alarm at level 0.01") in curves


def test_shpilkin_figure_uses_the_method_station_rule(election: object) -> None:
    table = election.table  # type: ignore[attr-defined]
    res = excess_votes(table, by=None)
    curves, _total = curves_from_table(table, [table.leader()])
    # the same stations and bins as the method: the leader's curve is the method's own
    assert curves[table.leader().id] == pytest.approx(np.asarray(res.leader_by_bin))


def test_shpilkin_without_a_clean_peak_says_so(election: object) -> None:
    import dataclasses
    import math

    from saylau.report.figures import figure_from_results

    table = election.table  # type: ignore[attr-defined]
    na = dataclasses.replace(excess_votes(table), estimate=math.nan, ratio=math.nan)
    fig = figure_from_results("shpilkin", table, {"excess_votes": na}, source="sim")
    assert fig is not None
    text = _texts(fig.figure)
    assert "no plausible clean peak" in text and "anomalous votes" not in text


def test_first_figure_api_still_draws_with_the_run_findings(election: object) -> None:
    """histograms_figure & co. (the report's first adapter calls them) draw the same panels."""
    from saylau.report.forensics_plots import (
        digits_figure,
        fingerprint_figure,
        histograms_figure,
        shpilkin_figure,
    )

    table = election.table  # type: ignore[attr-defined]
    report = run_forensics(
        table, seed=1, methods=("distributions", "integer_peaks", "excess_votes")
    )
    results = {**report.results, "_findings": {o.name: o.finding for o in report.outcomes}}
    f = report.finding("integer_peaks")
    text = _texts(histograms_figure(table, results))
    assert ("ALARM at level 0.01" if f.alarm else "no alarm at level 0.01") in text
    assert "Holm correction over 2 tests" in text  # the run's correction, not the result's own
    assert shpilkin_figure(table, results) is not None
    assert fingerprint_figure(table, results) is None  # no fingerprint result: nothing is run
    assert digits_figure(table, results) is None
