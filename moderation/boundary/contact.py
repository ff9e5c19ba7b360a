"""Find contact details: phone numbers, e-mail addresses, links, handles, street addresses.

These are shapes, not words, so they are found with ``phonenumbers`` and a few anchored
regular expressions over the character-cleaned text (case-folded, confusables mapped),
then handed to the rules as hits of the kinds ``phone``, ``email``, ``url``,
``social_url``, ``short_url``, ``handle`` and ``address``.  Every detector is guarded by
a cheap test (enough digits, an ``@``, a dot) so ordinary chat lines cost almost nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

import phonenumbers

__all__ = ["Detection", "detect_contacts", "may_hold_contact"]

# Regions tried for numbers written without a country code: the deployments we know of
# (US/Canada, Spain, Mexico, UK); a number with "+" needs none.
_REGIONS = ("US", "ES", "MX", "GB")
_PHONE_CANDIDATE = re.compile(r"(?<![\w/])\+?\(?\d[\d \-.()\u2013]{5,22}\d(?![\w/])")
_DIGITS = re.compile(r"\d")
# Cheap test: without any of these, a message holds no contact detail at all.
_ANY_DIGIT = re.compile(r"\d")
_PHONEISH = re.compile(r"\d(?:\D{0,3}\d){6}")
_DOTTED = re.compile(r"\w\.[a-z]{2}|\bdot\b|\b(?:calle|avenida|avda)\b")
_WORD = re.compile(r"\w+")
# The same tests for plain ASCII text, over its words (maximal runs of ``\w``, which is
# ``[a-z0-9_]`` there) rather than by scanning: see ``may_hold_contact``.  Done on bytes,
# whose ``translate`` is a plain 256-entry table (a ``str`` table is a dict look-up per
# character, several times slower).
_NON_WORD = bytes(c for c in range(256) if not (c < 128 and (chr(c).isalnum() or c == ord("_"))))
_NON_WORD_TO_SPACE = bytes.maketrans(_NON_WORD, b" " * len(_NON_WORD))
_ASCII_DIGITS = b"0123456789"
_WORD_DOT_LETTERS = re.compile(r"\.(?<=\w\.)[a-z]{2}")  # _DOTTED's first part; starts with a literal
_DOTTED_WORDS = frozenset({b"dot", b"calle", b"avenida", b"avda"})
_STREET_WORDS = frozenset({b"st", b"street", b"ave", b"avenue", b"rd", b"road", b"blvd", b"boulevard", b"ln",
                           b"lane", b"dr", b"drive", b"way", b"ct", b"court", b"pl", b"place", b"hwy", b"highway",
                           b"calle", b"avenida", b"avda", b"av"})
_SPELLED_WORD = re.compile(r"\b(?:\d|zero|oh|o|one|two|three|four|five|six|seven|eight|nine|cero|uno|dos|"
                           r"tres|cuatro|cinco|seis|siete|ocho|nueve)\b")
_SPELLED_TOKENS = frozenset(w.encode() for w in (
    *"0123456789", "zero", "oh", "o", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
    "cero", "uno", "dos", "tres", "cuatro", "cinco", "seis", "siete", "ocho", "nueve"))
_EMAIL = re.compile(r"[a-z0-9][a-z0-9._%+\-]*@[a-z0-9\-]+(?:\.[a-z0-9\-]+)*\.[a-z]{2,}")
_AT = r"(?:\s*@\s*|\s*[\[({<]\s*at\s*[\])}>]\s*|\s+at\s+|\s*\(@\)\s*)"
_DOT = r"(?:\s*\.\s*|\s*[\[({<]\s*dot\s*[\])}>]\s*|\s+dot\s+)"
_MAIL_DOMAINS = r"(?:gmail|hotmail|yahoo|outlook|icloud|proton(?:mail)?|aol|live|msn|mail|gmx|yandex)"
_TLDS = r"(?:com|net|org|edu|io|co|es|mx|uk|me|info|biz|ar|cl|co\.uk)"
_OBFUSCATED_EMAIL = re.compile(
    rf"\b[a-z0-9][a-z0-9._+\-]{{1,40}}{_AT}(?:{_MAIL_DOMAINS}|[a-z0-9\-]{{2,30}}){_DOT}{_TLDS}\b"
)
_URL = re.compile(
    r"\b(?:https?://|www\.)[^\s<>\"']+"
    r"|\b[a-z0-9][a-z0-9\-]{1,62}\.(?:com|net|org|io|co|me|ly|gg|app|xyz|info|biz|tv|es|mx|link|site|"
    r"online|shop|store|club|top|to)(?:/[^\s<>\"']*)?(?![\w@])"
)
_SOCIAL_HOSTS = re.compile(
    r"(?:instagram\.com|instagr\.am|snapchat\.com|t\.me|telegram\.me|wa\.me|whatsapp\.com|"
    r"discord\.gg|discord\.com/invite|tiktok\.com|facebook\.com|fb\.com|fb\.me|m\.me|twitter\.com|"
    r"x\.com/|kik\.me|onlyfans\.com|linktr\.ee|reddit\.com/u|signal\.me)"
)
_SHORT_HOSTS = re.compile(r"(?:bit\.ly|tinyurl\.com|t\.co/|goo\.gl|cutt\.ly|is\.gd|rb\.gy|shorturl\.at)")
_HANDLE = re.compile(r"(?<![\w@.])@([a-z0-9_](?:[a-z0-9_.]{1,28}[a-z0-9_]))(?![\w@])")
_STREET = re.compile(
    r"\b\d{1,5}\s+(?:[a-z]+\s+){0,3}(?:st|street|ave|avenue|rd|road|blvd|boulevard|ln|lane|dr|drive|"
    r"way|ct|court|pl|place|hwy|highway)\b\.?"
    r"|\b(?:calle|avenida|avda|av|c/)\.?\s+[a-z]+(?:\s+[a-z]+){0,3},?\s*(?:n[ºo°]?\s*)?\d{1,4}\b"
)


@dataclass(frozen=True, slots=True)
class Detection:
    """A contact detail found at ``[start, end)`` of the cleaned text."""

    kind: str
    start: int
    end: int
    value: str


def detect_contacts(clean: str, words: Iterable[str] = (),
                    spelled_digits: frozenset[str] = frozenset()) -> list[Detection]:
    """All contact details in ``clean`` (already case-folded), in text order.

    ``words`` are the message's canonical words and ``spelled_digits`` the digit words of
    the loaded languages; together they tell cheaply whether a phone number may be
    spelled out in words ("five five five one two ...") and worth a closer look.
    """
    if not may_hold_contact(clean):
        return []
    found: list[Detection] = []
    has_at = "@" in clean
    has_dot = "." in clean
    # Each detector below is skipped when a substring or word it cannot match without is
    # absent: the regular expressions are the costly part on a short line.
    if (has_at or " at " in clean or "[at]" in clean or "(at)" in clean) and (has_dot or "dot" in clean):
        if has_at:
            for m in _EMAIL.finditer(clean):
                found.append(Detection("email", m.start(), m.end(), m.group()))
        for m in _OBFUSCATED_EMAIL.finditer(clean):
            if not _overlaps(found, m.start(), m.end()):
                found.append(Detection("email", m.start(), m.end(), m.group()))
    if has_dot or "/" in clean:
        for m in _URL.finditer(clean):
            if _overlaps(found, m.start(), m.end()):
                continue
            url = m.group().rstrip(".,;:!?)")
            if _SOCIAL_HOSTS.search(url):
                kind = "social_url"
            elif _SHORT_HOSTS.search(url):
                kind = "short_url"
            else:
                kind = "url"
            found.append(Detection(kind, m.start(), m.start() + len(url), url))
    if has_at:
        for m in _HANDLE.finditer(clean):
            if not _overlaps(found, m.start(), m.end()):
                found.append(Detection("handle", m.start(), m.end(), m.group(1)))
    ascii_words = _ascii_words(clean)
    digits = _digit_count(clean)
    if digits >= 7:
        for m in _PHONE_CANDIDATE.finditer(clean):
            if not _overlaps(found, m.start(), m.end()) and _is_phone(m.group()):
                found.append(Detection("phone", m.start(), m.end(), re.sub(r"\D", "", m.group())))
    if spelled_digits and _spelled_count(clean, ascii_words) >= 3:
        raw_tokens = ((m.group(), m.start(), m.end()) for m in _WORD.finditer(clean))
        spelled = _spelled_phones(raw_tokens, spelled_digits)
        found.extend(d for d in spelled if not _overlaps(found, d.start, d.end))
    if ascii_words is None or (digits and (not _STREET_WORDS.isdisjoint(ascii_words) or "c/" in clean)):
        for m in _STREET.finditer(clean):
            if not _overlaps(found, m.start(), m.end()):
                found.append(Detection("address", m.start(), m.end(), m.group()))
    found.sort(key=lambda d: d.start)
    return found


def may_hold_contact(clean: str) -> bool:
    """A cheap test that rules out most chat lines before any detector runs.

    It runs on every message, so on plain ASCII text (nearly all chat) it avoids scanning
    regular expressions: the words are cut with one ``translate`` and ``split``, and
    set look-ups replace the word alternations.  The answer is exactly that of
    :func:`_may_hold_contact_regex`, which handles the rest (tests hold them equal).
    """
    if "@" in clean or "/" in clean:
        return True
    words = _ascii_words(clean)
    if words is None:
        return _may_hold_contact_regex(clean)
    if "." in clean and _WORD_DOT_LETTERS.search(clean):
        return True
    if not _DOTTED_WORDS.isdisjoint(words):
        return True
    digits = _digit_count(clean)
    if digits and ((digits >= 7 and _PHONEISH.search(clean))
                   or (not _STREET_WORDS.isdisjoint(words) and _STREET.search(clean))):
        return True
    return _spelled_count(clean, words) >= 3


def _ascii_words(clean: str) -> list[bytes] | None:
    """The maximal runs of ``\\w`` in ``clean`` if it is plain ASCII, else ``None``."""
    return clean.encode("ascii").translate(_NON_WORD_TO_SPACE).split() if clean.isascii() else None


def _digit_count(clean: str) -> int:
    """How many ``\\d`` characters ``clean`` holds."""
    if clean.isascii():
        raw = clean.encode("ascii")
        return len(raw) - len(raw.translate(None, _ASCII_DIGITS))
    return len(_DIGITS.findall(clean))


def _spelled_count(clean: str, words: list[bytes] | None) -> int:
    """How many single digits and digit words ``clean`` holds (``_SPELLED_WORD`` matches)."""
    if words is None:
        return len(_SPELLED_WORD.findall(clean))
    return sum(map(_SPELLED_TOKENS.__contains__, words))


def _may_hold_contact_regex(clean: str) -> bool:
    """:func:`may_hold_contact` for any text, with the regular expressions it stands for."""
    if "@" in clean or "/" in clean or _DOTTED.search(clean):
        return True
    if _ANY_DIGIT.search(clean) and (_PHONEISH.search(clean) or _STREET.search(clean)):
        return True
    return len(_SPELLED_WORD.findall(clean)) >= 3


def _overlaps(found: list[Detection], start: int, end: int) -> bool:
    return any(d.start < end and start < d.end for d in found)


@lru_cache(maxsize=4096)
def _is_phone(candidate: str) -> bool:
    """Whether ``phonenumbers`` accepts ``candidate`` as a possible number in a region we serve.

    Cached: parsing costs tens of microseconds, and a number that is posted once (a
    spammer's, a member's) tends to be posted again.
    """
    digits = re.sub(r"\D", "", candidate)
    if not 7 <= len(digits) <= 15:
        return False
    regions: tuple[str | None, ...] = (None,) if candidate.lstrip("(").startswith("+") else _REGIONS
    for region in regions:
        try:
            number = phonenumbers.parse(candidate, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_possible_number(number):
            return True
    return False


_SPELLED = {
    "zero": "0", "oh": "0", "o": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5",
    "six": "6", "seven": "7", "eight": "8", "nine": "9",
    "cero": "0", "uno": "1", "dos": "2", "tres": "3", "cuatro": "4", "cinco": "5", "seis": "6",
    "siete": "7", "ocho": "8", "nueve": "9",
}


def _spelled_phones(tokens: Iterable[tuple[str, int, int]], spelled: frozenset[str]) -> list[Detection]:
    """Runs of digits and digit words ("five five five 12 34") that form a phone number."""
    out: list[Detection] = []
    run: list[tuple[str, int, int]] = []
    words_in_run = 0

    def flush() -> None:
        digits = "".join(_SPELLED.get(t, t) for t, _, _ in run)
        if words_in_run >= 3 and 7 <= len(digits) <= 15 and _is_phone(digits):
            out.append(Detection("phone", run[0][1], run[-1][2], digits))

    for tok, start, end in tokens:
        is_word = tok in spelled and tok in _SPELLED
        if (is_word or tok.isdigit()) and (not run or start - run[-1][2] <= 3):
            run.append((tok, start, end))
            words_in_run += is_word
            continue
        if run:
            flush()
        run = []
        words_in_run = 0
        if is_word or tok.isdigit():
            run.append((tok, start, end))
            words_in_run = int(is_word)
    if run:
        flush()
    return out
