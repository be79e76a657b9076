"""The public API is pinned: adding or removing a name is a decision, made here."""

from __future__ import annotations

import saylau


def test_all_is_pinned() -> None:
    assert sorted(saylau.__all__) == sorted(
        [
            "PROFILES",
            "RULES",
            "Choice",
            "ColumnMapping",
            "ControlRelation",
            "DataFormatError",
            "EmptyInputError",
            "EncodingError",
            "Estimate",
            "ProtocolProfile",
            "ProtocolTable",
            "Result",
            "RowProblem",
            "RuleSet",
            "SaylauError",
            "SaylauInputError",
            "SaylauWarning",
            "UnknownNameError",
            "SeatAllocation",
            "__version__",
            "allocate",
            "allocate_by_rules",
            "get_profile",
            "get_rules",
            "is_against_all",
            "read_protocols",
            "tabulate_results",
            "validate",
        ]
    )
    for name in saylau.__all__:
        assert hasattr(saylau, name), name


def test_tabulate_is_one_thing_in_each_place() -> None:
    """``saylau.tabulate`` is the package; the function is ``saylau.tabulate_results``."""
    import types

    import saylau.tabulate
    import saylau.tabulate.aggregate

    assert isinstance(saylau.tabulate, types.ModuleType)
    assert "tabulate" not in saylau.__all__
    assert saylau.tabulate_results is saylau.tabulate.aggregate.tabulate
    assert callable(saylau.tabulate.tabulate)  # the package re-exports the function


def test_input_errors_are_value_errors() -> None:
    for cls in (saylau.DataFormatError, saylau.EmptyInputError, saylau.UnknownNameError):
        assert issubclass(cls, ValueError)
        assert issubclass(cls, saylau.SaylauError)


def test_error_json_shape_is_pinned() -> None:
    err = saylau.DataFormatError(
        "negative count", file="f.csv", row=7, field="valid", expected="integer >= 0", found="-1"
    )
    assert err.to_dict() == {
        "error": "DataFormatError",
        "message": "negative count",
        "file": "f.csv",
        "row": 7,
        "field": "valid",
        "expected": "integer >= 0",
        "found": "-1",
    }
