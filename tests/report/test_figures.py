"""The report's figures: every kind in every language, their files, their palette, the CLI.

Expected values have written sources: the colour-vision matrices are Machado, Oliveira and
Fernandes (2009), Table of severity 1.0 (published at
https://www.inf.ufrgs.br/~oliveira/pubs_files/CVD_Simulation/CVD_Simulation.html), applied to
linear sRGB; CIELAB lightness and ΔE (CIE76) follow the CIE formulas with the D65 white point.
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from matplotlib.colors import to_rgb
from matplotlib.text import Text
from typer.testing import CliRunner

from saylau._exceptions import UnknownNameError
from saylau.cli import app
from saylau.domain.table import ProtocolTable
from saylau.forensics.battery import run_forensics
from saylau.forensics.simulate import FraudSpec, simulate_election
from saylau.report.figure_style import OKABE_ITO, SERIES
from saylau.report.figures import FIGURE_KINDS, ReportFigure, figure_svg, make_figure, save_figure

PROTANOPIA = np.array(
    [
        [0.152286, 1.052583, -0.204868],
        [0.114503, 0.786281, 0.099216],
        [-0.003882, -0.048116, 1.051998],
    ]
)
DEUTERANOPIA = np.array(
    [
        [0.367322, 0.860646, -0.227968],
        [0.280085, 0.672501, 0.047413],
        [-0.011820, 0.042940, 0.968881],
    ]
)
SRGB_TO_XYZ = np.array(
    [[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]
)


def _linear(c: np.ndarray) -> np.ndarray:
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def _lab(linear_rgb: np.ndarray) -> np.ndarray:
    xyz = SRGB_TO_XYZ @ np.clip(linear_rgb, 0, 1) / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > 0.008856, np.cbrt(xyz), 7.787 * xyz + 16 / 116)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def test_palette_is_okabe_ito_and_each_series_has_its_own_lines() -> None:
    # Okabe & Ito (2008), the eight colours of "Color Universal Design"
    assert {c.upper() for c in OKABE_ITO.values()} == {
        "#000000", "#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7"
    }  # fmt: skip
    for field in ("colour", "linestyle", "marker", "hatch"):
        values = [repr(getattr(s, field)) for s in SERIES]
        assert len(set(values)) == len(SERIES), field


def test_palette_survives_greyscale() -> None:
    """The first three series (leader, others, the scaled model curve) differ by at least 15
    points of CIELAB lightness; the rest are told apart by line style, marker and hatch."""
    lightness = [_lab(_linear(np.array(to_rgb(s.colour))))[0] for s in SERIES]
    for a, b in itertools.combinations(lightness[:3], 2):
        assert abs(a - b) >= 15
    # and the fill/line colours are never white-on-white: every colour is darker than L* 90
    assert max(lightness) < 90


@pytest.mark.parametrize("matrix", [PROTANOPIA, DEUTERANOPIA], ids=["protanopia", "deuteranopia"])
def test_palette_survives_colour_blindness(matrix: np.ndarray) -> None:
    """Every pair of colours stays at least 10 ΔE apart under the simulated deficiency
    (a just-noticeable difference is about 2.3; 10 is a clear one)."""
    simulated = {
        name: _lab(matrix @ _linear(np.array(to_rgb(hexa)))) for name, hexa in OKABE_ITO.items()
    }
    for a, b in itertools.combinations(simulated, 2):
        assert np.linalg.norm(simulated[a] - simulated[b]) >= 10, (a, b)


# --------------------------------------------------------------------------- figures
def _in_kazakh(table: ProtocolTable) -> ProtocolTable:
    """The same election with Kazakh choice and region names (no English in the data)."""
    names = iter(["Аманат", "Ақ жол", "Ауыл", "Respublica", "Байтақ"])
    rename = {c.id: ("Барлығына қарсы" if c.against_all else next(names)) for c in table.choices}
    frame = table.frame.rename(rename).with_columns(pl.col("region").str.replace("R", "Облыс "))
    choices = [rename[c.id] for c in table.choices]
    return ProtocolTable.from_frame(
        frame, profile=table.profile, choices=choices, levels=["region"]
    )


@pytest.fixture(scope="module")
def kazakh() -> ProtocolTable:
    spec = FraudSpec(kind="incremental", share=0.1)
    sim = simulate_election(stations=1000, regions=4, fraud=spec, against_all=True, rng=11)
    return _in_kazakh(sim.table)


@pytest.fixture(scope="module")
def clean() -> ProtocolTable:
    return _in_kazakh(simulate_election(stations=600, regions=3, against_all=True, rng=12).table)


@pytest.fixture(scope="module")
def reports(kazakh: ProtocolTable, clean: ProtocolTable) -> tuple[object, object]:
    return (
        run_forensics(kazakh, seed=1, resamples=40),
        run_forensics(clean, seed=2, resamples=40),
    )


# words the figures may show in every language: statistic names, symbols, the data itself
ALLOWED = {"n", "p", "z", "f_i", "f_e", "2BL", "LastC", "P05s", "C05s", "Skew", "Kurt", "s.d"}
ALLOWED |= {"Respublica"}  # a party's own (Latin) name


def _figure_texts(fig: ReportFigure) -> list[str]:
    return [t.get_text() for t in fig.figure.findobj(Text) if t.get_visible() and t.get_text()]


@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
def test_every_kind_in_every_language(
    lang: str, kazakh: ProtocolTable, clean: ProtocolTable, reports: tuple[object, object]
) -> None:
    report, ref_report = reports
    for kind in FIGURE_KINDS:
        fig = make_figure(
            kind,
            kazakh,
            report=report,  # type: ignore[arg-type]
            lang=lang,
            source="ОСК 2023",
            reference=clean,
            reference_report=ref_report,  # type: ignore[arg-type]
            reference_source="таза",
        )
        assert fig is not None, kind
        assert fig.kind == kind
        # the source and n of both elections are in the caption, in the locale's digits
        n_main = "1 000" if lang != "en" else "1,000"
        assert "ОСК 2023" in fig.caption and "таза" in fig.caption, fig.caption
        assert re.search(r"n = [\d\s\u00a0,]+", fig.caption)
        if kind in ("turnout", "shares", "regions", "digits"):
            assert n_main.replace(" ", "\u00a0") in fig.caption or n_main in fig.caption
        assert len(fig.alt) > 80
        texts = _figure_texts(fig)
        assert any("ОСК 2023" in t for t in texts) and any("таза" in t for t in texts)
        if lang != "en":  # no English leaks into the kk and ru figures, captions or alt texts
            words = set(re.findall(r"[A-Za-z_][A-Za-z_0-9.]*[A-Za-z0-9]", " ".join(texts)))
            words |= set(re.findall(r"[A-Za-z_][A-Za-z_0-9.]*[A-Za-z0-9]", fig.caption + fig.alt))
            english = {w for w in words if w not in ALLOWED and len(w) > 2}
            assert not english, (kind, lang, english)
        if lang == "kk":  # no text overflows the figure (Kazakh runs longest)
            canvas = fig.figure.canvas
            canvas.draw()
            box = fig.figure.get_tightbbox(canvas.get_renderer())  # type: ignore[attr-defined]
            w, h = fig.figure.get_size_inches()
            assert box.x0 > -0.01 and box.y0 > -0.01, (kind, box)
            assert box.x1 < w + 0.01 and box.y1 < h + 0.01, (kind, box)
        fig.figure.clf()


def test_svg_and_png_files(tmp_path: Path, kazakh: ProtocolTable) -> None:
    fig = make_figure("turnout", kazakh, lang="kk", source="ОСК 2023")
    assert fig is not None
    svg = figure_svg(fig)
    assert svg.startswith("<svg") and svg.rstrip().endswith("</svg>")
    assert "<text" not in svg  # letters are paths: no font to download or to lack
    assert svg.startswith('<svg role="img" aria-label="') and "max-width:100%" in svg
    assert not re.search(r"(href|src)=\"https?:", svg)  # no external request
    png, svg_path = save_figure(fig, tmp_path / "turnout-kk")
    assert png.name == "turnout-kk.png" and svg_path.name == "turnout-kk.svg"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20_000
    assert svg_path.read_text(encoding="utf-8").count("<use") > 100  # glyphs drawn as paths


def test_bad_kind_and_language(kazakh: ProtocolTable) -> None:
    with pytest.raises(UnknownNameError, match=r"unknown figure kind.*turnout"):
        make_figure("pie", kazakh, source="x")
    with pytest.raises(UnknownNameError, match="unknown language"):
        make_figure("turnout", kazakh, source="x", lang="de")


def test_plot_command(tmp_path: Path, kazakh: ProtocolTable) -> None:
    f = tmp_path / "election.csv"
    kazakh.frame.write_csv(f)
    runner = CliRunner()
    res = runner.invoke(
        app, ["plot", "shpilkin", str(f), "--lang", "ru", "--out", str(tmp_path / "a" / "fig")]
    )
    assert res.exit_code == 0, res.output
    assert (tmp_path / "a" / "fig.png").stat().st_size > 20_000
    assert (tmp_path / "a" / "fig.svg").exists()
    assert "election.csv" in res.output and "Избыточные голоса" in res.output
    bad = runner.invoke(app, ["plot", "pie", str(f)])
    assert bad.exit_code == 2
    assert "unknown figure kind" in bad.output and len(bad.output.strip().splitlines()) <= 2
    missing = runner.invoke(app, ["plot", "turnout", str(tmp_path / "nope.csv")])
    assert missing.exit_code == 2 and "nope.csv" in missing.output


def test_plot_command_bad_input(tmp_path: Path, kazakh: ProtocolTable) -> None:
    runner = CliRunner()
    f = tmp_path / "flat.csv"
    kazakh.frame.drop("region").write_csv(f)
    res = runner.invoke(app, ["plot", "turnout", str(f), "--lang", "de"])
    assert res.exit_code == 2 and "unknown language" in res.output
    res = runner.invoke(app, ["plot", "regions", str(f), "--out", str(tmp_path / "r")])
    assert res.exit_code == 1 and "does not apply" in res.output
    assert not (tmp_path / "r.png").exists()
    (tmp_path / "folder").mkdir()
    res = runner.invoke(app, ["plot", "turnout", str(f), "--out", str(tmp_path / "folder")])
    assert res.exit_code == 2 and "--out" in res.output and "folder" in res.output
    bad = tmp_path / "bad.csv"
    bad.write_text("station,voters_on_list,issued,invalid,valid,Аманат\n1,100,x,0,50,50\n")
    res = runner.invoke(app, ["plot", "turnout", str(bad)])
    assert res.exit_code == 2 and "bad.csv" in res.output
