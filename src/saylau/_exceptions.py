"""The saylau error hierarchy.

Every error a user can cause by giving saylau bad input subclasses :class:`SaylauInputError`
(itself a :class:`ValueError`), and carries where the problem is (file, row, field) and what was
expected and found, so that the CLI can print one readable line and the web API one JSON shape.

Examples
--------
>>> err = DataFormatError("count is negative", file="a.csv", row=3, field="valid",
...                       expected="integer >= 0", found="-4")
>>> str(err)
'a.csv, row 3, field valid: count is negative (expected integer >= 0, found -4)'
>>> isinstance(err, ValueError)
True
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "ColumnMappingError",
    "DataFormatError",
    "EmptyInputError",
    "EncodingError",
    "SaylauError",
    "SaylauInputError",
    "SaylauWarning",
    "UnknownNameError",
]


class SaylauError(Exception):
    """Base class of every error raised by saylau."""


class SaylauWarning(UserWarning):
    """A statistical result that holds but deserves doubt (few stations, low power...)."""


class SaylauInputError(SaylauError, ValueError):
    """Bad input from the user: a file, an option, a name.

    Parameters
    ----------
    message : str
        What is wrong, in plain words.
    file, row, field : optional
        Where it is. ``row`` counts data rows from 1 (the header is row 0).
    expected, found : optional
        What saylau expected there and what it found.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        row: int | None = None,
        field: str | None = None,
        expected: Any = None,
        found: Any = None,
    ) -> None:
        self.message = message
        self.file = file
        self.row = row
        self.field = field
        self.expected = expected
        self.found = found
        super().__init__(self.__str__())

    def location(self) -> str:
        """Where the problem is, as ``file, row N, field F`` (empty when unknown)."""
        parts = []
        if self.file is not None:
            parts.append(str(self.file))
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.field is not None:
            parts.append(f"field {self.field}")
        return ", ".join(parts)

    def __str__(self) -> str:
        where = self.location()
        text = f"{where}: {self.message}" if where else self.message
        if self.expected is not None or self.found is not None:
            text += f" (expected {self.expected}, found {self.found})"
        return text

    def to_dict(self) -> dict[str, Any]:
        """The one JSON error shape shared by the CLI and the web API."""
        return {
            "error": type(self).__name__,
            "message": self.message,
            "file": self.file,
            "row": self.row,
            "field": self.field,
            "expected": None if self.expected is None else str(self.expected),
            "found": None if self.found is None else str(self.found),
        }


class DataFormatError(SaylauInputError):
    """A file whose structure or values cannot be read as election data."""


class EncodingError(DataFormatError):
    """A text file whose character encoding could not be read or detected."""


class EmptyInputError(SaylauInputError):
    """An input with no usable rows (an empty file, an empty sample...)."""


class UnknownNameError(SaylauInputError):
    """A profile, rule set, method, choice or column name that saylau does not know."""


class ColumnMappingError(DataFormatError):
    """A column mapping that does not fit the file it is applied to, or is not well formed.

    Names the mapping's key (``lines.valid``, ``station``...) and the column it names, so that
    the error reads as one line: ``map.toml, field lines.valid: column not in the file ...``.

    Parameters
    ----------
    message : str
    file : str, optional
        The mapping file (or the data file when the mapping was built in code).
    key : str, optional
        The mapping's key, dotted (``lines.issued``, ``choices.columns``).
    row : int, optional
        The header row of the data file, when the mapping was recognised from it.
    column : str or int, optional
        The column the key names (a name, or a 1-based position); shown as ``found``.
    expected : optional
        What would have fitted.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        row: int | None = None,
        key: str | None = None,
        column: Any = None,
        expected: Any = None,
        found: Any = None,
    ) -> None:
        self.key = key
        self.column = column
        super().__init__(
            message,
            file=file,
            row=row,
            field=key,
            expected=expected,
            found=found if column is None else repr(column),
        )
