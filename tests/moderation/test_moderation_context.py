"""Context rules: negation, narrative, idioms, quotes, third person, conversation."""

from __future__ import annotations

import pytest

from moderation import Label, classify


def label(text: str, context: tuple[str, ...] = ()) -> Label:
    return classify(text, context=context).label


# -- negation ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "I'm not suicidal, just exhausted",
        "i would never kill myself",
        "I don't want to die, I want the cravings to stop",
        "no longer thinking about ending my life",
        "I didn't cut last night",
    ],
)
def test_negation_cancels_a_signal(text: str) -> None:
    assert label(text) is Label.NONE


@pytest.mark.parametrize(
    "text",
    [
        "I don't want to live anymore",  # the negation is part of the signal
        "nobody would miss me if i was gone, i want to die",
        "I'm not okay and I want to die",  # "not" belongs to another clause
        "no, i really want to kill myself",
    ],
)
def test_negation_does_not_reach_too_far(text: str) -> None:
    assert label(text) is Label.CRISIS


# -- past and recovery narrative -------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "I used to want to die; 2 years clean now",
        "back in 2018 I tried to kill myself",
        "when I was using I overdosed three times",
        "at my worst I was taking 30 pills a day",
        "My dad used to hit me when I was a kid",
    ],
)
def test_past_narrative_is_not_a_crisis(text: str) -> None:
    assert label(text) is Label.NONE


def test_a_clause_brought_back_to_now_still_counts() -> None:
    assert label("I used to be happy, now I want to die") is Label.CRISIS
    assert label("I used to be clean but I want to die again") is Label.CRISIS


@pytest.mark.parametrize(
    "text",
    [
        "I used to want to die and I still do",
        "I used to want to kill myself and honestly I still do lol",
        "I used to cut myself and I still do sometimes",
        "i used to be suicidal and i still am",
        "back in 2019 I wanted to end my life and it never went away",
    ],
)
def test_a_later_clause_saying_it_still_holds_revives_the_past(text: str) -> None:
    assert label(text) is Label.CRISIS


@pytest.mark.parametrize(
    "text",
    [
        "I used to want to die, but I still do my meetings every day",
        "I used to want to die and I still think about those days",
        "I used to want to die; I still do the steps every morning",
        "I used to want to die, now I'm 5 years clean and still am grateful",
    ],
)
def test_still_must_refer_back_to_revive(text: str) -> None:
    assert label(text) is Label.NONE


def test_past_tense_signals_need_a_recent_marker() -> None:
    assert label("I tried to kill myself") is Label.NONE
    assert label("I tried to kill myself last night") is Label.CRISIS
    assert label("I overdosed") is Label.NONE
    assert label("I overdosed an hour ago") is Label.CRISIS


# -- idioms -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "that meeting killed me",
        "dying to try it",
        "I'd kill for a coffee",
        "my back is killing me",
        "my sponsor is going to kill me",
        "I cut myself shaving",
        "don't kill yourself over one bad day",
    ],
)
def test_idioms_are_not_signals(text: str) -> None:
    assert label(text) is Label.NONE


def test_an_idiom_inside_a_longer_signal_does_not_cancel_it() -> None:
    # "kill me" is an idiom on its own, not inside "threatened to kill me".
    assert label("my husband threatened to kill me if I leave") is Label.CRISIS


def test_joking_cancels_hyperbolic_danger_only() -> None:
    assert label("I'm going to kill my roommate if he eats my leftovers again lol") is Label.NONE
    assert label("gonna kill myself lol") is Label.CRISIS


# -- quotes and lyrics --------------------------------------------------------------------


def test_quoted_words_are_not_the_members_own() -> None:
    assert label('my favourite song goes "I want to die young"') is Label.NONE
    assert label('he said "kill yourself" to me and I cried') is Label.NONE


def test_quote_cues_cover_the_sentence_only() -> None:
    assert label("I love that song. I want to die tonight") is Label.CRISIS


# -- third person -----------------------------------------------------------------------


def test_third_person_past_is_a_narrative() -> None:
    assert label("my friend overdosed in 2019") is Label.NONE
    assert label("my brother killed himself 5 years ago") is Label.NONE


def test_third_person_present_emergency_is_a_crisis() -> None:
    verdict = classify("my friend took a bunch of pills and won't wake up")
    assert verdict.label is Label.CRISIS
    assert "overdose" in verdict.categories
    assert verdict.severity == 3


def test_talk_about_people_in_general_is_not_a_crisis() -> None:
    assert label("if you ever feel suicidal please call 988") is Label.NONE
    assert label("how do you support a friend who is self harming?") is Label.NONE


# -- context across messages ---------------------------------------------------------------


def test_a_plan_spread_over_two_messages_is_caught() -> None:
    history = ("i saved up all my meds",)
    verdict = classify("tonight's the night", context=history)
    assert verdict.label is Label.CRISIS
    assert verdict.severity == 3
    assert "suicide.preparation" in verdict.rules


def test_each_half_alone_is_not_raised() -> None:
    assert label("tonight's the night") is Label.NONE
    assert label("i saved up all my meds") is Label.NONE


def test_context_only_upgrades_a_message_that_contributes() -> None:
    assert label("thanks everyone", context=("i saved up all my meds",)) is Label.NONE


def test_negated_context_does_not_count() -> None:
    assert label("tonight's the night", context=("i never saved up my meds",)) is Label.NONE


def test_context_escalates_severity() -> None:
    alone = classify("I want to die")
    with_means = classify("I want to die", context=("I bought a rope",))
    assert alone.severity == 2
    assert with_means.severity == 3


# -- severity -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "severity"),
    [
        ("I wish I was dead", 1),
        ("I want to kill myself", 2),
        ("I want to kill myself tonight", 3),
        ("I'm going to take all my pills tonight", 3),
        ("he's not breathing", 3),
    ],
)
def test_severity(text: str, severity: int) -> None:
    verdict = classify(text)
    assert verdict.label is Label.CRISIS
    assert verdict.severity == severity


def test_means_amount_and_time_outweigh_feelings() -> None:
    assert label("I feel hopeless and empty") is Label.NONE
    assert label("took 800 mg of my gabapentin") is Label.CRISIS
    assert label("gonna swallow the whole bottle 💊") is Label.CRISIS
