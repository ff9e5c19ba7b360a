"""The verdict object and the public interface the server calls."""

from __future__ import annotations

import moderation
from moderation import Label, classify


def test_public_interface() -> None:
    assert set(moderation.__all__) >= {"classify", "Verdict", "Policy", "Label"}
    assert Label("crisis") is Label.CRISIS
    assert str(Label.BOUNDARY) == "boundary"
    assert isinstance(Label.NONE, str)


def test_none_verdict_is_empty() -> None:
    verdict = classify("good morning everyone, day 63")
    assert verdict.label is Label.NONE
    assert verdict == moderation.Verdict(Label.NONE)
    assert (verdict.categories, verdict.rules, verdict.severity, verdict.spans) == ((), (), 0, ())
    assert not verdict.flagged


def test_spans_are_offsets_into_the_original_text() -> None:
    text = "ok so... I want to 𝓀𝒾𝓁𝓁 myself tonight"
    verdict = classify(text)
    assert verdict.label is Label.CRISIS
    pieces = verdict.excerpts(text)
    assert any("𝓀𝒾𝓁𝓁 myself" in p for p in pieces)
    assert any("tonight" in p for p in pieces) or verdict.severity == 3


def test_spans_cover_contact_details_exactly() -> None:
    text = "yo text me at 555-867-5309!!"
    verdict = classify(text)
    assert "555-867-5309" in verdict.excerpts(text)


def test_crisis_outranks_boundary() -> None:
    verdict = classify("send nudes or i'll kill myself")
    assert verdict.label is Label.CRISIS
    assert verdict.categories[0] == "suicide"
    assert "solicitation" in verdict.categories


def test_rules_and_categories_are_reported() -> None:
    verdict = classify("who's selling bars? need some bad")
    assert verdict.categories == ("sourcing",)
    assert all(r.startswith("sourcing.") for r in verdict.rules)
    assert verdict.severity == 1


def test_empty_and_odd_input() -> None:
    for text in ["", " ", "\n\n", "!!!", "💊", "\u200b", "a" * 5000]:
        assert classify(text).label is Label.NONE
