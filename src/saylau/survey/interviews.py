"""Exit-poll interview records: reading them, refusing identifying columns, coding answers.

Split from :mod:`saylau.survey.exitpoll` (module size); see there for the design.
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt
import polars as pl

from .._exceptions import (
    DataFormatError,
    EmptyInputError,
    UnknownNameError,
)
from ..domain.choices import is_against_all, normalize_name
from ..domain.table import RowProblem

__all__ = [
    "ANSWER",
    "DONT_KNOW",
    "REFUSED",
    "UNKNOWN",
    "Interviews",
    "identifying_columns",
    "interviews_from_frame",
    "read_interviews",
    "read_tally",
    "station_answers",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: Status of a record: a codable choice, a refusal, "don't know", or an uncodable answer.
ANSWER, REFUSED, DONT_KNOW, UNKNOWN = "answer", "refused", "dont_know", "unknown"

_REFUSED_NAMES = frozenset(
    {"refused", "refusal", "refuse", "no answer", "отказ", "отказался", "отказалась",
     "бас тартты", "жауап бермеді"}
)  # fmt: skip
_DONT_KNOW_NAMES = frozenset(
    {"dont_know", "dont know", "don't know", "don’t know", "dk", "undecided", "не знаю",
     "затрудняюсь ответить", "затрудняюсь", "білмеймін"}
)  # fmt: skip

_COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "station": ("station", "polling_station", "precinct", "uik", "участок", "учаскелік"),
    "band": ("band", "time_band", "timeband", "hour", "time", "время"),
    "choice": ("choice", "vote", "answer", "выбор", "ответ"),
    "gender": ("gender", "sex", "пол", "жынысы"),
    "age_band": ("age_band", "ageband", "age_group", "age", "возраст", "жасы"),
}

# Words that identify a person in a column name (compared token-wise after case folding).
_IDENTIFYING_TOKENS = frozenset(
    {"name", "names", "surname", "firstname", "lastname", "fullname", "fio", "patronymic",
     "phone", "telephone", "tel", "mobile", "cell", "cellphone", "email", "mail", "address",
     "street", "passport", "iin", "ssn", "idnumber", "nationalid", "birthdate", "birthday",
     "dob", "ip", "photo", "signature", "фио", "имя", "фамилия", "отчество", "телефон", "тел",
     "паспорт", "иин", "адрес", "почта", "подпись", "аты", "тегі", "жөні"}
)  # fmt: skip
_IDENTIFYING_SUBSTRINGS = ("phone", "passport", "surname", "email", "e-mail", "birth", "телефон",
                           "паспорт", "фамили", "address", "адрес")  # fmt: skip
# A "name" token next to one of these names a place, a choice or an interviewer, not a voter.
_NOT_A_PERSON = frozenset(
    {"station", "region", "district", "commission", "uik", "tik", "party", "candidate",
     "choice", "interviewer", "band", "file", "stratum", "commune", "city"}
)  # fmt: skip


def identifying_columns(columns: Iterable[str]) -> list[str]:
    """Column names that look like they identify a respondent (name, phone, e-mail...).

    A column is identifying when one of its words (split on anything but letters and digits,
    case folded) is a person's name, contact or document word in English, Russian or Kazakh,
    unless the name word qualifies a place, a choice or the interviewer (``station_name``,
    ``candidate_name``, ``interviewer_name`` are allowed).

    >>> identifying_columns(["station", "choice", "Phone number", "ФИО", "station_name"])
    ['Phone number', 'ФИО']
    """
    found = []
    for col in columns:
        text = unicodedata.normalize("NFC", str(col)).casefold()
        tokens = [t for t in re.split(r"[^\w]+|_", text) if t]
        joined = "".join(tokens)
        person = any(t in _IDENTIFYING_TOKENS for t in tokens) or joined in _IDENTIFYING_TOKENS
        person = person or any(s in text for s in _IDENTIFYING_SUBSTRINGS)
        only_name_words = {t for t in tokens if t in _IDENTIFYING_TOKENS} <= {"name", "names"}
        if person and only_name_words and any(t in _NOT_A_PERSON for t in tokens):
            person = any(s in text for s in _IDENTIFYING_SUBSTRINGS)
        if person:
            found.append(str(col))
    return found


@dataclasses.dataclass(frozen=True, eq=False)
class Interviews:
    """Coded exit-poll interview records, with the records kept out of the estimate.

    Parameters
    ----------
    data : polars.DataFrame
        One row per record: ``row`` (data row in the source, from 1), ``station``, ``band``,
        ``status`` (``answer``, ``refused``, ``dont_know`` or ``unknown``), ``choice`` (the
        choice id for answers, else null), ``answer`` (the raw text), and optional ``gender``,
        ``age_band`` and other non-identifying columns (all text).
    choices : tuple of str
        The choices on the ballot, Against all included, in order.
    problems : tuple of RowProblem
        Records with an uncodable answer (first 100 listed individually).
    unknown_values : mapping
        Every uncodable answer text with its number of records.
    source : str or None
        The file read, for error messages.

    Notes
    -----
    Declared rule for uncodable answers (``unknown="exclude"``): the record stays out of the
    shares and counts as an approached voter without a usable answer, like "don't know", in
    the non-response factor of its station and band. ``unknown="raise"`` stops at the first.
    """

    data: pl.DataFrame
    choices: tuple[str, ...]
    problems: tuple[RowProblem, ...] = ()
    unknown_values: Mapping[str, int] = dataclasses.field(default_factory=dict)
    source: str | None = None

    def __len__(self) -> int:
        return self.data.height

    def counts(self) -> dict[str, int]:
        """Number of records per status."""
        vc = self.data["status"].value_counts()
        got = dict(zip(vc["status"].to_list(), vc["count"].to_list(), strict=True))
        return {s: int(got.get(s, 0)) for s in (ANSWER, REFUSED, DONT_KNOW, UNKNOWN)}


def station_answers(interviews: Interviews) -> dict[str, dict[str, int]]:
    """Codable answers per station and choice (unweighted counts), for per-station checks.

    >>> iv = interviews_from_frame(pl.DataFrame({"station": ["1", "1", "2"],
    ...                                          "choice": ["A", "refused", "B"]}))
    >>> station_answers(iv)
    {'1': {'A': 1, 'B': 0}, '2': {'A': 0, 'B': 1}}
    """
    counts = (
        interviews.data.filter(pl.col("status") == ANSWER)
        .group_by("station", "choice")
        .len()
        .sort("station", "choice")
    )
    out: dict[str, dict[str, int]] = {}
    for st in interviews.data["station"].unique().sort().to_list():
        out[st] = dict.fromkeys(interviews.choices, 0)
    for st, ch, n in counts.iter_rows():
        out[st][ch] = int(n)
    return out


def _find_column(columns: Sequence[str], key: str) -> str | None:
    norm = {normalize_name(c).replace(" ", "_"): c for c in columns}
    for alias in _COLUMN_ALIASES[key]:
        if alias in norm:
            return norm[alias]
    return None


def interviews_from_frame(
    frame: pl.DataFrame,
    *,
    choices: Sequence[str] | None = None,
    unknown: Literal["exclude", "raise"] = "exclude",
    source: str | None = None,
    first_row: int = 1,
) -> Interviews:
    """Code interview records held in a Polars DataFrame.

    Parameters
    ----------
    frame : polars.DataFrame
        Columns ``station`` and ``choice`` (aliases: ``uik``/``precinct``, ``vote``/``answer``),
        optional ``band`` (time band; one band when absent), ``gender``, ``age_band``.
    choices : sequence of str, optional
        The ballot. Answers are matched after case folding and space normalisation; every
        spelling of Against all matches the Against-all choice. Without it, every distinct
        answer that is not a refusal or "don't know" is taken as a choice.
    unknown : {"exclude", "raise"}
        What to do with an answer that is no choice, refusal or "don't know" (see
        :class:`Interviews`).
    source : str, optional
        File name for error messages.

    Returns
    -------
    Interviews

    Raises
    ------
    DataFormatError
        An identifying column, a missing required column, an empty station.
    EmptyInputError
        No records.

    Examples
    --------
    >>> iv = interviews_from_frame(pl.DataFrame({"station": ["7", "7"],
    ...                                          "choice": ["Против всех", "maybe"]}),
    ...                            choices=["A", "Against all"])
    >>> iv.counts()["answer"], dict(iv.unknown_values)
    (1, {'maybe': 1})
    """
    bad = identifying_columns(frame.columns)
    if bad:
        raise DataFormatError(
            "interview records must not identify respondents; remove these columns",
            file=source,
            field=", ".join(bad),
            expected="station, band, choice, gender, age_band",
            found=", ".join(bad),
        )
    if frame.height == 0:
        raise EmptyInputError("no interview records", file=source)
    cols: dict[str, str] = {}
    for key in _COLUMN_ALIASES:
        col = _find_column(frame.columns, key)
        if col is not None:
            cols[key] = col
    for key in ("station", "choice"):
        if key not in cols:
            raise DataFormatError(
                f"missing column {key!r}",
                file=source,
                field=key,
                expected=" | ".join(_COLUMN_ALIASES[key]),
                found=", ".join(frame.columns),
            )
    renamed = {v: k for k, v in cols.items()}
    extra = [c for c in frame.columns if c not in renamed]
    reserved = {*_COLUMN_ALIASES, "row", "status", "answer"}
    df = frame.select(
        [pl.col(c).cast(pl.Utf8).str.strip_chars().alias(renamed[c]) for c in renamed]
        + [pl.col(c).cast(pl.Utf8).alias(f"extra:{c}" if c in reserved else c) for c in extra]
    ).with_row_index("row", offset=first_row)
    df = df.with_columns(pl.col("row").cast(pl.Int64))
    if "band" not in df.columns:
        df = df.with_columns(pl.lit("all").alias("band"))
    df = df.with_columns(pl.col("band").fill_null("").alias("band"))
    missing = df.filter(pl.col("station").is_null() | (pl.col("station") == ""))
    if missing.height:
        raise DataFormatError(
            "record without a polling station",
            file=source,
            row=int(missing["row"][0]),
            field=cols["station"],
            expected="a station id",
            found="empty",
        )
    # Code the few distinct answer texts, then join (fast on millions of rows).
    raw = df["choice"].unique().to_list()
    declared: list[str] | None = list(choices) if choices is not None else None
    if declared is None:
        seen: dict[str, str] = {}
        for text in sorted(t for t in raw if t):
            norm = normalize_name(text)
            if norm in _REFUSED_NAMES or norm in _DONT_KNOW_NAMES:
                continue
            key = "\0against_all" if is_against_all(text) else norm
            seen.setdefault(key, text)
        declared = list(seen.values())
    if not declared:
        raise EmptyInputError("no choice found among the answers", file=source, field="choice")
    by_norm = {normalize_name(c): c for c in declared}
    against = next((c for c in declared if is_against_all(c)), None)
    status_of: dict[str, str] = {}
    choice_of: dict[str, str | None] = {}
    for text in raw:
        if text is None or text == "":
            continue
        norm = normalize_name(text)
        if norm in by_norm:
            status_of[text], choice_of[text] = ANSWER, by_norm[norm]
        elif against is not None and is_against_all(text):
            status_of[text], choice_of[text] = ANSWER, against
        elif norm in _REFUSED_NAMES:
            status_of[text], choice_of[text] = REFUSED, None
        elif norm in _DONT_KNOW_NAMES:
            status_of[text], choice_of[text] = DONT_KNOW, None
        else:
            status_of[text], choice_of[text] = UNKNOWN, None
    codes = pl.DataFrame(
        {
            "choice": list(status_of),
            "status": list(status_of.values()),
            "coded": list(choice_of.values()),
        },
        schema={"choice": pl.Utf8, "status": pl.Utf8, "coded": pl.Utf8},
    )
    df = (
        df.join(codes, on="choice", how="left")
        .with_columns(pl.col("status").fill_null(UNKNOWN))
        .rename({"choice": "answer", "coded": "choice"})
        .sort("row")
    )
    bad_rows = df.filter(pl.col("status") == UNKNOWN)
    problems: list[RowProblem] = []
    unknown_values: dict[str, int] = {}
    if bad_rows.height:
        if unknown == "raise":
            first = bad_rows.row(0, named=True)
            raise UnknownNameError(
                "unknown choice in an interview",
                file=source,
                row=int(first["row"]),
                field=cols["choice"],
                expected=" | ".join([*declared, REFUSED, DONT_KNOW]),
                found=first["answer"] if first["answer"] else "empty",
            )
        vc = bad_rows.group_by("answer").len().sort("answer", nulls_last=True)
        unknown_values = {
            ("" if a is None else str(a)): int(n)
            for a, n in zip(vc["answer"], vc["len"], strict=True)
        }
        for rec in bad_rows.head(100).iter_rows(named=True):
            problems.append(
                RowProblem(
                    file=source,
                    row=int(rec["row"]),
                    station=rec["station"],
                    field=cols["choice"],
                    message="unknown choice: kept out of the shares, counted as non-response",
                    expected="a choice on the ballot, refused or dont_know",
                    found=rec["answer"] if rec["answer"] else "empty",
                )
            )
    return Interviews(
        data=df,
        choices=tuple(declared),
        problems=tuple(problems),
        unknown_values=unknown_values,
        source=source,
    )


def read_interviews(
    path: str | Path,
    *,
    choices: Sequence[str] | None = None,
    unknown: Literal["exclude", "raise"] = "exclude",
) -> Interviews:
    """Read interview records from a CSV or Parquet file (see :func:`interviews_from_frame`).

    Read like every saylau file (:func:`saylau.io.read_frame`: CSV plain, zipped or gzipped,
    UTF-8 or cp1251 detected, Parquet, Excel), as text, so every value keeps its written form;
    an error names the row as in a spreadsheet (the header is row 1) and the column.
    """
    from ..io.readers import read_frame

    frame, _notes = read_frame(path)
    frame = frame.drop("__row")
    return interviews_from_frame(
        frame, choices=choices, unknown=unknown, source=str(path), first_row=2
    )


def read_tally(path: str | Path) -> pl.DataFrame:
    """Read a tally of approached voters per station (and time band) for non-response weights.

    Columns ``station``, optional ``band``, ``approached`` and/or ``skip`` (numbers >= 0). Read
    like every saylau file; a bad cell names the row as in a spreadsheet and the column.

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "tally.csv"
    >>> _ = p.write_text("station,band,approached\\n1,am,40\\n", encoding="utf-8")
    >>> read_tally(p).get_column("approached").to_list()
    [40.0]
    """
    from ..io.readers import read_frame

    df, _notes = read_frame(path)
    for col in ("approached", "skip"):
        if col in df.columns:
            val = df[col].str.strip_chars().cast(pl.Float64, strict=False)
            bad = val.is_null() | (val < 0)
            if bad.any():
                i = int(bad.arg_true()[0])
                raise DataFormatError(
                    "not a number >= 0",
                    file=str(path),
                    row=int(df["__row"][i]),
                    field=col,
                    expected=">= 0",
                    found=df[col][i],
                )
            df = df.with_columns(val.alias(col))
    return df.drop("__row")
