"""One Aho-Corasick automaton for every term of every kind and language.

Scanning a message is a single pass of ``pyahocorasick`` over its canonical text, however
many hundreds of terms the lexicons hold; a loop over regular expressions would grow with
every term an editor adds.  Terms are stored with a space on each side (``" kill myself "``)
so they only match whole words; a term ending in ``*`` keeps only the leading space and so
matches any word beginning with it.

Most chat lines hold no signal at all, only context words ("not", "today", "lol") or
nothing, so a second automaton holds just the terms that carry a signal kind:
:meth:`TermMatcher.signal_kinds` answers "which kinds could a rule see here?" in one C-level
pass, without building a single match object.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from operator import itemgetter

import ahocorasick

__all__ = ["Match", "TermMatcher"]

_second = itemgetter(1)


@dataclass(frozen=True, slots=True)
class Match:
    """Words ``first..last`` (inclusive) of a message matched a term of ``kinds``."""

    kinds: tuple[str, ...]
    first: int
    last: int


class TermMatcher:
    """Compiled from ``{canonical term: kinds}``; finds every term in a canonical text."""

    def __init__(self, terms: Mapping[str, tuple[str, ...]], context_kinds: Collection[str] = ()) -> None:
        """``context_kinds`` are the kinds that only modify signals (negation, past...)."""
        automaton = ahocorasick.Automaton()
        signals = ahocorasick.Automaton()
        merged: dict[str, set[str]] = {}
        for term, term_kinds in terms.items():
            key = " " + term[:-1] if term.endswith("*") else " " + term + " "
            merged.setdefault(key, set()).update(term_kinds)
        for key, kinds in merged.items():
            automaton.add_word(key, (len(key), tuple(sorted(kinds)), len(key.split())))
            signal_kinds = frozenset(kinds.difference(context_kinds))
            if signal_kinds:
                signals.add_word(key, signal_kinds)
        self.size = len(merged)
        self._automaton = _built(automaton)
        self._signals = _built(signals)

    def signal_kinds(self, text: str) -> set[str]:
        """The signal kinds (not context kinds) of the terms in canonical ``text``.

        ``iter`` yields ``(end, kinds)``; gathering the kinds with ``map`` and one
        ``set.union`` keeps the whole pass in C.
        """
        if self._signals is None:
            return set()
        return set().union(*map(_second, self._signals.iter(text)))

    def spans(self, text: str, starts: tuple[int, ...]) -> list[tuple[tuple[str, ...], int, int]]:
        """``(kinds, first, last)`` of every match: :meth:`find` without the objects."""
        if self._automaton is None:
            return []
        out = []
        for end, (length, kinds, nwords) in self._automaton.iter(text):
            first = bisect_left(starts, end - length + 2)
            out.append((kinds, first, first + nwords - 1))
        return out

    def find(self, text: str, starts: tuple[int, ...]) -> Iterator[Match]:
        """Matches in ``text`` (canonical, ``" w0 w1 "``), with ``starts`` its word offsets."""
        if self._automaton is None:
            return
        for end, (length, kinds, nwords) in self._automaton.iter(text):
            first = bisect_left(starts, end - length + 2)
            yield Match(kinds, first, first + nwords - 1)


def _built(automaton: ahocorasick.Automaton) -> ahocorasick.Automaton | None:
    if len(automaton) == 0:
        return None
    automaton.make_automaton()
    return automaton
