"""The forensic figures are written, non-trivial, and drawn without any matplotlib warning.

pytest turns every warning into an error (pyproject), so a font without Cyrillic glyphs, a
layout that cannot be satisfied or a log scale with no positive data fails these tests.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from matplotlib import image as mpimg

from saylau.forensics import (
    digit_tests,
    excess_votes,
    fingerprint,
    integer_peaks,
    simulate_election,
)
from saylau.forensics.simulate import FraudSpec
from saylau.report.forensics_plots import (
    fingerprint_figure,
    regions_figure,
    save_forensics_plots,
    short_name,
)


@pytest.fixture(scope="module")
def election() -> object:
    spec = FraudSpec(kind="incremental", share=0.15)
    return simulate_election(stations=4000, regions=6, fraud=spec, against_all=True, rng=5)


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


def test_all_figures_with_results(tmp_path: Path, election: object) -> None:
    table = election.table  # type: ignore[attr-defined]
    results = {
        "integer_peaks": integer_peaks(table),
        "excess_votes": excess_votes(table),
        "fingerprint": fingerprint(table, fit=False, rng=1),
        "digits": digit_tests(table, resamples=50, rng=2),
    }
    paths = save_forensics_plots(results, table, tmp_path / "out")
    assert sorted(p.name for p in paths) == [
        "digits.png",
        "fingerprint.png",
        "histograms.png",
        "regions.png",
        "shpilkin.png",
    ]
    for p in paths:
        _check_png(p)


def test_figures_without_results_and_without_regions(tmp_path: Path, election: object) -> None:
    table = election.table  # type: ignore[attr-defined]
    flat = type(table).from_frame(
        table.frame.drop("region"),
        profile=table.profile,
        choices=list(table.choices),
    )
    paths = save_forensics_plots({}, flat, tmp_path)
    assert sorted(p.name for p in paths) == ["fingerprint.png", "histograms.png", "shpilkin.png"]
    for p in paths:
        _check_png(p)
    assert regions_figure(flat) is None


def test_against_all_is_drawn_as_a_choice(election: object) -> None:
    table = election.table  # type: ignore[attr-defined]
    from saylau.report.forensics_plots import histograms_figure, shpilkin_figure

    hist = histograms_figure(table)
    assert len(hist.axes) == 3  # turnout, leader, Against all
    assert "Против всех" in hist.axes[2].get_title(loc="left")
    curves = shpilkin_figure(table)
    labels = [line.get_label() for line in curves.axes[0].get_lines()]
    assert "Против всех" in labels


def test_fingerprint_counts_every_usable_station(election: object) -> None:
    table = election.table  # type: ignore[attr-defined]
    fig = fingerprint_figure(table)
    data = fig.axes[0].images[0].get_array()
    # every station with a defined turnout and share (<= 100%) is in exactly one cell
    reg = table.registered()
    cast = table.cast()
    ok = (reg > 0) & (cast > 0) & (table.issued() <= reg)
    assert int(np.ma.filled(data, 0).sum()) == int(ok.sum())


def test_short_name() -> None:
    assert short_name('2. Политическая партия "Либерально-демократическая партия России"') == (
        "Либерально-демократическая партия…"
    )
    assert short_name("Против всех") == "Против всех"


def test_figures_print_the_run_finding_next_to_the_number(election: object) -> None:
    from saylau.forensics.battery import run_forensics
    from saylau.report.forensics_plots import histograms_figure, shpilkin_figure

    table = election.table  # type: ignore[attr-defined]
    report = run_forensics(table, seed=1, methods=("integer_peaks", "excess_votes"))
    results = {**report.results, "_findings": {o.name: o.finding for o in report.outcomes}}
    # without the run's finding, a figure prints the result's own (the fingerprint's: a model)
    own = {"fingerprint": fingerprint(table, fit=False, rng=1)}
    texts = [t.get_text() for t in fingerprint_figure(table, own).texts]
    assert any("model-based" in t and "never an alarm" in t for t in texts)
    hist = " ".join(t.get_text() for t in histograms_figure(table, results).texts)
    verdict = "ALARM at 0.01" if report.finding("integer_peaks").alarm else "no alarm at 0.01"
    assert verdict in hist.replace("\n", " ")
    curves = " ".join(t.get_text() for t in shpilkin_figure(table, results).texts)
    assert "rise with turnout" in curves.replace("\n", " ")  # Shpilkin's assumption, stated


def test_shpilkin_figure_uses_the_method_station_rule(election: object) -> None:
    from saylau.report.forensics_plots import _curves_from_table

    table = election.table  # type: ignore[attr-defined]
    res = excess_votes(table, by=None)
    curves, _total = _curves_from_table(table, [table.leader()])
    # the same stations and bins as the method: the leader's curve is the method's own
    assert curves[table.leader().id] == pytest.approx(np.asarray(res.leader_by_bin))
