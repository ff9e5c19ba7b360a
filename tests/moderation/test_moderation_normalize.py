"""Normalisation: every disguise maps onto the words the lexicons are written in."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from moderation.lexicon import load_lexicon
from moderation.normalize import _WORDS, Normalizer, _ascii_words, clean_characters


@pytest.fixture(scope="module")
def norm() -> Normalizer:
    return load_lexicon().normalizer


def words(norm: Normalizer, text: str) -> str:
    return " ".join(norm.normalize(text).words)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ＫＩＬＬ ＭＹＳＥＬＦ", "kill myself"),  # fullwidth: NFKC
        ("KILL MYSELF", "kill myself"),  # case folding
        ("Straße", "strasse"),  # casefold, not lower
        ("kіll myѕelf", "kill myself"),  # Cyrillic і and ѕ: confusables
        ("𝓀𝒾𝓁𝓁 myself", "kill myself"),  # mathematical script letters
        ("está", "esta"),  # accents stripped
    ],
)
def test_characters(norm: Normalizer, text: str, expected: str) -> None:
    assert words(norm, text) == expected


def test_zero_width_characters_are_dropped(norm: Normalizer) -> None:
    assert words(norm, "ki\u200bll my\u200dself") == "kill myself"
    assert words(norm, "su\u00adicide") == "suicide"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("k1ll mys3lf", "kill myself"),
        ("$uicide", "suicide"),
        ("h@ng myself", "hang myself"),
        ("h3r0in", "heroin"),
        ("k!ll", "kill"),
    ],
)
def test_leetspeak_inside_words(norm: Normalizer, text: str, expected: str) -> None:
    assert words(norm, text) == expected


def test_leetspeak_leaves_numbers_and_units_alone(norm: Normalizer) -> None:
    assert words(norm, "800mg") == "## mg"
    assert words(norm, "took 30 pills") == "took ## pill"
    assert words(norm, "6 bars") == "# bars"
    assert words(norm, "m30") == "m30"


def test_number_placeholders(norm: Normalizer) -> None:
    assert words(norm, "in 2019") == "in #year"
    assert words(norm, "thirty pills") == "## pill"
    assert words(norm, "two years") == "# year"
    assert words(norm, "took like 50") == "took ##"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("k i l l myself", "kill myself"),
        ("k.i.l.l m.y.s.e.l.f", "kill myself"),
        ("i w a n t t o d i e", "i want to die"),
        ("k-m-s", "kill myself"),
    ],
)
def test_spaced_out_letters_are_glued_back(norm: Normalizer, text: str, expected: str) -> None:
    assert words(norm, text) == expected


def test_spaced_letters_that_are_words_stay_words(norm: Normalizer) -> None:
    assert words(norm, "u r a loser") == "you are a loser"


@pytest.mark.parametrize(
    ("text", "expected"),
    [("kiiiiill myselfff", "kill myself"), ("sooooo tired", "so tired"), ("diiiie", "die")],
)
def test_elongations_are_squeezed_to_known_words(norm: Normalizer, text: str, expected: str) -> None:
    assert words(norm, text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("kms", "kill myself"),
        ("unalive myself", "kill myself"),
        ("sewerslide", "suicide"),
        ("I'm gonna", "i am going to"),
        ("dont", "do not"),
        ("don't", "do not"),
        ("u up", "you up"),
    ],
)
def test_euphemisms_and_shorthands(norm: Normalizer, text: str, expected: str) -> None:
    assert words(norm, text) == expected


def test_plurals_fold_onto_singular(norm: Normalizer) -> None:
    assert words(norm, "giveaways pills") == "giveaway pill"
    assert words(norm, "this is us") == "this is us"


def test_emoji_become_words(norm: Normalizer) -> None:
    assert words(norm, "💊💊 tonight") == "pill pill tonight"
    assert words(norm, "haha 😂") == "haha lol"
    assert words(norm, "🌈 ok") == "ok"


def test_punctuation_splits_sentences_and_clauses(norm: Normalizer) -> None:
    n = norm.normalize("I was sad, but now fine. Next one")
    assert n.words == ("i", "was", "sad", "but", "now", "fine", "next", "one")
    assert n.sentence == (0, 0, 0, 0, 0, 0, 1, 1)
    assert n.clause[:3] == (0, 0, 0)
    assert n.clause[3] > n.clause[2]  # the comma and "but" open new clauses
    assert n.clause[6] > n.clause[5]


def test_dots_inside_addresses_do_not_split_sentences(norm: Normalizer) -> None:
    n = norm.normalize("call 555.123.4567 or bob.smith@gmail.com ok")
    assert len(set(n.sentence)) == 1


def test_quoted_words_are_marked(norm: Normalizer) -> None:
    n = norm.normalize('she sang "I want to die" loudly')
    quoted = [w for w, q in zip(n.words, n.quoted, strict=True) if q]
    assert quoted == ["i", "want", "to", "die"]


def test_spans_point_into_the_original_text(norm: Normalizer) -> None:
    text = "Ｈｅｌｌｏ, I want to k\u200bi\u200bl\u200bl myself 💊"
    n = norm.normalize(text)
    pieces = [text[a:b] for a, b in n.spans]
    assert pieces[0] == "Ｈｅｌｌｏ"
    assert "k\u200bi\u200bl\u200bl" in pieces
    assert pieces[-1] == "💊"


def test_clean_characters_keeps_ascii_on_the_fast_path() -> None:
    clean, offsets = clean_characters("Plain ASCII", {})
    assert clean == "plain ascii"
    assert offsets is None


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=120))
def test_any_text_normalises_with_valid_spans(text: str) -> None:
    n = load_lexicon().normalizer.normalize(text)
    assert len(n.words) == len(n.spans) == len(n.sentence) == len(n.clause) == len(n.quoted)
    for a, b in n.spans:
        assert 0 <= a < b <= len(text)
    for i, start in enumerate(n.starts):
        assert n.text[start:start + len(n.words[i])] == n.words[i]
    eager = load_lexicon().normalizer.normalize(text, positions=True)
    assert (eager.words, eager.spans, eager.sentence, eager.clause) == (n.words, n.spans, n.sentence, n.clause)


_QUICK_CASES = [
    "took like 50 pills", "like about 5", "I took like like 5 of them", "Ｋill mysélf 😂 like 2019",
    "k i l l myself", "i think i need a break", "abt 30 of my klonopin", "@sam hey", "@@@ !!! ...",
    "kiiiilll myyyself", "800mg", "$uicide", "don't", "ＫＩＬＬ ＭＹＳＥＬＦ", "su\u00adicide", "",
    "día difícil, pero no consumí 🙏", "𝓀𝒾𝓁𝓁 myself", "I'm  \u200b  fine",
]


@pytest.mark.parametrize("text", _QUICK_CASES)
def test_quick_path_builds_the_same_canonical_text(norm: Normalizer, text: str) -> None:
    quick = norm.quick(text)
    full = norm.normalize(text)
    if quick is not None:  # None: spaced-out letters, only the full path handles them
        assert quick == (full.clean, full.text)


def test_quick_path_matches_the_full_path_on_the_eval_set(norm: Normalizer, eval_items: list[dict[str, Any]]) -> None:
    for item in eval_items:
        for text in (item["text"], *item.get("context", ())):
            quick = norm.quick(text)
            full = norm.normalize(text)
            assert quick is None or quick == (full.clean, full.text), text


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_quick_path_matches_the_full_path_on_any_text(text: str) -> None:
    n = load_lexicon().normalizer
    quick = n.quick(text)
    full = n.normalize(text)
    assert quick is None or quick == (full.clean, full.text)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab1_@$'!|-., \t\"#x")), max_size=40))
def test_ascii_words_are_the_regex_words(text: str) -> None:
    assert _ascii_words(text) == _WORDS.findall(text)
