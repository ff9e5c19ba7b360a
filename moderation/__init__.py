"""peerchat moderation: flag crisis and boundary messages, fast and without crying wolf.

A pure decision engine: no I/O beyond reading its own data files once, no logging of
text, no import from ``server``.  The server calls::

    from moderation import classify, Verdict, Policy, Label

    verdict = classify(text, policy=room_policy, context=previous_messages)
    if verdict.label is Label.CRISIS: ...
    if verdict.hold(room_policy): ...

See docs/moderation.md for how it decides and how to edit its word lists.
"""

from __future__ import annotations

from collections.abc import Sequence

from moderation.policy import Policy
from moderation.rules.engine import default_engine
from moderation.verdict import Label, Verdict

__all__ = ["Label", "Policy", "Verdict", "classify"]


def classify(text: str, policy: Policy | None = None, context: Sequence[str] = ()) -> Verdict:
    """Decide whether ``text`` signals a crisis, breaks a boundary, or neither.

    ``policy`` is the room's policy (default: the deployment defaults); ``context`` is the
    same member's previous few messages in the room, oldest first, so that a plan spread
    over several messages is recognised while a single ambiguous line is not raised.
    """
    return default_engine().classify(text, policy, context)
