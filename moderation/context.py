"""The context inside a message that changes what a signal means.

Members in recovery talk about death, drugs and despair all the time; what separates
"I want to die" from "I used to want to die; 2 years clean now", "I'm not suicidal, just
exhausted", "that meeting killed me" or a lyric in quotes is the words *around* the
signal.  This module decides, for one signal hit, which of those contexts apply:

``negation``  a negator ("not", "never", "no longer") within three words before the signal,
              in the same clause, and not part of the signal itself ("won't wake up");
``past``      a past marker ("used to", "years ago", "in 2019") in the same sentence,
              unless the signal's own clause is brought back to now ("now", "again");
``recent``    for past-tense signals ("I took", "he hit me"), a recent marker ("last
              night", "an hour ago") is required for them to count at all;
``idiom``     an idiom or allowed term overlapping the signal ("killing me", "dying to");
``quote``     the signal is between quotation marks, or the sentence says it quotes a
              song, a book or a speaker;
``generic``   the sentence talks about people in general ("if you ever", "people who");
``joke``      the message laughs ("lol", 😂): only some kinds care;
``habitual``  "a day", "every day": a habit described, not an event.

The functions here are pure: they read word positions, never text.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from moderation.normalize import Normalized

__all__ = ["NEGATION_WINDOW", "Modifiers", "contexts_of"]

NEGATION_WINDOW = 3


@dataclass(frozen=True, slots=True)
class Modifiers:
    """Positions of the context words found in one message, grouped by kind."""

    spans: Mapping[str, Sequence[tuple[int, int]]]

    def of(self, kind: str) -> Sequence[tuple[int, int]]:
        return self.spans.get(kind, ())


def contexts_of(first: int, last: int, tense: str, norm: Normalized, mods: Modifiers) -> frozenset[str]:
    """Names of the contexts that apply to the signal on words ``first..last``.

    ``"not_recent"`` is included when a past-tense signal has no recent marker.
    """
    sentence = norm.sentence[first]
    clause = norm.clause[first]
    found: set[str] = set()

    for a, b in mods.of("idiom"):
        # An idiom cancels a signal it overlaps, unless it lies strictly inside a longer
        # signal: "kill me" is an idiom, "he threatened to kill me" is not.
        if a <= last and first <= b and not (first <= a and b <= last and (a, b) != (first, last)):
            found.add("idiom")
            break

    if any(norm.quoted[first:last + 1]) or _in_sentence(mods.of("quote_cue"), sentence, norm):
        found.add("quote")

    for a, b in mods.of("negation"):
        if first - NEGATION_WINDOW <= b < first and norm.clause[b] == clause and a < first:
            found.add("negation")
            break

    now_in_clause = any(norm.clause[a] == clause for a, _ in mods.of("present"))
    if not now_in_clause and _in_sentence(mods.of("past"), sentence, norm, inside=(first, last)):
        found.add("past")
    if tense == "past" and not now_in_clause and not _in_sentence(mods.of("recent"), sentence, norm):
        found.add("not_recent")

    if _in_sentence(mods.of("generic"), sentence, norm):
        found.add("generic")
    if _in_sentence(mods.of("habitual"), sentence, norm):
        found.add("habitual")
    if mods.of("joke"):
        found.add("joke")
    return frozenset(found)


def _in_sentence(spans: Sequence[tuple[int, int]], sentence: int, norm: Normalized,
                 inside: tuple[int, int] | None = None) -> bool:
    """Whether a marker lies in ``sentence`` (ignoring one wholly ``inside`` the signal)."""
    for a, b in spans:
        if norm.sentence[a] != sentence:
            continue
        if inside is not None and inside[0] <= a and b <= inside[1]:
            continue
        return True
    return False
