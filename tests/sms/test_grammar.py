"""The SMS format as a library: codes from any profile, any script and separator, the first
unreadable word named, the length limit by the SMS standard's segment sizes."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from saylau.domain.profiles import PROFILES, get_profile
from saylau.sms import Codebook, SmsError, fold, mask_pin, parse, segments
from saylau.sms.gateway import SignatureError, normalize_number, verify_signature

CHOICES = ["Amanat", "Ақ жол", "Народная партия", "Барлығына қарсы"]


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_codes_follow_the_printed_line_numbers_of_every_profile(name: str) -> None:
    profile = get_profile(name)
    book = Codebook.build(profile, CHOICES)
    codes = dict(book.line_codes())
    numbered = {ln.key: ln.number for ln in profile.lines if ln.number is not None}
    for code, key in codes.items():
        if key in numbered:
            assert code == str(numbered[key])  # the number printed on the paper form
        else:
            assert int(code) > max(numbered.values(), default=0)
    assert len(set(codes)) == len(profile.lines)
    assert [c for c, _ in book.choices] == ["K1", "K2", "K3", "K4"]  # ballot order
    assert book.key_of("K4") == "Барлығына қарсы"


def test_polish_form_keeps_its_gaps() -> None:
    # PKW protocol: lines 1, 2, 4, 10..14 are those saylau reads (pl-pkw profile)
    book = Codebook.build(get_profile("pl-pkw"), ["A", "B"])
    assert [c for c, _ in book.line_codes()] == ["1", "2", "4", "10", "11", "12", "13", "14"]
    r = parse(
        "P 146501-1 1234 1=900 2=900 4=500 10=0 11=500 12=500 13=5 14=495 K1=300 K2=195", book
    )
    assert r.figures["found"] == 500 and r.figures["B"] == 195


LATIN_TO_CYRILLIC = {
    "A": "А",
    "B": "В",
    "E": "Е",
    "K": "К",
    "M": "М",
    "H": "Н",
    "O": "О",
    "P": "Р",
    "C": "С",
    "T": "Т",
    "X": "Х",
}


def test_every_lookalike_folds() -> None:
    for latin, cyrillic in LATIN_TO_CYRILLIC.items():
        assert fold(cyrillic) == fold(cyrillic.lower()) == fold(latin.lower()) == latin
    assert fold("Қ") == fold("қ") == fold("q") == "K"  # Kazakh Qa and its Latin spelling
    assert fold("І") == fold("і") == "I"  # Kazakh I


@st.composite
def typed_protocol(draw: st.DrawFn) -> tuple[str, dict[str, int | None], Codebook]:
    profile = get_profile(draw(st.sampled_from(sorted(PROFILES))))
    book = Codebook.build(profile, CHOICES)
    figures: dict[str, int | None] = {}
    words = []
    for code, key in (*book.lines, *book.choices):
        if draw(st.booleans()) or key in book.optional:
            continue
        value = draw(st.one_of(st.integers(0, 10**9), st.none()))
        figures[key] = value
        joiner = draw(st.sampled_from(["=", ":", "-", ".", "/", " = ", " ", "#", "=="]))
        if code.startswith("K"):
            code = draw(st.sampled_from(["K", "k", "К", "к", "Қ", "қ", "q"])) + code[1:]
        words.append(f"{code}{joiner}{'?' if value is None else value}")
    gaps = st.sampled_from([" ", "  ", ", ", ";", "\n", " ,; "])
    kind = draw(st.sampled_from(["P", "p", "Р", "р"]))
    text = f"{kind}{draw(gaps)}12{draw(gaps)}0042"
    for w in words:
        text += draw(gaps) + w
    return text, figures, book


@settings(max_examples=150, deadline=None)
@given(typed_protocol())
def test_any_way_of_typing_reads_the_same_figures(case: tuple[str, dict, Codebook]) -> None:
    text, figures, book = case
    if not figures:
        with pytest.raises(SmsError) as e:
            parse(text, book)
        assert e.value.reason == "no_figures"
        return
    report = parse(text, book)
    assert report.kind == "protocol" and report.station == "12" and report.header.pin == "0042"
    assert dict(report.figures) == figures


@pytest.mark.parametrize(
    ("text", "reason", "position", "token"),
    [
        ("Z 12 1234 1=5", "unknown_kind", 1, "Z"),
        ("P 12 1234 1=5 2=5 3 4=5", "missing_value", 6, "3"),
        ("P 12 1234 1=5 2=5 3=5 4=5O", "bad_value", 7, "4=5O"),
        ("P 12 1234 1=5 2=5 1=6", "repeated_code", 6, "1=6"),
        ("P 12 1234 1=5 L2=5", "unknown_code", 5, "L2=5"),
        ("P 12 1234 1=5 K9=5", "unknown_code", 5, "K9=5"),
        ("P 12 1234 1=1 500", "unknown_code", 5, "500"),  # a thousands space: named
        ("P 12 1234 1=5 I nothing", "unknown_category", 6, "nothing"),
        ("HC 12 1234 25=5", "bad_time", 4, "25=5"),
        ("HC 12 1234 10=5 x", "bad_time", 5, "x"),
        ("P 12 12345678901 1=5", "bad_pin", 3, None),
    ],
)
def test_the_first_unreadable_word_is_named(
    text: str, reason: str, position: int, token: str | None
) -> None:
    book = Codebook.build(get_profile("plain"), CHOICES, categories=["VOTE.STUFFING"])
    with pytest.raises(SmsError) as e:
        parse(text, book)
    assert (e.value.reason, e.value.position, e.value.token) == (reason, position, token)
    if reason == "bad_pin":  # the word that should be the PIN is never repeated
        assert "12345678901" not in str(e.value)


def test_head_counts_read_times_of_day() -> None:
    book = Codebook.build(get_profile("plain"), CHOICES)
    r = parse("HC 12 1234 10:00=120 1200 310/290 15.00-455 18=602 С=800/795", book)
    assert dict(r.figures) == {
        "10:00": 120,
        "12:00": 310,
        "15:00": 455,
        "18:00": 602,
        "close": 800,
    }
    assert dict(r.official) == {"12:00": 290, "close": 795}
    assert parse("нс 12 1234 930 = 41", book).figures == {"09:30": 41}
    for text, reason in (
        ("HC 12 1234 2500=5", "bad_time"),
        ("HC 12 1234 10:75=5", "bad_time"),
        ("HC 12 1234 10=5 1000=6", "repeated_code"),
        ("HC 12 1234 1000", "missing_value"),
        ("HC 12 1234 K1=5", "bad_time"),
    ):
        with pytest.raises(SmsError) as e:
            parse(text, book)
        assert e.value.reason == reason, text


def test_segments_follow_the_sms_standard() -> None:
    # 3GPP TS 23.038/23.040: 160 GSM 7-bit characters in one SMS, 153 per part when
    # concatenated; 70 UCS-2 characters, 67 per part; an extension character takes two septets
    assert [segments("x" * n) for n in (160, 161, 306, 307, 459, 460)] == [1, 2, 2, 3, 3, 4]
    assert [segments("ы" * n) for n in (70, 71, 134, 135, 201, 202)] == [1, 2, 2, 3, 3, 4]
    assert segments("{" * 80) == 1 and segments("{" * 81) == 2
    assert segments("x" * 159 + "ә") == 3  # one Kazakh letter makes the whole text UCS-2


def test_pin_is_masked_wherever_the_separators_put_it() -> None:
    assert mask_pin("P,ALA-1;;4321,1=5") == "P,ALA-1;;****,1=5"
    assert mask_pin("P\nALA-1\n4321") == "P\nALA-1\n****"


def test_signatures_and_numbers() -> None:
    import hashlib
    import hmac

    body = b'{"id":"1"}'
    good = hmac.new(b"k", b"100." + body, hashlib.sha256).hexdigest()
    verify_signature(b"k", "100", f"sha256={good}", body, now=120)
    for ts, sig, now in (("100", good, 500), ("100", "0" * 64, 120), (None, good, 120)):
        with pytest.raises(SignatureError):
            verify_signature(b"k", ts, sig, body, now=now)
    assert normalize_number("+7 (727) 250-00-00") == "+77272500000"
    with pytest.raises(ValueError):
        normalize_number("+7 701")


def test_the_readme_examples_read_as_documented() -> None:
    """Every full message in the README's SMS table reads on the kz profile (the one with a
    forgotten figure fails at the word the reply names)."""
    import re
    from pathlib import Path

    from saylau.store.masterdata import default_incident_categories

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("### SMS channel") : readme.index("## Fake voters")]
    book = Codebook.build(
        get_profile("kz"),
        ["Amanat", "Ақ жол", "Барлығына қарсы"],
        categories=[c["code"] for c in default_incident_categories()],
    )
    messages = re.findall(r"`((?:[PpРрIИXХxхHНhн][CСcс]?) 245 4821 [^`]+)`", section)
    assert len(messages) >= 12
    for text in messages:
        if re.search(r"[KКкҚ]2 ", text):
            with pytest.raises(SmsError) as e:
                parse(text, book)
            assert (e.value.reason, e.value.position) == ("missing_value", 11)
            continue
        report = parse(text, book)
        assert report.station == "245" and (report.figures or report.incidents), text
