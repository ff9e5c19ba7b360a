"""The context inside a message that changes what a signal means.

Members in recovery talk about death, drugs and despair all the time; what separates
"I want to die" from "I used to want to die; 2 years clean now", "I'm not suicidal, just
exhausted", "that meeting killed me" or a lyric in quotes is the words *around* the
signal.  This module decides, for one signal hit, which of those contexts apply:

``negation``  a negator ("not", "never", "no longer") within three words before the signal,
              in the same clause, and not part of the signal itself ("won't wake up");
``past``      a past marker ("used to", "years ago", "in 2019") in the same sentence,
              unless the signal's own clause is brought back to now ("now", "again"),
              or a later clause of the sentence says it still holds ("I used to want to
              die and I still do": a ``revive`` marker after the signal);
``recent``    for past-tense signals ("I took", "he hit me"), a recent marker ("last
              night", "an hour ago") is required for them to count at all;
``idiom``     an idiom or allowed term overlapping the signal ("killing me", "dying to");
``quote``     the signal is between quotation marks, or the sentence says it quotes a
              song, a book or a speaker;
``generic``   the sentence talks about people in general ("if you ever", "people who");
``joke``      the message laughs ("lol", 😂): only some kinds care;
``habitual``  "a day", "every day": a habit described, not an event.

Everything here is pure: it reads word positions, never text.  The context words of a
message are resolved once into the sentences and clauses they govern
(:class:`MessageContext`), so weighing each signal is a few set look-ups.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence

from moderation.normalize import Normalized

__all__ = ["NEGATION_WINDOW", "MessageContext", "suppression_order"]

NEGATION_WINDOW = 3

_Span = tuple[int, int]


class MessageContext:
    """The context words found in one message, resolved against its sentences and clauses.

    ``spans`` maps a context kind (``negation``, ``past``, ``idiom``...) to the word
    ranges ``(first, last)`` where its terms occur.  Built once per analysed message.
    """

    __slots__ = (
        "_active",
        "_clause",
        "_generic",
        "_habitual",
        "_joke",
        "_negations",
        "_past",
        "_present",
        "_quote_cue",
        "_quoted",
        "_recent",
        "_revive",
        "_sentence",
        "idioms",
    )

    def __init__(self, norm: Normalized, spans: Mapping[str, Sequence[_Span]]) -> None:
        sentence = self._sentence = norm.sentence
        clause = self._clause = norm.clause
        none: Sequence[_Span] = ()
        self.idioms: Sequence[_Span] = spans.get("idiom", none)
        self._negations = [(a, b, clause[b]) for a, b in spans.get("negation", none)]
        self._past = [(a, b, sentence[a]) for a, b in spans.get("past", none)]
        self._present = {clause[a] for a, _ in spans.get("present", none)}
        # A revive marker counts only at the end of its clause ("and I still do", not
        # "but I still do my meetings"), give or take trailing context words ("... lol").
        revive = spans.get("revive", none)
        trailing = {i for kind in ("present", "joke", "habitual") for a, b in spans.get(kind, none)
                    for i in range(a, b + 1)} if revive else set()
        self._revive = [(a, sentence[a]) for a, b in revive if _ends_clause(b, clause, trailing)]
        self._recent = {sentence[a] for a, _ in spans.get("recent", none)}
        self._quote_cue = {sentence[a] for a, _ in spans.get("quote_cue", none)}
        self._generic = {sentence[a] for a, _ in spans.get("generic", none)}
        self._habitual = {sentence[a] for a, _ in spans.get("habitual", none)}
        self._joke = bool(spans.get("joke"))
        quoted = norm.quoted
        self._quoted = quoted if True in quoted else None
        # The contexts that can apply at all in this message: the others are not tested.
        self._active = frozenset(name for name, present in (
            ("joke", self._joke), ("generic", self._generic), ("habitual", self._habitual),
            ("negation", self._negations), ("idiom", self.idioms),
            ("quote", self._quoted is not None or self._quote_cue), ("past", self._past)) if present)

    def contexts(self, first: int, last: int, tense: str) -> frozenset[str]:
        """Names of the contexts that apply to the signal on words ``first..last``.

        ``"not_recent"`` is included when a past-tense signal has no recent marker.
        """
        found = {name for name in _CONTEXTS if self._applies(name, first, last)}
        if tense == "past" and self._not_recent(first):
            found.add("not_recent")
        return frozenset(found)

    def cancels(self, first: int, last: int, tense: str, suppressors: Sequence[str]) -> bool:
        """Whether the signal on ``first..last`` does not count: one of :meth:`contexts`
        is among ``suppressors`` (best in :func:`suppression_order`, cheapest first: the
        first that applies settles it), or it is past-tense with no recent marker.
        """
        if tense == "past" and self._not_recent(first):
            return True
        for name in suppressors:
            if self._applies(name, first, last):
                return True
        return False

    # -- the individual contexts ------------------------------------------------------------

    def _applies(self, name: str, first: int, last: int) -> bool:
        return name in self._active and _TESTS[name](self, first, last)

    def _is_joke(self, first: int, last: int) -> bool:
        return self._joke

    def _is_generic(self, first: int, last: int) -> bool:
        return self._sentence[first] in self._generic

    def _is_habitual(self, first: int, last: int) -> bool:
        return self._sentence[first] in self._habitual

    def _is_idiom(self, first: int, last: int) -> bool:
        # An idiom cancels a signal it overlaps, unless it lies strictly inside a longer
        # signal: "kill me" is an idiom, "he threatened to kill me" is not.
        return any(a <= last and first <= b and not (first <= a and b <= last and (a, b) != (first, last))
                   for a, b in self.idioms)

    def _is_quote(self, first: int, last: int) -> bool:
        return (self._quoted is not None and True in self._quoted[first:last + 1]) \
            or self._sentence[first] in self._quote_cue

    def _is_negation(self, first: int, last: int) -> bool:
        clause = self._clause[first]
        return any(first - NEGATION_WINDOW <= b < first and c == clause and a < first
                   for a, b, c in self._negations)

    def _is_past(self, first: int, last: int) -> bool:
        """A past marker in the sentence (not one inside the signal itself), unless the
        signal's clause says "now"/"again" or a later part of the sentence says it still
        holds ("... and I still do")."""
        if not self._past or self._clause[first] in self._present:
            return False
        sentence = self._sentence[first]
        if not any(s == sentence and not (first <= a and b <= last) for a, b, s in self._past):
            return False
        return not any(s == sentence and a > last for a, s in self._revive)

    def _not_recent(self, first: int) -> bool:
        return self._clause[first] not in self._present and self._sentence[first] not in self._recent


def _ends_clause(last: int, clause: Sequence[int], trailing: Collection[int]) -> bool:
    """Whether only words in ``trailing`` follow word ``last`` in its clause."""
    i = last + 1
    while i < len(clause) and clause[i] == clause[last]:
        if i not in trailing:
            return False
        i += 1
    return True


# Every context, cheapest test first, and its test.
_TESTS: dict[str, Callable[[MessageContext, int, int], bool]] = {
    "joke": MessageContext._is_joke,
    "generic": MessageContext._is_generic,
    "habitual": MessageContext._is_habitual,
    "negation": MessageContext._is_negation,
    "idiom": MessageContext._is_idiom,
    "quote": MessageContext._is_quote,
    "past": MessageContext._is_past,
}
_CONTEXTS = tuple(_TESTS)


def suppression_order(suppressed_by: Collection[str]) -> tuple[str, ...]:
    """The contexts of ``suppressed_by``, cheapest test first, for :meth:`MessageContext.cancels`."""
    return tuple(name for name in _CONTEXTS if name in suppressed_by)
