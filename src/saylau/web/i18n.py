"""Interface languages: Babel catalogues for Kazakh, Russian and English, chosen per person.

The catalogues are the ``.po`` files under ``web/locale/<code>/LC_MESSAGES/messages.po``, shipped
as package data. They are compiled in memory at start-up with :mod:`babel.messages` (no ``.mo``
file to forget to rebuild; fuzzy entries are left out, so a fuzzy message shows in the source
language and the catalogue test catches it). The language of a request is the person's stored
preference, else a ``lang`` cookie set from the language links on the login page, else the best
match of the browser's ``Accept-Language``, else the default.

Examples
--------
>>> negotiate("ru-RU,ru;q=0.9,en;q=0.5")
'ru'
>>> negotiate("kk-KZ")
'kk'
>>> negotiate("de-DE")
'en'
>>> translations("kk").gettext("Sign in")
'Кіру'
"""

from __future__ import annotations

import functools
import gettext as _gettext
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

from babel import Locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from markupsafe import Markup

__all__ = [
    "DEFAULT_LOCALE",
    "LOCALES",
    "LOCALE_NAMES",
    "choose_locale",
    "negotiate",
    "template_functions",
    "translations",
]

#: Interface languages, in the order the language links show them.
LOCALES: tuple[str, ...] = ("kk", "ru", "en")

#: Each language's name in itself (never translated: a reader finds their own language).
LOCALE_NAMES: dict[str, str] = {"kk": "Қазақша", "ru": "Русский", "en": "English"}

#: The language of a request that states no usable preference.
DEFAULT_LOCALE = "en"


#: The shipped catalogues (package data beside this module).
_LOCALE_DIR = Path(__file__).resolve().parent / "locale"


def _catalogue_text(code: str) -> bytes:
    return (_LOCALE_DIR / code / "LC_MESSAGES" / "messages.po").read_bytes()


@functools.cache
def translations(code: str) -> _gettext.GNUTranslations:
    """The compiled catalogue of one interface language (compiled once per process).

    Parameters
    ----------
    code : {"kk", "ru", "en"}

    Returns
    -------
    gettext.GNUTranslations
    """
    if code not in LOCALES:
        raise ValueError(f"unknown interface language {code!r} (expected {' | '.join(LOCALES)})")
    catalog = read_po(io.BytesIO(_catalogue_text(code)), locale=code)
    buf = io.BytesIO()
    write_mo(buf, catalog, use_fuzzy=False)
    buf.seek(0)
    return _gettext.GNUTranslations(buf)


def negotiate(accept_language: str | None, default: str = DEFAULT_LOCALE) -> str:
    """The interface language that best matches an ``Accept-Language`` header.

    Parameters
    ----------
    accept_language : str or None
        The header as sent by the browser (``"kk-KZ,ru;q=0.8"``).
    default : str
        Returned when nothing matches.
    """
    if not accept_language:
        return default
    wanted: list[tuple[float, int, str]] = []
    for i, part in enumerate(accept_language.split(",")):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        if tag and q > 0:
            wanted.append((-q, i, tag.strip().replace("_", "-")))
    preferred = [tag for _, _, tag in sorted(wanted)]
    found = Locale.negotiate(preferred, list(LOCALES), sep="-")
    return str(found) if found is not None else default


def choose_locale(
    preference: str | None,
    cookie: str | None,
    accept_language: str | None,
    default: str = DEFAULT_LOCALE,
) -> str:
    """The language of one request: person's preference, cookie, browser, default.

    >>> choose_locale(None, "ru", "kk")
    'ru'
    >>> choose_locale("kk", "ru", "en")
    'kk'
    >>> choose_locale(None, "xx", "ru")
    'ru'
    """
    for code in (preference, cookie):
        if code in LOCALES:
            return str(code)
    return negotiate(accept_language, default)


def template_functions(code: str) -> dict[str, Callable[..., Any]]:
    """``gettext``/``ngettext``/``_`` for Jinja2's i18n extension in its new style.

    The new style formats ``%(name)s`` placeholders from keyword arguments and escapes them, so
    a value can never inject markup (a message without keyword arguments is not formatted).

    >>> f = template_functions("en")
    >>> str(f["_"]("Station %(code)s", code="<b>"))
    'Station &lt;b&gt;'
    """
    t = translations(code)

    def gettext(message: str, **variables: Any) -> str:
        text = Markup(t.gettext(message))
        return text % variables if variables else text

    def ngettext(singular: str, plural: str, n: int, **variables: Any) -> str:
        variables.setdefault("num", n)
        return Markup(t.ngettext(singular, plural, n)) % variables

    return {"gettext": gettext, "ngettext": ngettext, "_": gettext}
