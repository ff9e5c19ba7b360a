from __future__ import annotations

from server.hub.ordering import Sequencer


def test_in_order_passes_straight_through() -> None:
    s: Sequencer[str] = Sequencer()
    assert s.offer(1, "a") == ["a"]
    assert s.offer(2, "b") == ["b"]


def test_out_of_order_is_held_until_the_gap_fills() -> None:
    s: Sequencer[str] = Sequencer()
    s.offer(1, "a")
    assert s.offer(3, "c") == [] and s.waiting
    assert s.offer(2, "b") == ["b", "c"] and not s.waiting


def test_duplicates_and_old_seqs_are_dropped() -> None:
    s: Sequencer[str] = Sequencer()
    s.offer(1, "a")
    s.offer(2, "b")
    assert s.offer(2, "b again") == []
    assert s.offer(1, "a again") == []


def test_start_at_skips_what_history_already_delivered() -> None:
    s: Sequencer[str] = Sequencer()
    assert s.start_at(10) == []
    assert s.offer(10, "old") == []
    assert s.offer(12, "later") == []
    assert s.offer(11, "next") == ["next", "later"]


def test_giving_up_on_a_gap_delivers_what_was_held_in_order() -> None:
    s: Sequencer[str] = Sequencer()
    s.offer(1, "a")
    s.offer(4, "d")
    s.offer(3, "c")
    assert s.give_up_gap() == ["c", "d"] and s.last == 4
