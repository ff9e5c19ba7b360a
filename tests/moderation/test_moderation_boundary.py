"""Boundary detection: contact details, sourcing, solicitation, harassment, spam."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from moderation import Label, classify
from moderation.boundary import detect_contacts
from moderation.boundary.contact import _may_hold_contact_regex, may_hold_contact


def categories(text: str) -> tuple[str, ...]:
    return classify(text).categories


@pytest.mark.parametrize(
    "text",
    [
        "555-867-5309",
        "(312) 555 0198",
        "415.555.2671",
        "+44 7700 900123",
        "612 345 678",
        "5 5 5 - 2 3 4 - 9 8 7 6",
        "five five five three two one four four three two",
        "cinco cinco cinco uno dos tres cuatro",
    ],
)
def test_phone_numbers_in_many_formats(text: str) -> None:
    assert "contact" in categories(f"my number {text} ok")


@pytest.mark.parametrize(
    "text",
    ["I have 2 kids and 3 dogs", "sober since 2019, 1,247 days", "call 988 if you need to",
     "text HOME to 741741"],
)
def test_numbers_that_are_not_contact_details(text: str) -> None:
    assert classify(text).label is Label.NONE


@pytest.mark.parametrize(
    "text",
    [
        "recoveringrob@gmail.com",
        "mike dot tanner at gmail dot com",
        "kara.lynn [at] yahoo [dot] com",
        "sober.sara at protonmail dot com",
    ],
)
def test_email_addresses_even_obfuscated(text: str) -> None:
    assert "contact" in categories(f"email me: {text}")


def test_handles_need_a_platform_or_an_invitation() -> None:
    assert "contact" in categories("hmu on insta @sober_sam_89")
    assert "contact" in categories("add me on snap: jessy_rae22")
    assert classify("thanks @maria for the reminder").label is Label.NONE


def test_social_links_are_contact_and_recovery_sites_are_fine() -> None:
    assert "contact" in categories("here's my telegram t.me/dannyboy")
    assert classify("smartrecovery.org has free online meetings").label is Label.NONE


def test_offline_meetings_and_addresses() -> None:
    assert "contact" in categories("let's meet up in person this weekend")
    assert "contact" in categories("I live at 4521 Maple Street")
    assert classify("see you all at the 7pm meeting tomorrow").label is Label.NONE


def test_detector_offsets_are_exact() -> None:
    found = detect_contacts("call 555-867-5309 now")
    assert [(d.kind, d.start, d.end) for d in found] == [("phone", 5, 17)]


@pytest.mark.parametrize(
    "text",
    ["anyone know where i can get some percs", "selling my subs, $10 each", "who can front me a few grams",
     "dónde puedo comprar mota?"],
)
def test_sourcing(text: str) -> None:
    assert "sourcing" in categories(text)


@pytest.mark.parametrize(
    "text",
    ["I'm craving oxy so bad today", "anyone have tips for benzo withdrawal?",
     "I sold pills for years before I got clean", "where can I get narcan for free?"],
)
def test_drug_talk_is_not_sourcing(text: str) -> None:
    assert classify(text).label is Label.NONE


def test_solicitation_harassment_spam() -> None:
    assert "solicitation" in categories("send nudes")
    assert "harassment" in categories("you're a worthless junkie")
    assert "harassment" in categories("kys")
    assert "spam" in categories("Make $5000 a week from home!! click here bit.ly/3xRich")


def test_insults_need_a_target() -> None:
    assert classify("I'm such an idiot, forgot my chip").label is Label.NONE
    assert classify("you are not worthless, we need you here").label is Label.NONE


def test_threats_to_a_member_are_harassment_not_crisis() -> None:
    verdict = classify("I'm going to kill you if you post that again")
    assert verdict.label is Label.BOUNDARY
    assert verdict.categories == ("harassment",)
    assert verdict.severity == 2


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from([
    *"abcdeilmnorstvwy0123456789 .,@/_-:()\n", " five ", " one ", " o ", " dos ", " dot ", " calle ", " st ",
    " ave ", " way ", " 123 ", "gmail.com", "é"]), max_size=30).map("".join))
def test_contact_precheck_equals_its_regex_definition(clean: str) -> None:
    assert may_hold_contact(clean) == _may_hold_contact_regex(clean)


@pytest.mark.parametrize("clean", [
    "call me at five five five one two three four", "sam dot smith at gmail", "123 main st", "calle mayor 12",
    "day 34 for me", "my.site", "o o o", "5 5 5", "one_two three", "1234567", "nothing here", "100 ways to go",
])
def test_contact_precheck_examples(clean: str) -> None:
    assert may_hold_contact(clean) == _may_hold_contact_regex(clean)
