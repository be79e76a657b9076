from __future__ import annotations

import pytest

from saylau.domain.choices import Choice, is_against_all


@pytest.mark.parametrize(
    "name",
    [
        "against_all",
        "Against all",
        "AGAINST ALL",
        "Против всех",
        "против  всех",
        "Барлығына қарсы",
        "БАРЛЫҒЫНА ҚАРСЫ",
        "Barlyǵyna qarsy",
    ],
)
def test_against_all_names(name: str) -> None:
    assert is_against_all(name)
    assert Choice.from_name(name).against_all


@pytest.mark.parametrize("name", ["Amanat", "Ақ жол", "Путин Владимир Владимирович", "all"])
def test_other_names_are_not_against_all(name: str) -> None:
    assert not is_against_all(name)
