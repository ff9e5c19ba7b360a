"""Policy: built from plain data, cached, and deciding what is held."""

from __future__ import annotations

import pytest

from moderation import Label, Policy, Verdict, classify
from moderation.rules.engine import default_engine


def test_from_mapping_builds_a_hashable_policy() -> None:
    policy = Policy.from_mapping({
        "extra_terms": {"sourcing": ["purple unicorns"], "spam": ["sober shop"]},
        "allow": ["5th street clubhouse"],
        "hold": ["contact", "sourcing", "solicitation"],
    })
    assert policy.hold == frozenset({"contact", "sourcing", "solicitation"})
    assert dict(policy.extra_terms)["sourcing"] == ("purple unicorns",)
    assert hash(policy) == hash(Policy.from_mapping({
        "extra_terms": {"spam": ["sober shop"], "sourcing": ["purple unicorns"]},
        "allow": ["5th street clubhouse"],
        "hold": ["sourcing", "solicitation", "contact"],
    }))


@pytest.mark.parametrize(
    "data",
    [
        {"holds": ["contact"]},  # typo in a key
        {"hold": ["contacts"]},  # unknown category
        {"extra_terms": {"drugs": ["x"]}},
        {"extra_terms": ["x"]},
        {"allow": "aa.org"},
        {"allow": [1, 2]},
    ],
)
def test_invalid_policies_are_rejected(data: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        Policy.from_mapping(data)


def test_extra_terms_raise_their_category() -> None:
    policy = Policy.from_mapping({"extra_terms": {"sourcing": ["purple unicorns"]}})
    verdict = classify("anyone got purple unicorns?", policy=policy)
    assert verdict.label is Label.BOUNDARY
    assert verdict.categories == ("sourcing",)
    assert "policy.sourcing" in verdict.rules
    assert classify("anyone got purple unicorns?").label is Label.NONE


def test_extra_terms_obey_context() -> None:
    policy = Policy.from_mapping({"extra_terms": {"sourcing": ["purple unicorns"]}})
    assert classify("I used to buy purple unicorns years ago", policy=policy).label is Label.NONE


def test_extra_crisis_terms_are_crisis() -> None:
    policy = Policy.from_mapping({"extra_terms": {"suicide": ["going to see grandma tonight for good"]}})
    assert classify("going to see grandma tonight for good", policy=policy).label is Label.CRISIS


def test_allow_list_cancels_signals_and_contact_details() -> None:
    policy = Policy.from_mapping({"allow": ["meet me at the clubhouse", "555-010-9999", "ourgroup.org"]})
    assert "contact" in classify("meet me at the clubhouse").categories
    assert classify("meet me at the clubhouse", policy=policy).label is Label.NONE
    assert classify("our hotline is 555-010-9999", policy=policy).label is Label.NONE
    assert classify("our hotline is 555-010-9999").label is Label.BOUNDARY
    assert classify("free coffee, details at https://ourgroup.org/meet").label is Label.BOUNDARY
    assert classify("free coffee, details at https://ourgroup.org/meet", policy=policy).label is Label.NONE


def test_policy_compilation_is_cached() -> None:
    engine = default_engine()
    policy = Policy.from_mapping({"extra_terms": {"spam": ["cached term probe"]}})
    before = engine._compile_policy.cache_info()
    for _ in range(5):
        classify("a cached term probe here", policy=policy)
        classify("another line", policy=policy)
    after = engine._compile_policy.cache_info()
    assert after.misses - before.misses == 1


def test_default_hold_is_contact_and_sourcing() -> None:
    assert classify("text me at 555-867-5309").held
    assert classify("who's selling bars?").held
    assert not classify("send nudes").held
    assert not classify("you're a worthless junkie").held
    assert not classify("hello").held


def test_crisis_is_never_held_by_default() -> None:
    verdict = classify("i'm going to kill myself tonight, call me 555-867-5309")
    assert verdict.label is Label.CRISIS
    assert "contact" in verdict.categories
    assert not verdict.held
    assert verdict.hold(Policy(hold_crisis=True))


def test_room_policy_can_hold_more_kinds() -> None:
    strict = Policy.from_mapping({"hold": ["contact", "sourcing", "solicitation", "harassment"]})
    assert classify("send nudes").hold(strict)
    relaxed = Policy.from_mapping({"hold": []})
    assert not classify("text me at 555-867-5309").hold(relaxed)


def test_verdict_is_frozen() -> None:
    verdict = classify("send nudes")
    with pytest.raises(AttributeError):
        verdict.label = Label.NONE  # type: ignore[misc]
    assert isinstance(verdict, Verdict)
