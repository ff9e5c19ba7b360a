"""The issue's floors, checked the same way on every labelled set (eval, fresh, fresh2)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from moderation import classify
from moderation.cli import score

CRISIS_RECALL = 0.97
CRISIS_PRECISION = 0.85
BOUNDARY_F1 = 0.90
HARD_NEGATIVE_FALSE_ALARMS = 0.05


def assert_floors(items: Iterable[dict[str, Any]], *, recall: float = CRISIS_RECALL,
                  precision: float = CRISIS_PRECISION, boundary_f1: float = BOUNDARY_F1,
                  false_alarms: float = HARD_NEGATIVE_FALSE_ALARMS) -> None:
    report = score(items)
    assert report.recall("crisis") >= recall
    assert report.precision("crisis") >= precision
    assert report.f1("boundary") >= boundary_f1
    assert report.hard_negative_false_alarm_rate <= false_alarms


def assert_every_subcategory_found(items: Iterable[dict[str, Any]], share: float = 0.85) -> None:
    found: Counter[str] = Counter()
    total: Counter[str] = Counter()
    for item in items:
        category = item.get("category")
        if not category:
            continue
        total[category] += 1
        verdict = classify(item["text"], context=item.get("context", ()))
        found[category] += category in verdict.categories
    for category, n in total.items():
        assert found[category] / n >= share, category
