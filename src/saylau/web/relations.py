"""A protocol profile as JSON, for the pages that check control relations as a person types.

The phone never holds a hand-written copy of the arithmetic: it receives the profile's lines
and relations exactly as :mod:`saylau.domain.profiles` defines them and evaluates them with the
generic evaluator in ``web/static/relations.js``. The browser test checks that evaluator against
:func:`saylau.domain.checks.validate` on every shipped profile.

Examples
--------
>>> doc = profile_document("kz")
>>> doc["choices_term"], [line["key"] for line in doc["lines"]][:2]
('@choices', ['voters_on_list', 'issued'])
>>> rel = doc["relations"][0]
>>> rel["name"], rel["op"], rel["strict"], rel["formula"]
('mobile_box_within_requests', '>=', True, 'outside_requests ≥ in_mobile')
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..domain.profiles import CHOICES, LINE_LABELS, ProtocolProfile, get_profile

__all__ = ["profile_document"]


def profile_document(
    profile: str | ProtocolProfile, gettext: Callable[[str], str] | None = None
) -> dict[str, Any]:
    """The lines and control relations of a profile as JSON-ready data.

    Parameters
    ----------
    profile : str or ProtocolProfile
        A profile or its name (an unknown name raises :class:`~saylau.UnknownNameError`).
    gettext : callable, optional
        Translates the line labels (English when not given).

    Returns
    -------
    dict
        ``name``, ``title``, ``choices_term`` (the term standing for Σ votes per choice),
        ``against_all_on_ballot``, ``lines`` (``key``, ``number``, ``label``) and ``relations``
        (``name``, ``left``/``right`` as ``[coefficient, key]`` pairs, ``op``, ``strict``,
        ``formula`` in printed line numbers, ``source``).
    """
    prof = get_profile(profile) if isinstance(profile, str) else profile
    _ = gettext if gettext is not None else (lambda s: s)
    tr = _
    numbers = prof.numbers
    votes = _("Σ votes")  # the term for all choices in a printed formula (see ControlRelation)
    return {
        "name": prof.name,
        "title": prof.title,
        "inferred": prof.inferred,
        "choices_term": CHOICES,
        "against_all_on_ballot": prof.against_all_on_ballot,
        "lines": [
            {
                "key": line.key,
                "number": line.number,
                "label": tr(line.label or LINE_LABELS.get(line.key, line.key)),
                "optional": line.optional,
            }
            for line in prof.lines
        ],
        "relations": [
            {
                "name": rel.name,
                "left": [[coef, key] for coef, key in rel.left],
                "right": [[coef, key] for coef, key in rel.right],
                "op": rel.op,
                "strict": rel.strict,
                "formula": rel.formula(numbers).replace("Σ votes", votes),
                "source": rel.source,
            }
            for rel in prof.relations
        ],
    }
