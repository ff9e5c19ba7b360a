"""The decision object: what was found in one message, and why.

Like Zulip's small pure decision objects, a ``Verdict`` carries its reasons (rule ids,
categories and the spans of the original text that triggered them) so that a moderator
tool can show *why* a message was flagged without the engine ever logging the text.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from moderation.policy import Policy

__all__ = ["BOUNDARY_CATEGORIES", "CRISIS_CATEGORIES", "Label", "Verdict"]

CRISIS_CATEGORIES = frozenset({"suicide", "self_harm", "overdose", "danger_to_others", "abuse"})
BOUNDARY_CATEGORIES = frozenset({"contact", "sourcing", "solicitation", "harassment", "spam"})


class Label(StrEnum):
    """The coarse outcome; crisis outranks boundary, which outranks none."""

    NONE = "none"
    BOUNDARY = "boundary"
    CRISIS = "crisis"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, slots=True)
class Verdict:
    """What the engine decided about one message.

    ``severity`` is 0 for ``none``; otherwise 1 to 3, where 3 means intent with a plan,
    means or time, or an emergency happening now.  ``spans`` are ``(start, end)`` offsets
    into the original text, merged and sorted.
    """

    label: Label
    categories: tuple[str, ...] = ()
    rules: tuple[str, ...] = ()
    severity: int = 0
    spans: tuple[tuple[int, int], ...] = ()

    @property
    def flagged(self) -> bool:
        return self.label is not Label.NONE

    @property
    def held(self) -> bool:
        """Whether the default policy holds this message for review."""
        return self.hold(None)

    def hold(self, policy: Policy | None = None) -> bool:
        """Whether ``policy`` holds this message for review before delivery.

        Boundary kinds listed in ``policy.hold`` are held.  A crisis message is never held
        unless the policy sets ``hold_crisis``: a person in crisis must be heard, and the
        crisis alert reaches moderators whether or not the message is delivered.
        """
        from moderation.policy import DEFAULT_POLICY

        policy = policy or DEFAULT_POLICY
        if self.label is Label.NONE:
            return False
        if self.label is Label.CRISIS and not policy.hold_crisis:
            return False
        return any(c in policy.hold for c in self.categories)

    def excerpts(self, text: str) -> tuple[str, ...]:
        """The pieces of ``text`` (the message this verdict is about) that triggered it."""
        return tuple(text[a:b] for a, b in self.spans)


NONE_VERDICT = Verdict(Label.NONE)
