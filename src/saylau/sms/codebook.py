"""The codes an observer types, derived from the election's protocol profile and ballot.

Nothing here is specific to one election: the codes come from the profile (its printed line
numbers) and from the ballot (choices in ballot order, Against all included), so a network that
loads another profile or another ballot gets the matching codes with no change of code.

* a protocol line is typed by its **printed line number** on the paper form (``4=1190``); a line
  the form does not number gets the next number after the highest printed one, in form order;
* a choice is typed ``K`` and its **position on the ballot** (``K1``, ``K2``...; Against all
  has its ballot position like any other choice); in an exit-poll tally ``K0`` counts the
  respondents who refused to answer;
* an incident is typed by its **category code** of the taxonomy (``VOTE.STUFFING``), or by the
  part after the phase (``STUFFING``), or by a prefix of either that only one category has.

Examples
--------
>>> from saylau.domain.profiles import get_profile
>>> book = Codebook.build(get_profile("kz"), ["Amanat", "Ақ жол", "Барлығына қарсы"])
>>> book.line_codes()[:4]
[('1', 'voters_on_list'), ('2', 'issued'), ('3', 'issued_by_member'), ('4', 'in_boxes')]
>>> book.line_codes()[-2:]  # lines the form does not number
[('9', 'in_mobile'), ('10', 'outside_requests')]
>>> book.key_of("K3"), book.code_of("Ақ жол")
('Барлығына қарсы', 'K2')
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence

from ..domain.profiles import ProtocolProfile
from .text import JOINERS, fold

__all__ = ["CHOICE_PREFIX", "REFUSED", "Codebook"]

#: The letter before a choice's ballot position (Latin K or Cyrillic К, Kazakh Қ alike).
CHOICE_PREFIX = "K"
#: What ``K0`` stands for in an exit-poll tally: the respondents who refused to answer.
REFUSED = "refused"


def _fold_code(code: str) -> str:
    return "".join(c for c in fold(code) if c not in JOINERS)


@dataclasses.dataclass(frozen=True)
class Codebook:
    """Codes of one election: protocol lines, choices, incident categories.

    Build it with :meth:`build`; :func:`saylau.sms.parse` reads messages with it.
    """

    lines: tuple[tuple[str, str], ...]
    choices: tuple[tuple[str, str], ...]
    optional: frozenset[str] = frozenset()
    categories: tuple[str, ...] = ()

    @classmethod
    def build(
        cls,
        profile: ProtocolProfile,
        choices: Sequence[str],
        *,
        categories: Iterable[str] = (),
    ) -> Codebook:
        """The codes of ``profile``'s lines, the ballot's ``choices`` (in ballot order) and the
        incident ``categories``."""
        numbered = [ln.number for ln in profile.lines if ln.number is not None]
        nxt = max(numbered, default=0)
        lines = []
        for ln in profile.lines:
            if ln.number is None:
                nxt += 1
                number = nxt
            else:
                number = ln.number
            lines.append((str(number), ln.key))
        return cls(
            lines=tuple(lines),
            choices=tuple((f"{CHOICE_PREFIX}{i}", c) for i, c in enumerate(choices, start=1)),
            optional=frozenset(ln.key for ln in profile.lines if ln.optional),
            categories=tuple(categories),
        )

    def line_codes(self) -> list[tuple[str, str]]:
        """(code, line key) of every protocol line, in the form's order."""
        return list(self.lines)

    def key_of(self, code: str) -> str | None:
        """The line key or choice a code stands for (None when the code is unknown)."""
        for c, key in (*self.lines, *self.choices):
            if c == code:
                return key
        return None

    def code_of(self, key: str) -> str | None:
        """The code of a line key or choice (None when the election has no such line)."""
        for c, k in (*self.lines, *self.choices):
            if k == key:
                return c
        return None

    def category(self, token: str) -> tuple[str | None, list[str]]:
        """The incident category a folded word names: (code, []) or (None, candidates).

        >>> book = Codebook((), (), categories=("VOTE.STUFFING", "VOTE.SECRECY", "COUNT.HIDDEN"))
        >>> book.category("VOTESTUFFING"), book.category("STUF"), book.category("HIDDEN")
        (('VOTE.STUFFING', []), ('VOTE.STUFFING', []), ('COUNT.HIDDEN', []))
        >>> book.category("VOTES")
        (None, ['VOTE.SECRECY', 'VOTE.STUFFING'])
        """
        if not token:
            return None, []
        full = {c: _fold_code(c) for c in self.categories}
        tail = {c: _fold_code(c.split(".", 1)[-1]) for c in self.categories}
        for table in (full, tail):
            exact = [c for c, f in table.items() if f == token]
            if len(exact) == 1:
                return exact[0], []
        if len(token) >= 3:
            pre = sorted(
                c for c in self.categories if full[c].startswith(token) or tail[c].startswith(token)
            )
            if len(pre) == 1:
                return pre[0], []
            return None, pre
        return None, []
