"""A report's language: its messages (the Babel catalogues shared with the pages) and formats.

Every label, explanation and caption of a report goes through :meth:`ReportLocale.gettext`
(the catalogues of :mod:`saylau.web.i18n`, compiled in memory, no FastAPI needed); every
number, percentage and date through Babel's locale data, so that a Kazakh or Russian report
writes ``1 234 567,9`` and ``49,31%`` where an English one writes ``1,234,567.9`` and
``49.31%``.

Examples
--------
>>> kk = ReportLocale("kk")
>>> kk.number(1234567.891, 1).replace("\\xa0", " ")
'1 234 567,9'
>>> kk.percent(0.49312)
'49,31%'
>>> ReportLocale("en").number(1234567)
'1,234,567'
>>> ReportLocale("ru").gettext("Summary")
'Сводка'
"""

from __future__ import annotations

import datetime as _dt
import math
from typing import Final

from babel.dates import format_date
from babel.numbers import format_decimal, format_percent

from .._exceptions import SaylauInputError

__all__ = ["LANGUAGES", "N_", "ReportLocale"]

#: The languages a report is written in.
LANGUAGES: Final = ("kk", "ru", "en")

#: What a missing figure prints as (a dash, in every language).
MISSING = "—"


def N_(message: str) -> str:
    """Mark a message for extraction without translating it here (translated where shown)."""
    return message


class ReportLocale:
    """Messages and number/percent/date formats of one report language.

    Parameters
    ----------
    lang : {"kk", "ru", "en"}
    """

    def __init__(self, lang: str) -> None:
        if lang not in LANGUAGES:
            raise SaylauInputError(
                "unknown report language",
                field="--lang",
                expected=" | ".join(LANGUAGES),
                found=lang,
            )
        from ..web.i18n import translations

        self.lang = lang
        self._t = translations(lang)

    def gettext(self, message: str, **values: object) -> str:
        """The message in this language, with ``{name}`` placeholders filled."""
        text = self._t.gettext(message)
        return text.format(**values) if values else text

    def number(self, value: float | int | None, digits: int = 0) -> str:
        """A number with this language's grouping and decimal signs; a dash when missing."""
        if value is None or (isinstance(value, float) and not math.isfinite(value)):
            return MISSING
        pattern = "#,##0" + ("." + "0" * digits if digits > 0 else "")
        return str(format_decimal(value, format=pattern, locale=self.lang))

    def signed(self, value: float | int | None, digits: int = 0) -> str:
        """A number with its sign (``+12``, ``−3``)."""
        text = self.number(value, digits)
        if text == MISSING or value is None:
            return text
        return ("+" + text) if value > 0 else text.replace("-", "−")

    def percent(self, value: float | None, digits: int = 2) -> str:
        """A fraction as a percentage in this language's format; a dash when missing."""
        if value is None or not math.isfinite(value):
            return MISSING
        pattern = "#,##0" + ("." + "0" * digits if digits > 0 else "") + "%"
        return str(format_percent(value, format=pattern, locale=self.lang))

    def pvalue(self, value: float | None) -> str:
        """A p-value: three decimals, or ``< 0,001`` / ``< 0.001`` below that."""
        if value is None or not math.isfinite(value):
            return MISSING
        if value < 0.001:
            return "< " + self.number(0.001, 3)
        return self.number(value, 3)

    def p_text(self, value: float | None) -> str:
        """``p = 0,012`` or ``p < 0,001`` (the letter p is the same in every language)."""
        text = self.pvalue(value)
        return "p " + (text if text.startswith("<") else "= " + text)

    def interval(self, low: float | None, high: float | None, digits: int = 2) -> str:
        """``[lo; hi]`` as percentages."""
        return f"[{self.percent(low, digits)}; {self.percent(high, digits)}]"

    def date(self, value: _dt.date) -> str:
        """A date written out in this language."""
        return str(format_date(value, format="long", locale=self.lang))
