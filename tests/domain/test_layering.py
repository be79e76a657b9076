"""The house plan: ``saylau.domain`` is the bottom layer and imports nothing above it.

Profiles, rule sets, choices and the protocol table are legal and data definitions; they may use
each other, the error hierarchy (``saylau._exceptions``) and the shared result types
(``saylau.results``), never the readers, tabulation, forensics, surveys or the shells.
"""

from __future__ import annotations

import ast
from pathlib import Path

import saylau
import saylau.domain

DOMAIN = Path(saylau.domain.__file__).parent
ALLOWED = {"saylau.domain", "saylau._exceptions", "saylau.results"}


def _imports(path: Path) -> list[tuple[int, str]]:
    """Every saylau module a file imports (relative imports resolved), with its line."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = ["saylau", "domain"]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.startswith("saylau")]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                name = ".".join([*base, *([node.module] if node.module else [])])
            else:
                name = node.module or ""
            if name.startswith("saylau"):
                found.append((node.lineno, name))
    return found


def _allowed(name: str) -> bool:
    return any(name == a or name.startswith(a + ".") for a in ALLOWED)


def test_domain_imports_nothing_above_it() -> None:
    files = sorted(DOMAIN.rglob("*.py"))
    assert (
        len(files) >= 5
    )  # checks, choices, profiles, rules, table (a test that scans nothing fails)
    upward = [
        f"{f.name}:{line} imports {name}"
        for f in files
        for line, name in _imports(f)
        if not _allowed(name)
    ]
    assert upward == []


def test_the_scan_sees_an_upward_import(tmp_path: Path) -> None:
    """The checker itself: a relative import of ``..tabulate`` is caught."""
    f = tmp_path / "x.py"
    f.write_text("from ..tabulate.rules import RuleSet\nfrom .profiles import PROFILES\n")
    names = [n for _, n in _imports(f)]
    assert names == ["saylau.tabulate.rules", "saylau.domain.profiles"]
    assert [_allowed(n) for n in names] == [False, True]


def test_rule_sets_live_in_domain_and_are_re_exported() -> None:
    import saylau.domain.rules
    import saylau.tabulate.rules

    assert saylau.tabulate.rules.RuleSet is saylau.domain.rules.RuleSet
    assert saylau.tabulate.rules.get_rules is saylau.domain.rules.get_rules
    assert saylau.RULES is saylau.domain.rules.RULES
