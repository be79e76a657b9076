"""``build_report`` and ``saylau report``: sections where data exists, numbers from the results.

Expected numbers come from the construction of the inputs (tests/report/conftest.py: 5 copies
x 50 votes moved) or from the input files read independently with the standard library.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from saylau.cli import app
from saylau.io import sample_path
from saylau.report import ReportData, ReportResult, build_report
from saylau.report.sections import SECTION_KEYS
from tests.report.conftest import ALTERED, MOVED, Inputs

runner = CliRunner()


def _sample_rows() -> list[dict[str, str]]:
    with gzip.open(sample_path(), "rt", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_every_section_present_with_every_input(full_reports: dict[str, ReportResult]) -> None:
    for res in full_reports.values():
        assert res.sections == SECTION_KEYS
        assert res.dropped == {}
        assert res.html.stat().st_size > 10_000
        assert res.pdf is not None and res.pdf.read_bytes()[:5] == b"%PDF-"


def test_votes_moved_are_the_ones_the_copies_were_built_with(full_data: ReportData) -> None:
    cc = full_data.copy_comparison
    assert cc is not None
    t = full_data.official
    lead = t.leader().id
    assert cc.stations_compared == 300
    assert cc.stations_differing == ALTERED
    moved = {k: v for k, v in cc.moved.items() if v}
    other = next(k for k in moved if k != lead)
    assert moved == {lead: ALTERED * MOVED, other: -ALTERED * MOVED}
    # observer-verified totals: the official ones with the copies' figures put back
    assert full_data.verified is not None
    official = full_data.tabulation.national
    verified = full_data.verified.national
    assert verified[lead] == official[lead] - ALTERED * MOVED
    assert verified[other] == official[other] + ALTERED * MOVED


def test_inputs_are_hashed_and_counted(full_data: ReportData, inputs: Inputs) -> None:
    by_role = {i.role: i for i in full_data.inputs}
    assert set(by_role) >= {"official", "reference", "copies", "quick count", "incidents"}
    official = by_role["official"]
    assert official.sha256 == hashlib.sha256(inputs.official.read_bytes()).hexdigest()
    assert official.rows == len(_sample_rows())  # 7,848 stations (src/saylau/data/README.md)
    assert by_role["copies"].rows == 300
    assert by_role["incidents"].rows == 4


def test_kazakh_report_formats_numbers_the_kazakh_way(
    full_reports: dict[str, ReportResult],
) -> None:
    registered = sum(int(r["Число избирателей, внесенных в список"]) for r in _sample_rows())
    html = {lang: r.html.read_text(encoding="utf-8") for lang, r in full_reports.items()}
    kk = f"{registered:,}".replace(",", "\u00a0")  # CLDR: no-break space groups in kk and ru
    assert kk in html["kk"] and kk in html["ru"]
    assert f"{registered:,}" in html["en"]
    # percentages: decimal comma in kk and ru, point in en (turnout of the results section)
    assert re.search(r"\d+,\d\d%", html["kk"]) and re.search(r"\d+\.\d\d%", html["en"])


def test_a_missing_input_drops_its_section_with_the_reason(tmp_path: Path) -> None:
    res = build_report(
        sample_path(), out=tmp_path, lang="ru", pdf=False, resamples=50, no_reference=True
    )
    assert "survey" not in res.sections and "incidents" not in res.sections
    assert set(res.dropped) == {
        "copies", "quick_count", "exit_poll", "incidents", "reference", "head_counts"
    }  # fmt: skip
    html = res.html.read_text(encoding="utf-8")
    # the summary says why, in Russian (the catalogue's wording)
    assert "Инциденты: сообщения не даны (--incidents)" in html
    assert "Копии наблюдателей: не даны (--copies)" in html


def test_cli_json_names_the_files(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        ["report", "--official", str(sample_path()), "--out", str(tmp_path), "--no-pdf",
         "--resamples", "20", "--no-reference", "--json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    (written,) = json.loads(result.stdout)
    assert written["html"] == str(tmp_path / "report-en.html") and written["pdf"] is None
    assert written["lang"] == "en" and "incidents" in written["dropped"]
    assert written["sections"][0] == "summary" and written["figures"] >= 3


def test_cli_writes_each_language_and_says_what_was_left_out(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        ["report", "--official", str(sample_path()), "--lang", "kk", "--lang", "en",
         "--out", str(tmp_path), "--no-pdf", "--resamples", "50", "--no-reference"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert (tmp_path / "report-kk.html").exists() and (tmp_path / "report-en.html").exists()
    assert "left out: incidents (no incident reports given (--incidents))" in result.output


@pytest.mark.parametrize(
    ("option", "content", "message"),
    [
        ("--official", None, "file not found"),
        ("--incidents", "code,region\nVOTE.STUFFING,A\n,B\n", "row 3, field category"),
        ("--copies", "just some text without numbers\n", "copies.csv"),
    ],
)
def test_unreadable_input_stops_with_one_line(
    tmp_path: Path, option: str, content: str | None, message: str
) -> None:
    bad = tmp_path / ("copies.csv" if option == "--copies" else "bad.csv")
    if content is not None:
        bad.write_text(content, encoding="utf-8")
    official = bad if option == "--official" else sample_path()
    args = ["report", "--official", str(official), "--out", str(tmp_path / "out"), "--no-pdf",
            "--resamples", "20", "--no-reference"]  # fmt: skip
    if option != "--official":
        args += [option, str(bad)]
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), result.output
    assert message in lines[0]


def test_unknown_language_and_missing_official_are_refused(tmp_path: Path) -> None:
    r1 = runner.invoke(app, ["report", "--official", str(sample_path()), "--lang", "de"])
    assert r1.exit_code == 2 and "unknown report language" in r1.output
    r2 = runner.invoke(app, ["report", "--out", str(tmp_path)])
    assert r2.exit_code == 2 and "exactly one of them" in r2.output


def test_summary_gives_each_finding_its_strength_and_evidence(full_data: ReportData) -> None:
    from saylau.report.document import FindingItem
    from saylau.report.locale import ReportLocale
    from saylau.report.sections import build_document

    doc = build_document(full_data, ReportLocale("en"))
    items = [b for b in doc.section("summary").blocks if isinstance(b, FindingItem)]
    by_target = {i.target: i for i in items}
    rep = full_data.forensics
    for o in rep.outcomes:
        if o.name == "distributions":
            continue
        item = by_target[f"forensics-{o.name}"]
        expected = {"screen": "screen", "model": "model"}.get(
            o.finding.kind, "alarm" if o.finding.alarm else "nothing"
        )
        assert item.strength == expected, o.name
    alarms = {i.target for i in items if i.strength == "alarm"}
    survey = {
        key
        for key, cmp_ in (
            ("survey-quick-count", full_data.quick_count_comparison),
            ("survey-exit-poll", full_data.exit_poll_comparison),
        )
        if cmp_ is not None and cmp_.finding is not None and cmp_.finding.alarm
    }
    assert alarms == {f"forensics-{n}" for n in rep.alarms} | survey
    # every link of the summary points at a heading or section of the document
    anchors = {s.key for s in doc.sections} | {
        b.anchor for s in doc.sections for b in s.blocks if getattr(b, "anchor", "")
    }
    assert {i.target for i in items} <= anchors


def test_head_counts_find_the_padded_stations(full_data: ReportData, inputs: Inputs) -> None:
    """The 3 stations built with 20% more ballots than voters seen are the ones flagged
    (Holm at 1% over 40 stations; counting error 0.5 per square-root voter, estimated from
    the 14 double counts), and the section says so in every language."""
    res = full_data.head_counts
    assert res is not None
    assert res.tested == 40 and res.pairs == 14
    assert set(res.flagged) == set(inputs.padded)
    assert res.finding.alarm
    assert 0.3 < res.sigma < 0.8  # the simulated 0.5, estimated from 14 pairs
    assert any(i.role == "head counts" for i in full_data.inputs)


def test_head_counts_with_too_few_double_counts_drop_their_section(tmp_path: Path) -> None:
    from saylau.report import prepare_report
    from saylau.turnout.simulate import simulate_head_counts

    sim = simulate_head_counts(stations=200, counted=30, padded=2, double_share=0.1, rng=1)
    data = prepare_report(sim.table, head_counts=sim.counts, no_reference=True, resamples=20)
    assert data.head_counts is None and "head_counts_error" in data.dropped
    res = build_report(sim.table, out=tmp_path, lang="kk", pdf=False, no_reference=True,
                       resamples=20, head_counts=sim.counts)  # fmt: skip
    assert "headcounts" not in res.sections
    assert "екі байқаушы санаған учаскелер 10-нан аз" in res.html.read_text(encoding="utf-8")
