"""The project's own evaluation set, and the floors the engine must hold on it.

The set (data/peerchat_eval.jsonl) was written for this project as realistic peer-support
chat, before the rules were tuned; data/peerchat_dev.jsonl is a separate split used while
tuning.  The acceptance checks also score a held-out set that is not in the repository.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from moderation.cli import score
from moderation.verdict import BOUNDARY_CATEGORIES, CRISIS_CATEGORIES
from tests.moderation.floors import assert_every_subcategory_found, assert_floors


def test_eval_set_shape(eval_items: list[dict[str, Any]]) -> None:
    assert len(eval_items) >= 400
    labels = Counter(i["label"] for i in eval_items)
    assert set(labels) == {"none", "boundary", "crisis"}
    hard = [i for i in eval_items if "hard_negative" in i.get("tags", ())]
    assert len(hard) * 3 >= len(eval_items)
    assert all(i["label"] == "none" for i in hard)
    categories = {i["category"] for i in eval_items if i.get("category")}
    assert categories == CRISIS_CATEGORIES | BOUNDARY_CATEGORIES
    kinds = {t for i in hard for t in i["tags"]}
    assert {"negation", "past", "idiom", "quote", "third_past"} <= kinds
    assert sum(1 for i in eval_items if i.get("context")) >= 3
    spanish = [i for i in eval_items if i["lang"] == "es"]
    assert len(spanish) >= 30
    assert {i["label"] for i in spanish} == {"none", "boundary", "crisis"}


def test_floors(eval_items: list[dict[str, Any]]) -> None:
    assert_floors(eval_items)


def test_spanish_is_held_to_the_same_floors(eval_items: list[dict[str, Any]]) -> None:
    assert_floors((i for i in eval_items if i["lang"] == "es"), recall=0.9, boundary_f1=0.85, false_alarms=0.1)


def test_every_subcategory_is_found(eval_items: list[dict[str, Any]]) -> None:
    assert_every_subcategory_found(eval_items)


def test_the_report_counts_what_it_is_given() -> None:
    items = [{"text": "i want to kill myself", "label": "crisis"}, {"text": "hi", "label": "crisis"},
             {"text": "kms", "label": "none", "tags": ["hard_negative"]}]
    report = score(items)
    assert report.total == 3
    assert report.recall("crisis") == 0.5
    assert report.precision("crisis") == 0.5
    assert report.hard_negative_false_alarm_rate == 1.0
