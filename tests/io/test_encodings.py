"""Encodings: short Cyrillic files in every common code page, an explicit encoding, mojibake.

The files are built here from known text, so the right decoding is known: the test checks that
the reader gets the text back and says which encoding it used.
"""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest

from saylau import EncodingError
from saylau.domain.checks import validate
from saylau.io import read_protocols
from saylau.io.text import decode_bytes, mojibake

# A short file (the kind that fooled charset detection: cp1251 read as cp1125 made "Против
# всех" mojibake, so Against all was not recognised and won seats).
TEXT = (
    "station,region,voters_on_list,issued,invalid,valid,Единая Россия,КПРФ,Против всех\n"
    "1,Москва,100,60,2,58,40,10,8\n"
    "2,Тверь,120,70,0,70,50,15,5\n"
)


@pytest.mark.parametrize(
    ("encoding", "reported"),
    [
        ("cp1251", "cp1251"),
        ("cp866", "cp866"),
        ("koi8-r", "koi8-r"),
        ("utf-8-sig", "utf-8-sig"),
        ("utf-16", "utf-16"),
        ("utf-8", "utf-8"),
    ],
)
def test_short_cyrillic_file_in_each_encoding(tmp_path: Path, encoding: str, reported: str) -> None:
    path = tmp_path / "p.csv"
    path.write_bytes(TEXT.encode(encoding))
    t = read_protocols(path)
    assert [c.name for c in t.choices] == ["Единая Россия", "КПРФ", "Против всех"]
    assert t.against_all is not None and t.against_all.name == "Против всех"
    assert t.level_values("region").tolist() == ["Москва", "Тверь"]
    assert t.encoding == reported
    assert any(f"decoded as {reported}" in n for n in t.notes)
    assert validate(t).failed == 0


def test_explicit_encoding_overrides_detection(tmp_path: Path) -> None:
    # cp1251 bytes read as cp1251 by detection; forced to koi8-r they turn into case-swapped
    # mojibake, which the header check refuses and names
    path = tmp_path / "p.csv"
    path.write_bytes(TEXT.encode("cp1251"))
    with pytest.raises(EncodingError, match=r"p\.csv, row 1, field header.*--encoding"):
        read_protocols(path, encoding="koi8-r")
    path.write_bytes(TEXT.encode("koi8-r"))
    t = read_protocols(path, encoding="koi8-r")
    assert t.encoding == "koi8-r" and any("koi8-r (given)" in n for n in t.notes)


def test_unknown_encoding_name(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_bytes(TEXT.encode("utf-8"))
    with pytest.raises(EncodingError, match="cannot decode with the given encoding"):
        read_protocols(path, encoding="cp9999")


@pytest.mark.parametrize(
    ("bad", "what"),
    [
        (TEXT.encode("utf-8").decode("latin-1").encode("utf-8"), "C1 control characters"),
        (TEXT.encode("utf-8").decode("cp1252", "replace").encode("utf-8"), "UTF-8 read as"),
        (TEXT.encode("cp1251").decode("latin-1").encode("utf-8"), "wrong script"),
        (TEXT.encode("cp1251").decode("cp866").encode("utf-8"), "box-drawing"),
        (TEXT.encode("cp1251").decode("koi8-r").encode("utf-8"), "swapped case"),
    ],
    ids=["utf8-as-latin1", "utf8-as-cp1252", "cp1251-as-latin1", "cp1251-as-cp866", "koi8"],
)
def test_mojibake_header_is_an_error_suggesting_encoding(
    tmp_path: Path, bad: bytes, what: str
) -> None:
    # a file saved after a wrong decoding: valid UTF-8, but the header is mojibake
    path = tmp_path / "m.csv"
    path.write_bytes(bad)
    with pytest.raises(EncodingError, match="--encoding") as exc:
        read_protocols(path)
    assert what in exc.value.message and exc.value.field == "header"


def test_cp1251_preferred_when_nothing_is_clearly_better() -> None:
    # all-capitals abbreviations read plausibly in several code pages: cp1251 wins the tie
    raw = "ДА;НЕТ;КПРФ\n1;2;3\n".encode("cp1251")
    assert decode_bytes(raw, name="x").encoding == "cp1251"


def test_kazakh_single_byte_code_page() -> None:
    raw = "station,AMANAT,Барлығына қарсы,Ақ жол\n1,2,3,4\n".encode("kz1048")
    d = decode_bytes(raw, name="x")
    assert d.encoding == "kz1048" and "Барлығына қарсы" in d.text


def test_utf16_without_bom() -> None:
    raw = TEXT.encode("utf-16-le")
    assert not raw.startswith(codecs.BOM_UTF16_LE)
    d = decode_bytes(raw, name="x")
    assert d.encoding == "utf-16-le" and d.text == TEXT


def test_real_headers_are_not_mojibake() -> None:
    # headers of ../shared/data: Polish, Albanian, Russian, Kazakh
    for header in (
        "Liczba wyborców uprawnionych do głosowania;Kod TERYT",
        "Qarku,Bashkia,Numri i votuesve,PD,PS",
        "Число избирателей, внесенных в список;УИКи;ЛДПР",
        "Учаскедегі сайлаушылардың жалпы саны;Барлығына қарсы",
    ):
        assert mojibake(header) is None
