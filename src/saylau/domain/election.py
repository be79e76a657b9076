"""Elections, contests, the commission hierarchy and polling stations.

An :class:`Election` has a kind, a date and the rule set in force; it holds one or more
:class:`Contest` (the national party list, each single-member district...), each with its
ballot of :class:`~saylau.domain.choices.Choice` (Against all included where the law puts it on
the ballot). Commissions form a tree (central → territorial/regional → district → precinct); a
precinct commission runs one :class:`PollingStation` with its registered voters.

Examples
--------
>>> from datetime import date
>>> e = Election(kind="parliamentary_list", date=date(2023, 3, 19), rules="kz-mazhilis-2023",
...              name="Mazhilis 2023")
>>> e.rule_set.seats
69
>>> root = Commission(id="CEC", level="central", name="Орталық сайлау комиссиясы")
>>> almaty = root.add(Commission(id="ALA", level="territorial", name="Алматы"))
>>> _ = almaty.add(Commission(id="ALA-1", level="precinct", name="№1",
...                           station=PollingStation(id="ALA-1", registered=1500)))
>>> root.registered(), [c.id for c in root.walk()]
(1500, ['CEC', 'ALA', 'ALA-1'])
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator
from typing import Literal

import numpy as np

from .._exceptions import SaylauInputError, UnknownNameError
from ..tabulate.rules import RuleSet, get_rules
from .choices import Choice
from .table import ProtocolTable

__all__ = [
    "LEVELS",
    "Commission",
    "Contest",
    "Election",
    "ElectionKind",
    "PollingStation",
    "hierarchy_from_table",
]

ElectionKind = Literal[
    "presidential", "parliamentary_list", "single_member_district", "local_council"
]

#: Commission levels, top-down.
LEVELS = ("central", "territorial", "district", "precinct")


@dataclasses.dataclass(frozen=True)
class PollingStation:
    """A polling station (precinct) and its registered voters."""

    id: str
    registered: int
    address: str | None = None
    urban: bool | None = None

    def __post_init__(self) -> None:
        if self.registered < 0:
            raise SaylauInputError(
                "registered voters cannot be negative",
                field="registered",
                expected=">= 0",
                found=self.registered,
            )


@dataclasses.dataclass
class Commission:
    """An electoral commission and the commissions below it."""

    id: str
    level: str
    name: str = ""
    station: PollingStation | None = None
    children: list[Commission] = dataclasses.field(default_factory=list)

    def __post_init__(self) -> None:
        if self.level not in LEVELS:
            raise UnknownNameError(
                "unknown commission level",
                field="level",
                expected=" | ".join(LEVELS),
                found=self.level,
            )

    def add(self, child: Commission) -> Commission:
        """Attach a lower commission; its level must be below this one's."""
        if LEVELS.index(child.level) <= LEVELS.index(self.level):
            raise SaylauInputError(
                "a lower commission must be below its parent",
                field="level",
                expected=f"below {self.level}",
                found=child.level,
            )
        self.children.append(child)
        return child

    def walk(self) -> Iterator[Commission]:
        """This commission and every one below it, depth first."""
        yield self
        for c in self.children:
            yield from c.walk()

    def stations(self) -> list[PollingStation]:
        """Every polling station under this commission."""
        return [c.station for c in self.walk() if c.station is not None]

    def registered(self) -> int:
        """Registered voters under this commission."""
        return sum(s.registered for s in self.stations())


@dataclasses.dataclass(frozen=True)
class Contest:
    """One race on one ballot: the national list, a district, a council seat."""

    id: str
    name: str
    choices: tuple[Choice, ...]
    seats: int = 1

    @property
    def against_all(self) -> Choice | None:
        return next((c for c in self.choices if c.against_all), None)


@dataclasses.dataclass(frozen=True)
class Election:
    """An election: its kind, date, the rule set in force and its contests."""

    kind: ElectionKind
    date: dt.date
    rules: str
    name: str = ""
    contests: tuple[Contest, ...] = ()

    @property
    def rule_set(self) -> RuleSet:
        """The :class:`~saylau.tabulate.rules.RuleSet` named by ``rules``."""
        return get_rules(self.rules)


def hierarchy_from_table(table: ProtocolTable, *, name: str = "central") -> Commission:
    """Build the commission tree implied by a table's hierarchy columns.

    The table's levels (e.g. ``region``, ``tik``) become territorial and district commissions;
    each row becomes a precinct commission with its polling station and registered voters.
    """
    root = Commission(id=name, level="central", name=name)
    levels = list(table.levels)
    # map the table's levels onto the commission levels between central and precinct
    kinds = ["territorial", "district"]
    # a table's "uik" column is the precinct itself, not a level above it
    above = [lvl for lvl in levels if lvl not in ("uik", "precinct")][:2]
    values = {lvl: table.level_values(lvl) for lvl in above}
    ids = table.frame.get_column("station").to_list()
    registered = (
        table.registered() if "voters_on_list" in table else np.zeros(len(ids), dtype=np.int64)
    )
    nodes: dict[tuple[str, ...], Commission] = {}
    for i, sid in enumerate(ids):
        parent = root
        path: tuple[str, ...] = ()
        for depth, lvl in enumerate(above):
            path = (*path, str(values[lvl][i]))
            node = nodes.get(path)
            if node is None:
                node = parent.add(
                    Commission(id=" / ".join(path), level=kinds[depth], name=path[-1])
                )
                nodes[path] = node
            parent = node
        parent.add(
            Commission(
                id=str(sid),
                level="precinct",
                name=str(sid),
                station=PollingStation(id=str(sid), registered=int(registered[i])),
            )
        )
    return root
