"""Per-room and per-deployment moderation policy.

A policy is plain data (it comes from a TOML table in the server's room config) frozen
into a hashable object, so the engine can cache what it compiles from it: rooms reuse the
same policy for every message, and compiling its extra terms once is what keeps the hot
path fast.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from moderation.verdict import BOUNDARY_CATEGORIES, CRISIS_CATEGORIES

__all__ = ["DEFAULT_HOLD", "DEFAULT_POLICY", "Policy"]

DEFAULT_HOLD = frozenset({"contact", "sourcing"})
_KNOWN_KEYS = frozenset({"extra_terms", "allow", "hold", "hold_crisis"})


@dataclass(frozen=True, slots=True)
class Policy:
    """What a room or deployment adds to the built-in lexicons.

    ``extra_terms``: ``(category, terms)`` pairs; a term raises its category on its own
    (subject to the same negation/past/quote context as built-in terms).
    ``allow``: terms that are fine here (a room's own hotline number, a local meeting
    place, a recovery website): any signal overlapping them is dropped.
    ``hold``: the boundary kinds held for review before delivery.
    ``hold_crisis``: also hold crisis messages that match ``hold`` (off by default).
    """

    extra_terms: tuple[tuple[str, tuple[str, ...]], ...] = ()
    allow: tuple[str, ...] = ()
    hold: frozenset[str] = field(default=DEFAULT_HOLD)
    hold_crisis: bool = False
    _hash: int = field(init=False, repr=False, compare=False, default=0)

    def __hash__(self) -> int:
        # Computed once: the engine's caches hash the policy with every message.
        return self._hash

    def __post_init__(self) -> None:
        object.__setattr__(self, "_hash", hash((self.extra_terms, self.allow, self.hold, self.hold_crisis)))
        known = CRISIS_CATEGORIES | BOUNDARY_CATEGORIES
        for category, _terms in self.extra_terms:
            if category not in known:
                raise ValueError(f"unknown category {category!r} in extra_terms")
        unknown_hold = set(self.hold) - known
        if unknown_hold:
            raise ValueError(f"unknown categories in hold: {sorted(unknown_hold)}")

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Policy:
        """Build a policy from a plain mapping, e.g. a room's ``[moderation]`` TOML table.

        ``{"extra_terms": {"sourcing": ["blues"]}, "allow": ["aa.org"],
        "hold": ["contact", "sourcing", "solicitation"], "hold_crisis": false}``;
        every key is optional, unknown keys are an error (a typo must not silently
        weaken moderation).
        """
        unknown = set(data) - _KNOWN_KEYS
        if unknown:
            raise ValueError(f"unknown policy keys: {sorted(unknown)}")
        extra = data.get("extra_terms", {})
        if not isinstance(extra, Mapping):
            raise ValueError("extra_terms must be a table of category = [terms]")
        extra_terms = tuple(sorted((str(cat), _strings(terms, f"extra_terms.{cat}"))
                                   for cat, terms in extra.items()))
        hold = frozenset(_strings(data["hold"], "hold")) if "hold" in data else DEFAULT_HOLD
        return cls(
            extra_terms=extra_terms,
            allow=_strings(data.get("allow", ()), "allow"),
            hold=hold,
            hold_crisis=bool(data.get("hold_crisis", False)),
        )


def _strings(value: Iterable[Any] | str, where: str) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise ValueError(f"{where} must be a list of strings")
    items = tuple(value)
    if not all(isinstance(v, str) for v in items):
        raise ValueError(f"{where} must be a list of strings")
    return items


DEFAULT_POLICY = Policy()
