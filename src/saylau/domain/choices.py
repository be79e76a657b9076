"""Choices on a ballot: candidates, party lists and the first-class "Against all" line.

"Against all" (Против всех, Барлығына қарсы) is a choice like any other in protocols, totals,
shares, plots and exports; only the rule set decides whether it can win anything.

Examples
--------
>>> is_against_all("Против всех"), is_against_all("БАРЛЫҒЫНА ҚАРСЫ"), is_against_all("Amanat")
(True, True, False)
>>> Choice.from_name("Against all").against_all
True
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata

__all__ = ["AGAINST_ALL_ID", "AGAINST_ALL_NAMES", "Choice", "is_against_all", "normalize_name"]

#: The canonical id of the Against-all choice in normalised files and exports.
AGAINST_ALL_ID = "against_all"

#: Names that mean "Against all", compared after :func:`normalize_name`.
AGAINST_ALL_NAMES = frozenset(
    {
        "against_all",
        "against all",
        "против всех",
        "против всех кандидатов",
        "против всех политических партий",
        "барлығына қарсы",
        "барлыгына карсы",
        "barlyǵyna qarsy",
        "barlygyna qarsy",
        "barlyğyna qarsy",
    }
)


def normalize_name(name: str) -> str:
    """Casefold, NFC-normalise and collapse spaces (also underscores) of a display name.

    >>> normalize_name("  Против   ВСЕХ ")
    'против всех'
    """
    text = unicodedata.normalize("NFC", name).casefold().strip()
    text = text.replace("ё", "е")
    return re.sub(r"\s+", " ", text)


def is_against_all(name: str) -> bool:
    """Whether a choice name means "Against all" in English, Russian, Kazakh (Cyrillic or Latin)."""
    norm = normalize_name(name)
    return norm in AGAINST_ALL_NAMES or norm.replace("_", " ") in AGAINST_ALL_NAMES


@dataclasses.dataclass(frozen=True)
class Choice:
    """One line of the ballot.

    Parameters
    ----------
    id : str
        Key of the choice in tables (the column name in a protocol table).
    name : str
        Display name as printed on the ballot.
    against_all : bool
        True for the "Against all" line.
    order : int or None
        Position on the ballot / order of registration, used by tie-break rules.
    kind : str
        ``"candidate"``, ``"party"`` or ``"against_all"``.
    """

    id: str
    name: str
    against_all: bool = False
    order: int | None = None
    kind: str = "candidate"

    @classmethod
    def from_name(cls, name: str, *, order: int | None = None, kind: str = "candidate") -> Choice:
        """Build a choice from its printed name, recognising the Against-all line."""
        if is_against_all(name):
            return cls(id=name, name=name, against_all=True, order=order, kind="against_all")
        return cls(id=name, name=name, against_all=False, order=order, kind=kind)
