"""The browser's generic evaluator of control relations agrees with the library's validate().

``static/relations.js`` receives each profile as served by the pages (``profile_document``) and
evaluates it; the reference is :func:`saylau.domain.checks.validate` on the same protocols. The
protocols are drawn at random (seeded) around the balance each relation requires, so that every
relation is seen holding, violated by a few ballots either way, and not checkable (an empty
line), on every shipped profile.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl
import pytest
from fastapi import FastAPI

from saylau.domain.checks import validate
from saylau.domain.profiles import CHOICES, PROFILES
from saylau.domain.table import ProtocolTable
from saylau.web import pages
from tests._service import live_server

CHOICE_IDS = ["A", "B", "Против всех"]
N = 60


def _protocols(profile_name: str, rng: np.random.Generator) -> pl.DataFrame:
    """Protocols that satisfy every equality, then some lines nudged or emptied."""
    prof = PROFILES[profile_name]
    keys = list(prof.line_keys)
    rows: list[dict[str, Any]] = []
    for i in range(N):
        votes = rng.integers(0, 300, size=len(CHOICE_IDS))
        row: dict[str, Any] = dict(zip(CHOICE_IDS, votes.tolist(), strict=True))
        row.update({k: int(rng.integers(0, 2000)) for k in keys})
        # make the equalities hold (last left line set from the rest), in profile order; in a
        # third of the rows the inequalities too are put on their boundary (left == right)
        boundary = rng.random() < 0.35
        for rel in prof.relations:
            if (rel.op != "==" and not boundary) or rel.left[-1][1] == CHOICES:
                continue

            def value(key: str, row: dict[str, Any] = row, votes: Any = votes) -> int:
                return int(votes.sum()) if key == CHOICES else int(row[key])

            right = sum(coef * value(key) for coef, key in rel.right)
            rest = sum(coef * value(key) for coef, key in rel.left[:-1])
            row[rel.left[-1][1]] = (right - rest) * rel.left[-1][0]
        if rng.random() < 0.5:  # nudge one line by a few ballots
            k = keys[int(rng.integers(len(keys)))] if rng.random() < 0.8 else CHOICE_IDS[0]
            row[k] = max(0, int(row[k]) + int(rng.choice([-3, -1, 1, 2])))
        if rng.random() < 0.15:  # an empty cell
            k = keys[int(rng.integers(len(keys)))] if rng.random() < 0.8 else CHOICE_IDS[1]
            row[k] = None
        row["station"] = str(i + 1)
        rows.append(row)
    schema = {"station": pl.Utf8, **{k: pl.Int64 for k in keys + CHOICE_IDS}}
    return pl.DataFrame(rows, schema=schema)


@pytest.fixture(scope="module")
def base_url() -> Any:
    app = FastAPI()
    pages.install(app)
    with live_server(app) as url:
        yield url


@pytest.mark.parametrize("profile_name", sorted(PROFILES))
def test_js_evaluator_matches_validate(chromium: Any, base_url: str, profile_name: str) -> None:
    frame = _protocols(profile_name, np.random.default_rng(20240301))
    report = validate(ProtocolTable.from_frame(frame, profile=profile_name, choices=CHOICE_IDS))
    page = chromium.new_page()
    try:
        page.goto(f"{base_url}/pages/profiles/{profile_name}.json")
        js = page.evaluate(
            """async ([url, rows, choices]) => {
                const m = await import("/static/relations.js");
                const profile = await (await fetch(url)).json();
                return rows.map((values) => {
                    const results = m.evaluate(profile, values, choices);
                    return {results, status: m.classify(results)};
                });
            }""",
            [f"/pages/profiles/{profile_name}.json", frame.to_dicts(), CHOICE_IDS],
        )
    finally:
        page.close()
    violated = {(v.station, v.relation): v for v in report.violations}
    statuses = dict(report.status_frame().iter_rows())
    seen = {"ok": 0, "violated": 0, "incomplete": 0, "inequality on its boundary": 0}
    for row, out in zip(frame.to_dicts(), js, strict=True):
        station = row["station"]
        for r in out["results"]:
            seen[r["status"]] += 1
            rel = next(x for x in PROFILES[profile_name].relations if x.name == r["name"])
            seen["inequality on its boundary"] += rel.op != "==" and r["difference"] == 0
            v = violated.get((station, r["name"]))
            assert (r["status"] == "violated") == (v is not None), (station, r)
            if v is not None:
                assert (r["found"], r["expected"], r["difference"]) == (
                    v.found,
                    v.expected,
                    v.difference,
                )
        assert out["status"] == statuses[station], station
    incomplete = sum(info["not_checkable"] for info in report.by_relation.values())
    assert seen["incomplete"] == incomplete
    # the draw exercises every outcome (else the comparison proves little)
    assert all(seen.values()), seen
