"""Getting text out of files: zip and gzip containers, character encodings, separators.

Election files come zipped, gzipped, with a UTF-8 byte-order mark, or in Windows-1251 (common in
Russian and Kazakh data). :func:`read_text` decodes UTF-8 first and, only when that fails,
detects the encoding with ``charset-normalizer`` and says which one it used.

Examples
--------
>>> import tempfile, pathlib
>>> p = pathlib.Path(tempfile.mkdtemp()) / "a.csv"
>>> _ = p.write_bytes("station;Против всех\\n1;5\\n".encode("cp1251"))
>>> text, note = read_text(p)
>>> text.splitlines()[0], note
('station;Против всех', 'a.csv: decoded as cp1251 (not UTF-8)')
>>> sniff_separator(text)
';'
"""

from __future__ import annotations

import gzip
import zipfile
from pathlib import Path

from .._exceptions import DataFormatError, EmptyInputError, EncodingError

__all__ = ["read_bytes", "read_text", "sniff_separator"]

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


def read_text(path: Path, *, encoding: str | None = None) -> tuple[str, str | None]:
    """Decode a (possibly zipped) text file.

    Returns the text and a note when the encoding was not UTF-8 (``None`` otherwise).

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
    if encoding is not None:
        try:
            return raw.decode(encoding), None
        except (UnicodeDecodeError, LookupError) as exc:
            raise EncodingError(
                f"cannot decode with the given encoding ({exc})",
                file=str(path),
                expected=encoding,
            ) from None
    try:
        return raw.decode("utf-8-sig"), None
    except UnicodeDecodeError as exc:
        utf8_error = exc
    # Not UTF-8: Windows-1251 is by far the most common alternative in this data; take it when
    # it decodes to mostly Cyrillic text, otherwise ask charset-normalizer.
    try:
        text = raw.decode("cp1251")
        if _looks_cyrillic(text):
            return text, f"{member}: decoded as cp1251 (not UTF-8)"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(raw[:200_000]).best()
    if best is not None and best.encoding:
        try:
            return raw.decode(best.encoding), f"{member}: decoded as {best.encoding} (not UTF-8)"
        except (UnicodeDecodeError, LookupError):
            pass
    raise EncodingError(
        "file is not UTF-8 and its encoding could not be detected; re-save it as UTF-8 or pass "
        "--encoding",
        file=str(path),
        field=f"byte {utf8_error.start}",
        expected="UTF-8 (or cp1251)",
        found=repr(raw[utf8_error.start : utf8_error.start + 8]),
    )


def _looks_cyrillic(text: str) -> bool:
    sample = text[:5000]
    return sum("а" <= ch.lower() <= "я" for ch in sample) > len(sample) // 10


def sniff_separator(text: str) -> str:
    """Guess the field separator (``,``, ``;`` or tab) from the header line."""
    end = text.find("\n")
    header = text if end < 0 else text[:end]
    counts = {sep: header.count(sep) for sep in (",", ";", "\t")}
    return max(counts, key=lambda s: counts[s]) if any(counts.values()) else ","
