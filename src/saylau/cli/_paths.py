"""Output folders given on the command line: one clear line instead of a traceback.

>>> import tempfile, pathlib
>>> f = pathlib.Path(tempfile.mkdtemp()) / "taken"
>>> _ = f.write_text("x")
>>> output_folder(f, option="--out")
Traceback (most recent call last):
...
saylau._exceptions.DataFormatError: ...taken, field --out: the output folder is an existing file (expected a folder or a new name, found a file)
"""  # noqa: E501

from __future__ import annotations

from pathlib import Path

from .._exceptions import DataFormatError

__all__ = ["output_folder"]


def output_folder(path: Path, *, option: str) -> Path:
    """Create ``path`` as a folder (and its parents); refuse a file or an unwritable place."""
    for p in (path, *path.parents):
        if p.exists() and not p.is_dir():
            raise DataFormatError(
                "the output folder is an existing file"
                if p == path
                else f"a parent of the output folder is a file ({p})",
                file=str(path),
                field=option,
                expected="a folder or a new name",
                found="a file",
            )
        if p.exists():
            break
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataFormatError(
            f"cannot create the output folder ({exc.strerror or exc})",
            file=str(path),
            field=option,
            expected="a writable folder",
        ) from None
    return path
