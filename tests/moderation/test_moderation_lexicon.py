"""The data files, their format, and the package's purity."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from moderation.lexicon import MODIFIER_KINDS, Rule, _parse_rules, expand_braces, load_lexicon

PACKAGE = Path(__file__).resolve().parents[2] / "moderation"


def test_brace_expansion() -> None:
    assert expand_braces("{saved|saving} up {all|} my meds") == [
        "saved up all my meds", "saved up my meds", "saving up all my meds", "saving up my meds"]
    assert expand_braces("kill {@v}", {"v": ["him", "her"]}) == ["kill him", "kill her"]
    with pytest.raises(ValueError):
        expand_braces("kill {@nobody}", {})


def test_shipped_data_loads_both_languages() -> None:
    lex = load_lexicon()
    assert {"en", "es"} <= set(lex.languages)
    assert len(lex.terms) > 1000
    assert "kill myself" in lex.terms
    assert "me quiero morir" in lex.terms


def test_every_kind_used_by_a_rule_has_terms_or_a_source() -> None:
    lex = load_lexicon()
    term_kinds = {k for kinds in lex.terms.values() for k in kinds}
    derived = {r.yields for r in lex.rules if r.yields}
    detectors = {"phone", "email", "url", "social_url", "short_url", "handle", "address"}
    for rule in lex.rules:
        for kind in (*rule.all, *rule.any, *rule.unless, *rule.escalate):
            assert kind in term_kinds | derived | detectors | MODIFIER_KINDS, (rule.id, kind)


@pytest.mark.parametrize(
    "block",
    [
        {"id": "x", "all": ["a"]},  # neither category nor yields
        {"id": "x", "all": ["a"], "category": "spam", "yields": "b"},
        {"id": "x", "category": "spam"},  # no kinds
        {"id": "x", "all": ["a"], "category": "spam", "scope": "paragraph"},
        {"id": "x", "all": ["a"], "category": "spam", "severity": 4},
    ],
)
def test_invalid_rules_are_rejected(block: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        _parse_rules([block])


def test_rule_kinds() -> None:
    rule = Rule(id="r", all=("a",), any=("b", "c"), category="spam")
    assert rule.kinds == {"a", "b", "c"}


def test_package_imports_nothing_from_server_and_does_no_io() -> None:
    forbidden_modules = {"server", "socket", "logging", "urllib", "http", "requests", "sqlite3", "asyncio"}
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            for name in names:
                assert name.split(".")[0] not in forbidden_modules, (path.name, name)
        if path.name not in {"cli.py", "__main__.py"}:
            calls = {n.func.id for n in ast.walk(tree)
                     if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
            assert "open" not in calls and "print" not in calls, path.name
