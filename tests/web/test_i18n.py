"""Every message a person reads in the pages has a Kazakh, Russian and English translation.

The messages are extracted with Babel from the templates and the Python modules of
``saylau.web`` (the mapping in ``web/babel.cfg``) and from the Python modules of
``saylau.report`` (figures and reports), plus the messages chosen at run time: the line
labels of every shipped protocol profile and the categories of the shipped incident
taxonomy. Each catalogue must translate every one of them, not fuzzily, with the same
placeholders.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.checkers import python_format
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from saylau.domain.profiles import LINE_LABELS, PROFILES
from saylau.store.masterdata import default_incident_categories
from saylau.web import i18n

WEB = Path(i18n.__file__).parent
# the letters of Kazakh Cyrillic that Russian lacks; һ is left out: it occurs only in a few
# loanwords (жиһаз, қаһарман), none of which the interface needs
KAZAKH_LETTERS = set("әғқңөұүі")


def _method_map() -> tuple[list[tuple[str, str]], dict[str, dict[str, str]]]:
    """The extraction mapping of web/babel.cfg (the file maintainers use with pybabel)."""
    from babel.messages.frontend import parse_mapping_cfg

    with (WEB / "babel.cfg").open(encoding="utf-8") as f:
        return parse_mapping_cfg(f)


def _input_error_names() -> set[str]:
    """Names of every error class a person's input can raise (SaylauInputError and below)."""
    import importlib
    import pkgutil

    import saylau.store
    import saylau.web
    from saylau._exceptions import SaylauInputError

    # every module of the service, so the answer does not depend on which tests ran before
    for pkg in (saylau.store, saylau.web):
        for mod in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + "."):
            if ".migrations" not in mod.name:
                importlib.import_module(mod.name)

    names, todo = set(), [SaylauInputError]
    while todo:
        cls = todo.pop()
        names.add(cls.__name__)
        todo.extend(cls.__subclasses__())
    return names


def library_error_messages() -> dict[str, list[str]]:
    """The messages and constant ``expected`` values of the input errors raised in
    ``saylau.store`` and ``saylau.web``: the pages show them translated (web/errors.py
    ``error_text``), so a new one needs its translations."""
    import ast

    names = _input_error_names()
    found: dict[str, list[str]] = {}
    for folder in (WEB.parent / "store", WEB):
        for path in sorted(folder.rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not isinstance(node, ast.Call):
                    continue
                func = node.func
                name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
                if name not in names:
                    continue
                texts = [a for a in node.args[:1] if isinstance(a, ast.Constant)]
                texts += [k.value for k in node.keywords if k.arg == "expected"]
                for t in texts:
                    if isinstance(t, ast.Constant) and isinstance(t.value, str):
                        found.setdefault(t.value, []).append(f"{path.name}:{node.lineno}")
    return found


def extracted_messages() -> dict[str | tuple[str, str], list[str]]:
    """msgid (or (singular, plural)) -> where it is used."""
    method_map, options_map = _method_map()
    found: dict[str | tuple[str, str], list[str]] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        str(WEB), method_map, options_map
    ):
        key = message if isinstance(message, str) else (message[0], message[1])
        found.setdefault(key, []).append(f"{filename}:{lineno}")
    # the report's figures and text share the catalogues (saylau/report, Python modules)
    for filename, lineno, message, _comments, _context in extract_from_dir(
        str(WEB.parent / "report"), [("**.py", "python")], {}
    ):
        key = message if isinstance(message, str) else (message[0], message[1])
        found.setdefault(key, []).append(f"report/{filename}:{lineno}")
    for message, where in library_error_messages().items():  # shown in "Not saved: …"
        found.setdefault(message, []).extend(where)
    for cat in default_incident_categories():  # the shipped taxonomy, shown translated
        found.setdefault(cat["category"], []).append(f"incident category {cat['code']}")
    for profile in PROFILES.values():
        for line in profile.lines:
            label = line.label or LINE_LABELS[line.key]
            found.setdefault(label, []).append(f"profile {profile.name}, line {line.key}")
    return found


def catalogue(code: str) -> Catalog:
    path = WEB / "locale" / code / "LC_MESSAGES" / "messages.po"
    return read_po(io.BytesIO(path.read_bytes()), locale=code)


def test_extraction_finds_the_pages_messages() -> None:
    found = extracted_messages()
    # a message of a template, one of a Python module, a plural one and a profile line label
    assert "Sign in" in found
    assert any("pages.py" in where for where in found.get("Observer", []))
    assert any(isinstance(k, tuple) for k in found)
    assert "ballots received" in found
    # a library error a form can show, and a constant expected value
    assert "station not assigned to you" in found and "integer >= 0" in found


@pytest.mark.parametrize("code", i18n.LOCALES)
def test_every_message_is_translated(code: str) -> None:
    cat = catalogue(code)
    missing = []
    for key, where in sorted(extracted_messages().items(), key=str):
        msgid = key if isinstance(key, str) else key[0]
        msg = cat.get(msgid)
        strings = (
            []
            if msg is None
            else ([msg.string] if isinstance(msg.string, str) else list(msg.string))
        )
        if msg is None or msg.fuzzy or not strings or not all(s.strip() for s in strings):
            missing.append(f"{msgid!r} ({where[0]})")
            continue
        if msg.python_format:
            python_format(cat, msg)  # raises TranslationError on a placeholder mismatch
    assert not missing, f"{code}: {len(missing)} message(s) without translation:\n" + "\n".join(
        missing
    )


@pytest.mark.parametrize("code", i18n.LOCALES)
def test_catalogue_has_no_stale_message(code: str) -> None:
    """A message that is no longer used anywhere is removed, not left to rot."""
    used = {k if isinstance(k, str) else k[0] for k in extracted_messages()}
    stale = [
        m.id
        for m in catalogue(code)
        if m.id and (m.id if isinstance(m.id, str) else m.id[0]) not in used
    ]
    assert not stale, f"{code}: messages no longer used: {stale}"


def test_kazakh_catalogue_is_kazakh() -> None:
    """The Kazakh catalogue uses the Kazakh letters (not a Russian copy) and compiles."""
    text = "".join(
        m.string if isinstance(m.string, str) else "".join(m.string)
        for m in catalogue("kk")
        if m.id
    )
    assert set(text.lower()) >= KAZAKH_LETTERS, KAZAKH_LETTERS - set(text.lower())
    assert i18n.translations("kk").gettext("Sign in") != "Sign in"
