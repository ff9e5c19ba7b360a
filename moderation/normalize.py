"""Turn what people type into the canonical words the lexicons are written in.

People in distress, and people trying to slip past a filter, write ``k1ll mys3lf``,
``k i l l``, ``ｓｕｉｃｉｄｅ`` with Cyrillic look-alikes, zero-width joiners, ``sooo`` and
``kms``.  Matching every spelling with its own pattern would be slow and never complete,
so instead every message (and every lexicon term, through the very same code) is brought
to one canonical form:

1. characters: NFKC, case folding, accents stripped, confusable look-alikes mapped to
   Latin with ``confusable_homoglyphs``, zero-width and other format characters dropped,
   emoji replaced by a word (``💊`` -> ``pill``);
2. tokens: words are cut out with their offsets, spaced-out letters are glued back
   (``k i l l`` -> ``kill``), leetspeak is undone only inside words that mix letters and
   digits (``k1ll`` -> ``kill`` but ``800mg`` -> ``## mg``), elongations are squeezed to
   a known word (``kiiiilll`` -> ``kill``), shorthands and euphemisms are expanded
   (``kms`` -> ``kill myself``, ``u`` -> ``you``), plurals are folded onto the singular,
   numbers become placeholders (``#`` below ten, ``##`` ten and more, ``#year`` for
   1900-2099), and "like" before a number is dropped ("took like 50");
3. structure: every word keeps its span in the original text and the sentence and
   clause it belongs to, and whether it sits inside quotation marks, so the rules can
   reason about negation, tense and quotes without looking at the raw text again.

The canonical text is the words joined by single spaces with a space at each end, so a
lexicon term ``" kill myself "`` matches whole words only, in one automaton pass.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from collections.abc import Callable, Iterable, Mapping
from functools import lru_cache
from itertools import accumulate, product

from confusable_homoglyphs import confusables

__all__ = ["NUMBER", "NUMBER_BIG", "NUMBER_YEAR", "Normalized", "Normalizer", "clean_characters"]

NUMBER = "#"
NUMBER_BIG = "##"
NUMBER_YEAR = "#year"
PLACEHOLDERS = frozenset({NUMBER, NUMBER_BIG, NUMBER_YEAR})

# A word: letters/digits plus the symbols leetspeak uses, with inner apostrophes and inner
# leet symbols ("don't", "k!ll", "h@ng") kept in the same word.
_WORD_PATTERN = r"[\w@$]+(?:['!|][\w@$]+)*"
_WORDS = re.compile(_WORD_PATTERN)
# The same words cut from plain ASCII text without the regular expression (see
# ``_ascii_words``): a joiner (' ! |) between two word characters stays, any other
# becomes a space, and every character that is neither is a space.
_WORD_BYTES = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_@$")
_JOINER_BYTES = frozenset(b"'!|")
_NOT_WORD_OR_JOINER = bytes(c for c in range(256) if c not in _WORD_BYTES and c not in _JOINER_BYTES)
_TO_SPACE = bytes.maketrans(_NOT_WORD_OR_JOINER, b" " * len(_NOT_WORD_OR_JOINER))
_LOOSE_JOINER = re.compile(rb"(?<![\w@$])['!|]|['!|](?![\w@$])")
_SCAN = re.compile(
    rf"(?P<w>{_WORD_PATTERN})"
    r"|(?P<s>[.!?]+(?=\s|$|[\"”»'])|[!?]+|;|\n+|…)"
    r"|(?P<c>[,:()\[\]–—]|\s-\s)"
)
_QUOTED = re.compile(r"[\"“«„]([^\"”»“]{2,}?)[\"”»“]|(?<!\w)'([^'\n]{4,}?)'(?!\w)")
# Three single characters in a row ("k i l l", "k.i.l.l"): worth trying to glue.
_SPACED = re.compile(r"(?<!\w)\w(?:[\W_]{1,3}\w(?!\w)){2}")
_ASCII_RUNS = re.compile(r"[\x00-\x7f]+|[^\x00-\x7f]")
_ELONGATED = re.compile(r"([a-z])\1{2,}")
_LEET_INSIDE = re.compile(r"[a-z][0-9@$!|]+[a-z]|^\$[a-z]")
_NUMBER_UNIT = re.compile(r"^(\d+)([a-z]+)$")
_MONEY = re.compile(r"^\$\d+$")
_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s",
                       "!": "i", "|": "l"})
_DROP_CATEGORIES = frozenset({"Cf", "Mn", "Me", "Sk", "Cc"})
_KEEP_PUNCT = {"’": "'", "‘": "'", "`": "'", "´": "'", "“": "“", "”": "”", "«": "«", "»": "»", "„": "„",
               "…": "…", "–": "–", "—": "—"}
_TOKEN_CACHE_LIMIT = 50_000
# Hedges dropped before a number: "took like 50" reads as "took 50".
_FILLERS = frozenset({"like", "about", "around", "roughly", "maybe", "almost", "over", "como", "unas",
                      "unos"})
# The same rule applied to a canonical text at once: a filler word right before a number.
_FILLER_BEFORE_NUMBER = re.compile(
    rf"(?<![^ ])(?:{'|'.join(sorted(_FILLERS))}) "
    rf"(?=(?:{'|'.join(sorted(PLACEHOLDERS, key=len, reverse=True))})(?: |$))")


def clean_characters(text: str, emoji: Mapping[str, str]) -> tuple[str, list[int] | None]:
    """Fold case and map every character to plain Latin, keeping where each came from.

    Returns the cleaned string and, for each of its characters, the index of the original
    character it came from; ``None`` stands for the identity map (plain ASCII input, the
    common case, which stays on C-speed ``str.lower``).
    """
    if text.isascii():
        return text.lower(), None
    pieces: list[str] = []
    offsets: list[int] = []
    for m in _ASCII_RUNS.finditer(text):
        chunk = m.group()
        start = m.start()
        if chunk.isascii():
            pieces.append(chunk.lower())
            offsets.extend(range(start, m.end()))
        else:
            rep = _map_char(chunk, emoji.get(chunk))
            if rep:
                pieces.append(rep)
                offsets.extend([start] * len(rep))
    return "".join(pieces), offsets


class _CharTable(dict[int, str]):
    """A ``str.translate`` table that learns: non-ASCII characters are mapped on first sight.

    Translating with it gives exactly the string :func:`clean_characters` builds, without
    the per-run Python loop and the offsets list, which only matter once a message turns
    out to hold a signal.  Bounded like the token cache, since it fills with whatever
    characters members type.
    """

    __slots__ = ("_emoji",)

    def __init__(self, emoji: Mapping[str, str]) -> None:
        super().__init__({ord(c): c.lower() for c in map(chr, range(128))})
        self._emoji = emoji

    def __missing__(self, code: int) -> str:
        ch = chr(code)
        value = _map_char(ch, self._emoji.get(ch))
        if len(self) >= _TOKEN_CACHE_LIMIT:
            self.clear()
            self.update({ord(c): c.lower() for c in map(chr, range(128))})
        self[code] = value
        return value


@lru_cache(maxsize=8192)
def _map_char(ch: str, emoji_word: str | None) -> str:
    if emoji_word is not None:
        return f" {emoji_word} "
    if ch in _KEEP_PUNCT:
        return _KEEP_PUNCT[ch]
    category = unicodedata.category(ch)
    if category in _DROP_CATEGORIES:
        return ""
    if category == "So" or category.startswith("Z"):
        return " "
    out: list[str] = []
    folded = unicodedata.normalize("NFKC", ch).casefold()
    for c in unicodedata.normalize("NFKD", folded):
        if unicodedata.combining(c):
            continue
        if c.isascii():
            out.append(c.lower())
            continue
        out.append(_latin_lookalike(c))
    return "".join(out)


def _latin_lookalike(c: str) -> str:
    """The ASCII letter or digit ``c`` is confusable with, or ``c`` itself."""
    if not c.isalnum():
        return c
    found = confusables.is_confusable(c, greedy=True, preferred_aliases=["latin"])
    if found:
        for glyph in found[0]["homoglyphs"]:
            g = glyph["c"]
            if g.isascii() and g.isalnum():
                return str(g).lower()
    return c


class Normalized:
    """A message in canonical form, with everything needed to map matches back.

    ``text`` is ``" w0 w1 ... "``; ``starts[i]`` is where word ``i`` starts in ``text``;
    ``spans[i]`` is the ``(start, end)`` of the original characters word ``i`` came from;
    ``sentence[i]``/``clause[i]`` number the sentence and clause of word ``i``;
    ``quoted[i]`` says whether it sits between quotation marks.  ``clean`` is the
    character-cleaned text that the boundary detectors scan, ``offsets`` maps it back
    (``None`` = identity).

    Only ``words`` and ``text`` are built for every message; the per-word positions are
    computed on first use, since most chat lines never need them.
    """

    __slots__ = ("_clause", "_clause_words", "_quoted", "_quoted_ranges", "_sentence", "_spans", "_starts",
                 "_tokens", "_word_token", "clean", "offsets", "original", "text", "words")

    def __init__(self, original: str, words: tuple[str, ...], word_token: list[int],
                 tokens: list[_Token] | None, clean: str, offsets: list[int] | None,
                 clause_words: frozenset[str]) -> None:
        self.original = original
        self.words = words
        self.text = " " + " ".join(words) + " " if words else " "
        self.clean = clean
        self.offsets = offsets
        self._word_token = word_token
        self._tokens = tokens  # positions of the words, scanned on first use when None
        self._clause_words = clause_words
        self._starts: tuple[int, ...] | None = None
        self._spans: tuple[tuple[int, int], ...] | None = None
        self._sentence: tuple[int, ...] | None = None
        self._clause: tuple[int, ...] | None = None
        self._quoted: tuple[bool, ...] | None = None

    @property
    def starts(self) -> tuple[int, ...]:
        if self._starts is None:
            lengths = (len(w) + 1 for w in self.words[:-1])
            self._starts = tuple(accumulate(lengths, initial=1)) if self.words else ()
        return self._starts

    @property
    def tokens(self) -> list[_Token]:
        if self._tokens is None:
            self._tokens = _scan(self.clean)
        return self._tokens

    @property
    def spans(self) -> tuple[tuple[int, int], ...]:
        if self._spans is None:
            tokens, offsets = self.tokens, self.offsets
            if offsets is None:
                self._spans = tuple((tokens[t][1], tokens[t][2]) for t in self._word_token)
            else:
                self._spans = tuple((offsets[tokens[t][1]], offsets[tokens[t][2] - 1] + 1)
                                    for t in self._word_token)
        return self._spans

    @property
    def sentence(self) -> tuple[int, ...]:
        if self._sentence is None:
            tokens = self.tokens
            self._sentence = tuple(tokens[t][3] for t in self._word_token)
        return self._sentence

    @property
    def clause(self) -> tuple[int, ...]:
        """Clause ids: punctuation and conjunctions ("but", "and", "pero") open a clause."""
        if self._clause is None:
            out: list[int] = []
            clause_id = 0
            last_token_clause = None
            tokens = self.tokens
            for word, t in zip(self.words, self._word_token, strict=True):
                token_clause = tokens[t][4]
                if last_token_clause is not None and token_clause != last_token_clause:
                    clause_id += 1
                elif word in self._clause_words and out and out[-1] == clause_id:
                    clause_id += 1
                last_token_clause = token_clause
                out.append(clause_id)
            self._clause = tuple(out)
        return self._clause

    @property
    def quoted(self) -> tuple[bool, ...]:
        if self._quoted is None:
            clean = self.clean
            may_quote = "'" in clean or '"' in clean or "“" in clean or "«" in clean or "„" in clean
            ranges = [m.span() for m in _QUOTED.finditer(clean)] if may_quote else []
            tokens = self.tokens
            if ranges:
                self._quoted = tuple(any(a <= tokens[t][1] < b for a, b in ranges) for t in self._word_token)
            else:
                self._quoted = (False,) * len(self.words)
        return self._quoted

    def word_at(self, pos: int) -> int:
        """Index of the word containing character ``pos`` of ``text``."""
        return bisect_right(self.starts, pos) - 1

    def original_span(self, clean_start: int, clean_end: int) -> tuple[int, int]:
        """Map a ``[start, end)`` range of ``clean`` back to the original text."""
        if self.offsets is None:
            return clean_start, clean_end
        return self.offsets[clean_start], self.offsets[clean_end - 1] + 1

    def word_of_clean(self, clean_pos: int) -> int:
        """Index of the word at or nearest before character ``clean_pos`` of ``clean``."""
        tokens = self.tokens
        starts = [tokens[t][1] for t in self._word_token]
        return max(bisect_right(starts, clean_pos) - 1, 0)


# (raw, start, end, sentence, clause) of one token of the cleaned text
_Token = tuple[str, int, int, int, int]


class _TokenTable(dict[str, str]):
    """Raw token -> its canonical words joined by spaces; computed on first sight.

    Used through ``map(table.__getitem__, tokens)`` so that the common case (a token seen
    before) costs one C-level dictionary lookup and no Python frame.
    """

    __slots__ = ("_normalize",)

    def __init__(self, normalize: Callable[[str], tuple[str, ...]]) -> None:
        super().__init__()
        self._normalize = normalize

    def __missing__(self, raw: str) -> str:
        value = " ".join(self._normalize(raw))
        if len(self) >= _TOKEN_CACHE_LIMIT:
            self.clear()
        self[raw] = value
        return value


class Normalizer:
    """Canonicalises text; built once from the lexicon's normalisation tables.

    ``words`` maps a shorthand, euphemism or number word to its canonical words
    (``"kms" -> "kill myself"``, ``"thirty" -> "##"``); ``emoji`` maps an emoji to a word;
    ``vocabulary`` is the set of words the lexicons use, which guides elongation
    squeezing and the re-segmentation of spaced-out letters.
    """

    def __init__(self, words: Mapping[str, str], emoji: Mapping[str, str],
                 vocabulary: Iterable[str] = (), digit_words: Iterable[str] = (),
                 clause_words: Iterable[str] = ()) -> None:
        self._words = {k: tuple(_stem(w) for w in v.split()) for k, v in words.items()}
        self._emoji = dict(emoji)
        self._vocabulary = frozenset(vocabulary) | frozenset(self._words)
        self._digit_words = frozenset(digit_words)
        self._clause_words = frozenset(clause_words)
        self._token_cache: dict[str, tuple[str, ...]] = {}
        self._max_word = max((len(w) for w in self._vocabulary), default=1)
        self._chars = _CharTable(self._emoji)
        self._joined = _TokenTable(self._normalize_token)

    @property
    def digit_words(self) -> frozenset[str]:
        return self._digit_words

    def with_vocabulary(self, vocabulary: Iterable[str]) -> Normalizer:
        """The same normaliser, guided by the words of a compiled lexicon."""
        words = {k: " ".join(v) for k, v in self._words.items()}
        return Normalizer(words, self._emoji, vocabulary, self._digit_words, self._clause_words)

    def canonical(self, text: str) -> str:
        """The canonical words of ``text`` joined by single spaces (used for lexicon terms)."""
        return " ".join(self.normalize(text).words)

    def quick(self, text: str) -> tuple[str, str] | None:
        """``(clean, text)`` of :meth:`normalize`, without word positions; ``None`` if unsure.

        The hot path of the server runs this on every message to see whether the full
        analysis is needed at all, so it stays in C as much as Python allows: one
        ``str.translate`` for the characters, one ``findall`` for the words, one
        dictionary lookup per word through ``map``, one ``join``.  The result is the
        same string :meth:`normalize` builds (tests hold it to that).  Spaced-out letters
        need the token positions, so a message with three single-letter words in a row
        returns ``None`` and takes the full path.
        """
        clean = text.lower() if text.isascii() else text.translate(self._chars)
        raws = _ascii_words(clean) if clean.isascii() else _WORDS.findall(clean)
        if _may_be_spaced(raws, clean):
            return None
        joined = " ".join(filter(None, map(self._joined.__getitem__, raws)))
        if "#" in joined and not _FILLERS.isdisjoint(joined.split(" ")):
            joined = _FILLER_BEFORE_NUMBER.sub("", joined)
        return clean, (" " + joined + " " if joined else " ")

    def normalize(self, text: str, positions: bool = False) -> Normalized:
        """``text`` in canonical form; ``positions``: scan word positions now, not lazily
        (the caller knows it will need spans, sentences or clauses)."""
        clean, offsets = clean_characters(text, self._emoji)
        tokens: list[_Token] | None = None
        if positions:
            tokens = _scan(clean)
            raws = [t[0] for t in tokens]
            if _may_be_spaced(raws, clean):
                tokens = self._merge_spaced_letters(tokens)
                raws = [t[0] for t in tokens]
        else:
            raws = _WORDS.findall(clean)  # positions are scanned later, if ever needed
            if _may_be_spaced(raws, clean):
                tokens = self._merge_spaced_letters(_scan(clean))
                raws = [t[0] for t in tokens]
        words: list[str] = []
        word_token: list[int] = []
        cache = self._token_cache
        for index, raw in enumerate(raws):
            normalized = cache.get(raw)
            if normalized is None:
                normalized = self._normalize_token(raw)
            for word in normalized:
                if word in PLACEHOLDERS and words and words[-1] in _FILLERS:
                    words.pop()
                    word_token.pop()
                words.append(word)
                word_token.append(index)
        return Normalized(text, tuple(words), word_token, tokens, clean, offsets, self._clause_words)

    def _merge_spaced_letters(self, tokens: list[_Token]) -> list[_Token]:
        """Glue ``k i l l m y s e l f`` back together and split it into known words."""
        if len(tokens) < 3:
            return tokens
        out: list[_Token] = []
        i = 0
        n = len(tokens)
        while i < n:
            j = i
            while (j < n and len(tokens[j][0]) == 1
                   and (j == i or tokens[j][1] - tokens[j - 1][2] <= 3)):
                j += 1
            run = tokens[i:j]
            all_words = all(t[0] in self._vocabulary for t in run)
            if len(run) >= 3 and sum(t[0].isalpha() for t in run) >= 2 and not all_words:
                glued = "".join(t[0] for t in run)
                parts = self._segment(glued)
                if parts is not None or not any(t[0] in self._words for t in run):
                    merged = " ".join(parts) if parts else glued
                    first = run[0]
                    # One token carries the whole run; its words are re-split below.
                    out.append((merged, first[1], run[-1][2], first[3], first[4]))
                    i = j
                    continue
            if j == i:
                j = i + 1
            out.extend(tokens[i:j])
            i = j
        return out

    def _segment(self, glued: str) -> list[str] | None:
        """Split a glued string into the fewest known words, or ``None``."""
        text = glued.translate(_LEET)
        n = len(text)
        best: list[list[str] | None] = [None] * (n + 1)
        best[0] = []
        for end in range(1, n + 1):
            for start in range(max(0, end - self._max_word), end):
                prev = best[start]
                if prev is None:
                    continue
                piece = text[start:end]
                if piece in self._vocabulary and (best[end] is None or len(prev) + 1 < len(best[end] or ())):
                    best[end] = [*prev, piece]
        return best[n]

    def _normalize_token(self, raw: str) -> tuple[str, ...]:
        cached = self._token_cache.get(raw)
        if cached is not None:
            return cached
        if " " in raw:
            result = tuple(w for part in raw.split() for w in self._normalize_token(part))
        else:
            result = self._normalize_word(raw)
        if len(self._token_cache) >= _TOKEN_CACHE_LIMIT:
            self._token_cache.clear()
        self._token_cache[raw] = result
        return result

    def _normalize_word(self, raw: str) -> tuple[str, ...]:
        if raw in self._words:
            return self._words[raw]
        if raw.startswith("@"):
            raw = raw.lstrip("@")
            if not raw:
                return ()
        word = raw.replace("'", "")
        if word in self._words:
            return self._words[word]
        if word.isdigit():
            return (_number_placeholder(word),)
        if _MONEY.match(word):
            return ("money", _number_placeholder(word[1:]))
        unit = _NUMBER_UNIT.match(word)
        if unit:
            return (_number_placeholder(unit.group(1)), *self._normalize_word(unit.group(2)))
        if _LEET_INSIDE.search(word):
            word = word.translate(_LEET)
            if word in self._words:
                return self._words[word]
        word = word.replace("_", "")
        if _ELONGATED.search(word):
            word = self._squeeze(word)
            if word in self._words:
                return self._words[word]
        return (_stem(word),) if word else ()

    def _squeeze(self, word: str) -> str:
        """Shorten letter runs (``kiiiilll``) to the spelling the lexicon knows."""
        runs = list(_ELONGATED.finditer(word))[:4]
        pieces: list[str] = []
        last = 0
        for m in runs:
            pieces.append(word[last:m.start()])
            last = m.end()
        tail = word[last:]
        fallback = None
        for choice in product((1, 2), repeat=len(runs)):
            body = "".join(p + m.group(1) * k for p, m, k in zip(pieces, runs, choice, strict=True))
            candidate = body + tail
            if candidate in self._vocabulary:
                return candidate
            if fallback is None or all(k == 2 for k in choice):
                fallback = candidate
        return fallback or word


def _ascii_words(clean: str) -> list[str]:
    """``_WORDS.findall(clean)`` for ASCII ``clean``, several times faster.

    Bytes have a plain 256-entry ``translate`` table; the regular expression is only
    needed to drop joiners that do not sit between two word characters, and only runs
    when the line has one of them at all.
    """
    raw = clean.encode("ascii")
    if b"'" in raw or b"!" in raw or b"|" in raw:
        raw = _LOOSE_JOINER.sub(b" ", raw)
    return raw.translate(_TO_SPACE).decode("ascii").split()


def _may_be_spaced(raws: list[str], clean: str) -> bool:
    """Whether ``clean`` may hold spaced-out letters (``k i l l``) to glue back.

    Gluing needs three single-character words in a row, so fewer than three of them in
    the whole line settle it without running ``_SPACED``.
    """
    return list(map(len, raws)).count(1) >= 3 and _SPACED.search(clean) is not None


def _scan(clean: str) -> list[_Token]:
    """Words with their positions, sentence and clause numbers."""
    tokens: list[_Token] = []
    sentence = clause = 0
    last_sentence = last_clause = -1
    for m in _SCAN.finditer(clean):
        kind = m.lastgroup
        if kind == "w":
            start, end = m.span()
            tokens.append((clean[start:end], start, end, sentence, clause))
            last_sentence, last_clause = sentence, clause
        elif kind == "s":
            if last_sentence == sentence:
                sentence += 1
                clause += 1
        elif last_clause == clause:
            clause += 1
    return tokens


def _stem(word: str) -> str:
    """Fold a plural onto its singular ("pills" -> "pill", "giveaways" -> "giveaway").

    Deliberately crude and symmetric: lexicon terms go through it too, so it only has to
    be consistent, not linguistically right.  Short words and "-ss/-us/-is" are kept.
    """
    if len(word) >= 5 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def _number_placeholder(digits: str) -> str:
    value = int(digits[:12])
    if len(digits) == 4 and 1900 <= value <= 2099:
        return NUMBER_YEAR
    return NUMBER if value < 10 else NUMBER_BIG
