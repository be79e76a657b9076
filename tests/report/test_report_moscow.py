"""The report on real observers' copies: Moscow, State Duma 2011 («Гражданин наблюдатель»).

../shared/data/README.md: all 97 copies match an official station, 19 differ from it on at
least one line, and 12 of the observers' transcriptions fail a strict control relation of
their own, which is why copies are validated before they are compared.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from saylau.report import prepare_report, write_report
from tests.conftest import shared_file


@pytest.mark.realdata
def test_moscow_copies_against_the_official_protocols(tmp_path: Path) -> None:
    official = shared_file("moscow-2011-observers", "result_412_OF.csv")
    copies = shared_file("moscow-2011-observers", "result_412_GN.csv")
    data = prepare_report(
        official,
        copies=copies,
        reading={"columns": "moscow-2011-observers"},
        copies_reading={"columns": "moscow-2011-observers"},
        no_reference=True,
        resamples=20,
    )
    cc, checked = data.copy_comparison, data.copies_validation
    assert cc is not None and checked is not None
    assert checked.stations == 97 and not cc.missing_official
    # the copies failing a strict relation of their own are kept out, the others compared
    assert 0 < checked.failed <= 12
    assert cc.stations_compared == 97 - checked.failed
    assert 0 < cc.stations_differing <= 19
    res = write_report(data, out=tmp_path, lang="ru", pdf=False)
    html = res.html.read_text(encoding="utf-8")
    assert "Официальные протоколы против копий наблюдателей" in html
    assert "<td>ballots_received</td>" not in html  # lines by their label, in Russian
