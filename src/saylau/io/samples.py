"""The small real elections bundled with saylau (see ``saylau/data/README.md`` for origins).

>>> sample_path().name
'russia-2004-sample.csv.gz'
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from .._exceptions import UnknownNameError

__all__ = ["SAMPLES", "sample_path"]

#: Bundled files: name → what it is.
SAMPLES = {
    "russia-2004-sample.csv.gz": "Russia, presidential 2004, five regions (with Against all)",
    "kz-mazhilis-2023.csv": "Kazakhstan, Mazhilis 2023, national party-list votes (choice,votes)",
    "poland-2020-r1-sample.csv.gz": (
        "Poland, presidential 2020 first round, every tenth precinct: the clean control "
        "a report draws beside each forensic figure"
    ),
}


def sample_path(name: str = "russia-2004-sample.csv.gz") -> Path:
    """The path of a bundled sample file."""
    if name not in SAMPLES:
        raise UnknownNameError(
            "unknown sample", field="sample", expected=" | ".join(SAMPLES), found=name
        )
    return Path(str(resources.files("saylau") / "data" / name))
