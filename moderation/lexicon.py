"""Load the lexicons and rules from the data files shipped in ``moderation/data``.

Layout (see docs/moderation.md for the full format):

* ``data/rules.toml`` -- language-independent: what each *kind* of term means
  (``[kinds.NAME]``: tense, which contexts cancel it) and the ``[[rule]]`` blocks that
  combine kinds into a category and severity;
* ``data/emoji.toml`` -- emoji to word (``"💊" = "pill"``);
* ``data/allow.toml`` -- crisis-line numbers and recovery sites that are never a boundary;
* ``data/<lang>/normalize.toml`` -- shorthands, euphemisms and number words of a
  language (``[words]``), words that open a new clause, spelled-out digits;
* ``data/<lang>/sets.toml`` -- named lists (``victim = ["him", "her", ...]``) that terms
  reuse as ``{@victim}``;
* ``data/<lang>/<anything>.toml`` -- ``kind = ["term", ...]`` lists.

Every term is run through the same :class:`~moderation.normalize.Normalizer` as the
messages, so editors write plain text (``"I'm going to kill myself"``) and never think
about case, accents, apostrophes or leetspeak.  Terms may use ``{a|b|}`` for
alternatives (an empty one makes the part optional), ``#``/``##``/``#year`` for numbers
and a trailing ``*`` for "any ending" (``suicid*``).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from itertools import product
from typing import Any

from moderation.normalize import PLACEHOLDERS, Normalizer

__all__ = [
    "MODIFIER_KINDS",
    "SUPPRESSORS",
    "KindSpec",
    "Lexicon",
    "Rule",
    "expand_braces",
    "load_lexicon",
]

# Kinds the engine itself interprets as context rather than signal.
MODIFIER_KINDS = frozenset({
    "negation",    # "not", "never": cancels a signal just after it in the same clause
    "past",        # "used to", "years ago": the sentence is a narrative of the past
    "recent",      # "last night", "an hour ago": a past-tense signal is still current
    "present",     # "now", "again", "still": keeps a clause current despite a past marker
    "revive",      # "and I still do": ending a later clause, says a past signal still holds
    "habitual",    # "a day", "every day": describes a habit, not an event
    "idiom",       # "killing me", "dying to": cancels any signal it overlaps
    "quote_cue",   # "lyrics", "that song": the sentence quotes someone else
    "generic",     # "if you ever", "people who": talk about others in general
    "joke",        # "lol", "jk", 😂
})
# Names of the contexts a kind can be cancelled by (``suppressed_by``).
SUPPRESSORS = frozenset({"negation", "past", "idiom", "quote", "generic", "joke", "habitual"})
DEFAULT_SUPPRESSED_BY = frozenset({"negation", "past", "idiom", "quote", "generic"})
TENSES = frozenset({"present", "past", "any"})
SCOPES = ("clause", "sentence", "message", "conversation")

_BRACES = re.compile(r"\{([^{}]*)\}")


@dataclass(frozen=True, slots=True)
class KindSpec:
    """How the engine treats hits of one kind.

    ``tense``: ``present`` -- cancelled by a past marker in the sentence (unless the
    clause says "now"/"again"); ``past`` -- only counts with a recent marker ("last
    night") in the sentence; ``any`` -- counts unless a past marker cancels it.
    """

    name: str
    tense: str = "present"
    suppressed_by: frozenset[str] = DEFAULT_SUPPRESSED_BY


@dataclass(frozen=True, slots=True)
class Rule:
    """One reviewable decision: these kinds together, in this scope, mean that.

    A rule fires when every kind in ``all`` and (if given) one kind in ``any`` have hits
    in the same ``scope`` unit and no kind in ``unless`` does.  It either raises
    ``category`` at ``severity`` (plus one if a kind in ``escalate`` is present in the
    conversation), or ``yields`` a derived kind other rules can use.
    """

    id: str
    all: tuple[str, ...]
    any: tuple[str, ...] = ()
    unless: tuple[str, ...] = ()
    scope: str = "sentence"
    category: str | None = None
    severity: int = 1
    escalate: tuple[str, ...] = ()
    yields: str | None = None
    kinds: frozenset[str] = field(init=False, repr=False, compare=False)
    all_kinds: frozenset[str] = field(init=False, repr=False, compare=False)
    any_kinds: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "all_kinds", frozenset(self.all))
        object.__setattr__(self, "any_kinds", frozenset(self.any))
        object.__setattr__(self, "kinds", self.all_kinds | self.any_kinds)


@dataclass(frozen=True, slots=True)
class Lexicon:
    """Everything compiled from the data files: normaliser, kinds, rules and terms."""

    languages: tuple[str, ...]
    normalizer: Normalizer
    kinds: Mapping[str, KindSpec]
    rules: tuple[Rule, ...]
    terms: Mapping[str, tuple[str, ...]]  # canonical term (no spaces at ends) -> kinds
    allowed_numbers: frozenset[str] = frozenset()  # digits of crisis lines etc.
    allowed_domains: tuple[str, ...] = ()

    def spec(self, kind: str) -> KindSpec:
        return self.kinds.get(kind) or KindSpec(kind)


def expand_braces(term: str, sets: Mapping[str, list[str]] | None = None) -> list[str]:
    """``"{saved|saving} up {all|} my meds"`` -> every spelled-out alternative.

    ``{@name}`` stands for every entry of the named set (``sets.toml``), so a list such
    as the people a member may threaten is written once and reused.
    """
    parts = _BRACES.split(term)
    choices: list[list[str]] = []
    for i, part in enumerate(parts):
        if i % 2 == 0:
            choices.append([part])
            continue
        options: list[str] = []
        for option in part.split("|"):
            if option.startswith("@"):
                if sets is None or option[1:] not in sets:
                    raise ValueError(f"unknown set {option!r} in term {term!r}")
                options.extend(sets[option[1:]])
            else:
                options.append(option)
        choices.append(options)
    return [" ".join("".join(combo).split()) for combo in product(*choices)]


def _data_root() -> Traversable:
    return resources.files("moderation").joinpath("data")


def _read_toml(node: Traversable) -> dict[str, Any]:
    with node.open("rb") as fh:
        return tomllib.load(fh)


def _language_dirs(root: Traversable) -> Iterator[Traversable]:
    for node in sorted(root.iterdir(), key=lambda n: n.name):
        if node.is_dir() and not node.name.startswith(("_", ".")):
            yield node


def _parse_kinds(table: Mapping[str, Any]) -> dict[str, KindSpec]:
    kinds: dict[str, KindSpec] = {}
    for name, spec in table.items():
        tense = spec.get("tense", "present")
        if tense not in TENSES:
            raise ValueError(f"kind {name}: tense must be one of {sorted(TENSES)}")
        suppressed = frozenset(spec.get("suppressed_by", DEFAULT_SUPPRESSED_BY))
        if not suppressed <= SUPPRESSORS:
            raise ValueError(f"kind {name}: unknown suppressors {sorted(suppressed - SUPPRESSORS)}")
        kinds[name] = KindSpec(name, tense, suppressed)
    return kinds


def _parse_rules(blocks: list[Mapping[str, Any]]) -> tuple[Rule, ...]:
    rules: list[Rule] = []
    seen: set[str] = set()
    for block in blocks:
        rule = Rule(
            id=block["id"],
            all=tuple(block.get("all", ())),
            any=tuple(block.get("any", ())),
            unless=tuple(block.get("unless", ())),
            scope=block.get("scope", "sentence"),
            category=block.get("category"),
            severity=int(block.get("severity", 1)),
            escalate=tuple(block.get("escalate", ())),
            yields=block.get("yields"),
        )
        if rule.id in seen:
            raise ValueError(f"duplicate rule id {rule.id}")
        seen.add(rule.id)
        if rule.scope not in SCOPES:
            raise ValueError(f"rule {rule.id}: scope must be one of {SCOPES}")
        if (rule.category is None) == (rule.yields is None):
            raise ValueError(f"rule {rule.id}: give exactly one of category or yields")
        if not rule.all and not rule.any:
            raise ValueError(f"rule {rule.id}: needs kinds in all or any")
        if not 1 <= rule.severity <= 3:
            raise ValueError(f"rule {rule.id}: severity must be 1..3")
        rules.append(rule)
    return tuple(rules)


def compile_terms(normalizer: Normalizer, kind_terms: Mapping[str, list[str]],
                  sets: Mapping[str, list[str]] | None = None) -> dict[str, tuple[str, ...]]:
    """Canonicalise every term (with its brace alternatives) of every kind."""
    out: dict[str, set[str]] = {}
    for kind, terms in kind_terms.items():
        for term in terms:
            for variant in expand_braces(term, sets):
                canonical = canonical_term(normalizer, variant)
                if canonical:
                    out.setdefault(canonical, set()).add(kind)
    return {term: tuple(sorted(kinds)) for term, kinds in out.items()}


def canonical_term(normalizer: Normalizer, term: str) -> str:
    """A lexicon term in canonical form; a trailing ``*`` survives as a prefix marker."""
    prefix = term.rstrip().endswith("*")
    body = term.rstrip().rstrip("*")
    words: list[str] = []
    for chunk in body.split():
        if chunk in PLACEHOLDERS:
            words.append(chunk)
        else:
            words.extend(normalizer.normalize(chunk).words)
    if not words:
        return ""
    return " ".join(words) + ("*" if prefix else "")


@cache
def load_lexicon() -> Lexicon:
    """Read and compile the shipped data files once per process."""
    root = _data_root()
    rules_doc = _read_toml(root.joinpath("rules.toml"))
    emoji = _read_toml(root.joinpath("emoji.toml")).get("emoji", {})
    languages: list[str] = []
    words: dict[str, str] = {}
    digit_words: set[str] = set()
    clause_words: set[str] = set()
    kind_terms: dict[str, list[str]] = {}
    sets: dict[str, list[str]] = {}
    for lang_dir in _language_dirs(root):
        languages.append(lang_dir.name)
        for node in sorted(lang_dir.iterdir(), key=lambda n: n.name):
            if not node.name.endswith(".toml"):
                continue
            doc = _read_toml(node)
            if node.name == "sets.toml":
                for name, entries in doc.items():
                    sets.setdefault(name, []).extend(entries)
                continue
            if node.name == "normalize.toml":
                words.update({k.lower(): v.lower() for k, v in doc.get("words", {}).items()})
                digit_words.update(w.lower() for w in doc.get("digit_words", []))
                clause_words.update(w.lower() for w in doc.get("clause_words", []))
                continue
            for kind, terms in doc.items():
                if not isinstance(terms, list):
                    raise ValueError(f"{lang_dir.name}/{node.name}: {kind} must be a list of terms")
                kind_terms.setdefault(kind, []).extend(terms)
    base = Normalizer(words, emoji, digit_words=digit_words, clause_words=clause_words)
    terms = compile_terms(base, kind_terms, sets)
    vocabulary = {w for term in terms for w in term.rstrip("*").split()}
    normalizer = base.with_vocabulary(vocabulary)
    kinds = _parse_kinds(rules_doc.get("kinds", {}))
    rules = _parse_rules(rules_doc.get("rule", []))
    known = set(kind_terms) | MODIFIER_KINDS | {r.yields for r in rules if r.yields} | _DETECTOR_KINDS
    for rule in rules:
        missing = (set(rule.all) | set(rule.any) | set(rule.unless) | set(rule.escalate)) - known
        if missing:
            raise ValueError(f"rule {rule.id}: unknown kinds {sorted(missing)}")
    allow = _read_toml(root.joinpath("allow.toml"))
    numbers = frozenset("".join(c for c in n if c.isdigit()) for n in allow.get("numbers", []))
    domains = tuple(d.lower() for d in allow.get("domains", []))
    return Lexicon(tuple(languages), normalizer, kinds, rules, terms, numbers, domains)


# Kinds produced by the boundary detectors (code, not word lists).
_DETECTOR_KINDS = frozenset({"phone", "email", "url", "social_url", "short_url", "handle", "address"})
