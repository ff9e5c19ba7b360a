"""One Aho-Corasick automaton for every term of every kind and language.

Scanning a message is a single pass of ``pyahocorasick`` over its canonical text, however
many hundreds of terms the lexicons hold; a loop over regular expressions would grow with
every term an editor adds.  Terms are stored with a space on each side (``" kill myself "``)
so they only match whole words; a term ending in ``*`` keeps only the leading space and so
matches any word beginning with it.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import ahocorasick

__all__ = ["Match", "TermMatcher"]


@dataclass(frozen=True, slots=True)
class Match:
    """Words ``first..last`` (inclusive) of a message matched a term of ``kinds``."""

    kinds: tuple[str, ...]
    first: int
    last: int


class TermMatcher:
    """Compiled from ``{canonical term: kinds}``; finds every term in a canonical text."""

    def __init__(self, terms: Mapping[str, tuple[str, ...]]) -> None:
        automaton = ahocorasick.Automaton()
        merged: dict[str, set[str]] = {}
        for term, term_kinds in terms.items():
            key = " " + term[:-1] if term.endswith("*") else " " + term + " "
            merged.setdefault(key, set()).update(term_kinds)
        for key, kinds in merged.items():
            automaton.add_word(key, (len(key), tuple(sorted(kinds)), len(key.split())))
        self.size = len(merged)
        if merged:
            automaton.make_automaton()
            self._automaton: ahocorasick.Automaton | None = automaton
        else:
            self._automaton = None

    def find(self, text: str, starts: tuple[int, ...]) -> Iterator[Match]:
        """Matches in ``text`` (canonical, ``" w0 w1 "``), with ``starts`` its word offsets."""
        if self._automaton is None:
            return
        for end, (length, kinds, nwords) in self._automaton.iter(text):
            first = bisect_left(starts, end - length + 2)
            yield Match(kinds, first, first + nwords - 1)
