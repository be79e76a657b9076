"""Getting text out of files: zip and gzip containers, character encodings, separators.

Election files come zipped, gzipped, with a UTF-8 byte-order mark, or in Windows-1251 (common in
Russian and Kazakh data), KOI8-R or DOS cp866, or UTF-16. :func:`decode_bytes` takes a
byte-order mark or UTF-8 first; otherwise it picks, among the single-byte Cyrillic code pages,
the one that reads most like Russian or Kazakh, cp1251 unless another is clearly better, and
says which one it used. :func:`check_header` refuses a header that still looks like mojibake.

Examples
--------
>>> import tempfile, pathlib
>>> p = pathlib.Path(tempfile.mkdtemp()) / "a.csv"
>>> _ = p.write_bytes("station;Против всех\\n1;5\\n".encode("cp1251"))
>>> text, note = read_text(p)
>>> text.splitlines()[0], note
('station;Против всех', 'a.csv: decoded as cp1251 (not UTF-8; detected)')
>>> sniff_separator(text)
';'
"""

from __future__ import annotations

import codecs
import dataclasses
import gzip
import math
import re
import zipfile
from pathlib import Path

from .._exceptions import DataFormatError, EmptyInputError, EncodingError

__all__ = [
    "CYRILLIC_CODEPAGES",
    "Decoded",
    "check_header",
    "decode_bytes",
    "mojibake",
    "read_bytes",
    "read_text",
    "sniff_separator",
]

_TEXT_SUFFIXES = (".csv", ".txt", ".tsv")


def read_bytes(path: Path) -> tuple[bytes, str]:
    """The raw bytes of a file, unpacking ``.zip`` (one data member) and ``.gz``.

    Returns the bytes and the name of the member actually read.
    """
    if not path.exists():
        raise DataFormatError("file not found", file=str(path))
    if path.is_dir():
        raise DataFormatError("is a directory, not a file", file=str(path))
    name = path.name
    if name.lower().endswith(".gz"):
        try:
            return gzip.decompress(path.read_bytes()), name[:-3]
        except (OSError, EOFError) as exc:
            raise DataFormatError(f"not a readable gzip file ({exc})", file=str(path)) from None
    if name.lower().endswith(".zip"):
        try:
            with zipfile.ZipFile(path) as zf:
                members = [
                    m
                    for m in zf.infolist()
                    if not m.is_dir() and not m.filename.startswith("__MACOSX")
                ]
                data = [m for m in members if m.filename.lower().endswith(_TEXT_SUFFIXES)]
                pick = data or members
                if len(pick) != 1:
                    raise DataFormatError(
                        "zip archive must hold exactly one data file",
                        file=str(path),
                        expected="one .csv member",
                        found=", ".join(m.filename for m in pick) or "none",
                    )
                return zf.read(pick[0]), f"{name}:{pick[0].filename}"
        except zipfile.BadZipFile as exc:
            raise DataFormatError(f"not a readable zip archive ({exc})", file=str(path)) from None
    return path.read_bytes(), name


@dataclasses.dataclass(frozen=True)
class Decoded:
    """Text decoded from a file's bytes, the encoding used and how it was chosen."""

    text: str
    encoding: str
    note: str | None = None


#: Single-byte Cyrillic code pages considered when a file is not UTF-8, cp1251 first: it is
#: preferred unless another decodes clearly better (Russian and Kazakh election data).
CYRILLIC_CODEPAGES = ("cp1251", "kz1048", "koi8-r", "cp866", "iso8859-5", "mac_cyrillic")

#: Approximate letter frequencies of Russian text (and of the Kazakh letters), for telling a
#: right decoding from a wrong one: a wrong code page turns common letters into rare ones.
_FREQ = dict(
    zip(
        "оеаинтсрвлкмдпуяыьгзбчйхжшюцщэфъёәғқңөұүһі",
        (
            *(1097, 845, 801, 735, 670, 626, 547, 473, 454, 440, 349, 321, 298, 281, 262, 201),
            *(190, 174, 170, 165, 159, 144, 121, 97, 94, 73, 64, 48, 36, 32, 26, 4, 4),
            *(200, 100, 200, 100, 70, 100, 100, 5, 300),
        ),
        strict=True,
    )
)
_LOGF = {c: math.log(f / 10_000) + 5 for c, f in _FREQ.items()}
_RU_KK = frozenset(_FREQ)
_FINE = frozenset("«»–—“”„‘’…№\u00a0\u202f°")
_WORD = re.compile(r"[^\W\d_]+")


def _swapped_case(word: str) -> bool:
    """A Cyrillic capital after a small letter inside a word ("оПНРХБ"): a code-page mix-up."""
    seen_lower = False
    for ch in word:
        if ch.islower():
            seen_lower = True
        elif seen_lower and ch.isupper() and ch.lower() in _RU_KK:
            return True
    return False


def _plausibility(text: str) -> float:
    """How much a decoded text looks like Russian or Kazakh (higher is better).

    Letters of the two alphabets count for, common ones more than rare ones; characters no
    Cyrillic text uses (box drawing, stray symbols, letters of other Cyrillic alphabets), words
    mixing Cyrillic and Latin, and words whose case goes from lower to upper (a KOI8-R /
    Windows-1251 swap) count against.
    """
    good = 0.0
    odd = 0
    for ch in text:
        if ch.isascii() or ch in _FINE:
            continue
        if ch.lower() in _RU_KK:
            good += _LOGF[ch.lower()]
        else:
            odd += 1
    bad_words = 0
    for word in _WORD.findall(text):
        cyr = any(c.lower() in _RU_KK for c in word)
        if cyr and (any(c.isascii() for c in word) or _swapped_case(word)):
            bad_words += 1
    return good - 5 * odd - 3 * bad_words


def _single_byte_cyrillic(raw: bytes) -> tuple[str, str] | None:
    """The best single-byte Cyrillic decoding of ``raw``, preferring cp1251; None if none fits."""
    sample = raw[:65_536]
    scored: list[tuple[float, str, str]] = []
    for enc in CYRILLIC_CODEPAGES:
        try:
            text = sample.decode(enc)
        except UnicodeDecodeError:
            continue
        scored.append((_plausibility(text), enc, text))
    if not scored:
        return None
    base = next((sc for sc in scored if sc[1] == "cp1251"), None)
    best = max(scored, key=lambda sc: sc[0])
    if base is not None and best[0] <= base[0] + max(2.0, 0.1 * abs(base[0])):
        best = base
    if best[0] <= 0:
        return None
    return best[1], raw.decode(best[1])


def decode_bytes(raw: bytes, *, name: str, encoding: str | None = None) -> Decoded:
    """Decode the bytes of a text file.

    An explicit ``encoding`` wins. Otherwise: a UTF-8 or UTF-16 byte-order mark, then UTF-8,
    then the single-byte Cyrillic code page that reads most like Russian or Kazakh
    (:data:`CYRILLIC_CODEPAGES`, cp1251 unless another is clearly better), then
    ``charset-normalizer``. The note says which encoding was used whenever it was not UTF-8.

    Raises
    ------
    EncodingError
        The bytes do not decode with the given encoding, or with any that can be detected.

    Examples
    --------
    >>> decode_bytes("Против всех".encode("koi8-r"), name="a.csv").encoding
    'koi8-r'
    >>> decode_bytes("Против всех".encode("cp1251"), name="a.csv").note
    'a.csv: decoded as cp1251 (not UTF-8; detected)'
    """
    if encoding is not None:
        try:
            codecs.lookup(encoding)
            text = raw.decode(encoding)
        except (UnicodeDecodeError, LookupError) as exc:
            raise EncodingError(
                f"cannot decode with the given encoding ({exc})",
                file=name,
                expected=encoding,
            ) from None
        return Decoded(text.lstrip("\ufeff"), encoding, f"{name}: decoded as {encoding} (given)")
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return Decoded(raw.decode("utf-16"), "utf-16", f"{name}: decoded as utf-16 (BOM)")
        except UnicodeDecodeError:
            pass
    head = raw[:4096]
    if head.count(0) > len(head) // 4:  # UTF-16 without a byte-order mark
        enc = "utf-16-le" if head[1::2].count(0) > head[0::2].count(0) else "utf-16-be"
        try:
            return Decoded(raw.decode(enc), enc, f"{name}: decoded as {enc} (no BOM; detected)")
        except UnicodeDecodeError:
            pass
    try:
        enc = "utf-8-sig" if raw.startswith(codecs.BOM_UTF8) else "utf-8"
        return Decoded(raw.decode(enc), enc)
    except UnicodeDecodeError as exc:
        utf8_error = exc
    found = _single_byte_cyrillic(raw)
    if found is not None:
        enc, text = found
        return Decoded(text, enc, f"{name}: decoded as {enc} (not UTF-8; detected)")
    from charset_normalizer import from_bytes

    best = from_bytes(raw[:200_000]).best()
    if best is not None and best.encoding:
        try:
            text = raw.decode(best.encoding)
            note = f"{name}: decoded as {best.encoding} (not UTF-8; guessed by charset-normalizer)"
            return Decoded(text, best.encoding, note)
        except (UnicodeDecodeError, LookupError):
            pass
    raise EncodingError(
        "file is not UTF-8 and its encoding could not be detected; re-save it as UTF-8 or pass "
        "--encoding",
        file=name,
        field=f"byte {utf8_error.start}",
        expected="UTF-8 (or cp1251)",
        found=repr(raw[utf8_error.start : utf8_error.start + 8]),
    )


def read_text(path: Path, *, encoding: str | None = None) -> tuple[str, str | None]:
    """Decode a (possibly zipped) text file (see :func:`decode_bytes`).

    Returns the text and a note when the encoding was not UTF-8 or was given (``None``
    otherwise).

    Raises
    ------
    EmptyInputError
        The file holds no bytes.
    EncodingError
        The bytes are neither UTF-8 nor an encoding that can be detected with confidence.
    """
    raw, member = read_bytes(path)
    if not raw.strip():
        raise EmptyInputError("file is empty", file=str(path))
    decoded = decode_bytes(raw, name=member if encoding is None else str(path), encoding=encoding)
    return decoded.text, decoded.note


_MOJIBAKE = (
    ("C1 control characters", re.compile(r"[\x80-\x9f]")),
    (
        "UTF-8 read as a Latin code page",
        re.compile(r"[ÃÂÐÑ][\u00a0-\u00bf\u0152-\u0178\u2018-\u203a]"),
    ),
    ("box-drawing characters", re.compile(r"[\u2500-\u259f]")),
    ("replacement characters", re.compile("\ufffd")),
)


def mojibake(header: str) -> str | None:
    """Why a decoded header looks mis-decoded, or None when it looks like real text.

    >>> mojibake("Число избирателей"), mojibake("ÐŸÑ€Ð¾Ñ‚Ð¸Ð² Ð²Ñ\u0081ÐµÑ…")
    (None, 'C1 control characters')
    >>> mojibake("Ïðîòèâ âñåõ;Ãîëîñà")
    'letters from the wrong script'
    """
    for what, pattern in _MOJIBAKE:
        if pattern.search(header):
            return what
    letters = [c for c in header if c.isalpha()]
    latin1 = sum("\u00c0" <= c <= "\u00ff" for c in letters)
    if latin1 >= 4 and latin1 >= 0.3 * len(letters):
        return "letters from the wrong script"
    cyr_words = [w for w in _WORD.findall(header) if any(c.lower() in _RU_KK for c in w)]
    swapped = [w for w in cyr_words if _swapped_case(w)]
    if len(swapped) >= 2 and len(swapped) * 2 >= len(cyr_words):
        return "letters in swapped case (a KOI8-R / Windows-1251 mix-up)"
    return None


def check_header(columns: list[str], *, file: str, encoding: str | None) -> None:
    """Raise :class:`EncodingError` when the decoded header looks like mojibake.

    Raises
    ------
    EncodingError
        Naming the file, what looks wrong, a sample, and suggesting ``--encoding``.
    """
    header = " ".join(columns)
    what = mojibake(header)
    if what is None:
        return
    sample = next((c for c in columns if mojibake(c)), header)[:40]
    used = f"decoding as {encoding}" if encoding else "reading it"
    raise EncodingError(
        f"header looks mis-decoded after {used} ({what}); pass the file's encoding with "
        "--encoding (e.g. cp1251, koi8-r, cp866, utf-8)",
        file=file,
        row=1,
        field="header",
        expected="readable column names",
        found=repr(sample),
    )


def sniff_separator(text: str) -> str:
    """Guess the field separator (``,``, ``;`` or tab) from the header line."""
    end = text.find("\n")
    header = text if end < 0 else text[:end]
    counts = {sep: header.count(sep) for sep in (",", ";", "\t")}
    return max(counts, key=lambda s: counts[s]) if any(counts.values()) else ","
