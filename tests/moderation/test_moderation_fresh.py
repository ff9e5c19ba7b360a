"""Floors on the fresh check sets, written after the rules as a stand-in for a held-out set.

``data/peerchat_fresh.jsonl`` (212 lines) was written before any rule was changed for it,
``data/peerchat_fresh2.jsonl`` (67 lines) after the first round of fixes; the first-pass
figures of each are in docs/moderation.md.  Both are now tuned on, so these floors guard
against regressions; they are not a measure of generalisation.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from moderation.cli import EvalReport, score
from moderation.verdict import BOUNDARY_CATEGORIES, CRISIS_CATEGORIES

DATA = Path(__file__).parent / "data"
SETS = ("peerchat_fresh.jsonl", "peerchat_fresh2.jsonl")


def _load(name: str) -> list[dict[str, Any]]:
    with open(DATA / name, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


@pytest.fixture(scope="module", params=SETS)
def items(request: pytest.FixtureRequest) -> list[dict[str, Any]]:
    return _load(request.param)


@pytest.fixture(scope="module")
def report(items: list[dict[str, Any]]) -> EvalReport:
    return score(items)


def test_fresh_set_shape() -> None:
    items = _load("peerchat_fresh.jsonl")
    assert len(items) >= 200
    hard = [i for i in items if "hard_negative" in i.get("tags", ())]
    assert len(hard) * 10 >= len(items) * 4  # at least 40% hard negatives
    assert all(i["label"] == "none" for i in hard)
    assert {i["category"] for i in items if i.get("category")} == CRISIS_CATEGORIES | BOUNDARY_CATEGORIES
    spanish = [i for i in items if i["lang"] == "es"]
    assert len(spanish) >= 40
    assert {i["label"] for i in spanish} == {"none", "boundary", "crisis"}
    assert {i["category"] for i in spanish if i.get("category")} == CRISIS_CATEGORIES | BOUNDARY_CATEGORIES


def test_fresh_sets_share_no_line_with_the_eval_and_dev_sets() -> None:
    seen = {i["text"].strip().lower() for name in ("peerchat_eval.jsonl", "peerchat_dev.jsonl") for i in _load(name)}
    for name in SETS:
        assert not [i["text"] for i in _load(name) if i["text"].strip().lower() in seen], name


def test_crisis_recall(report: EvalReport) -> None:
    assert report.recall("crisis") >= 0.97


def test_crisis_precision(report: EvalReport) -> None:
    assert report.precision("crisis") >= 0.85


def test_boundary_f1(report: EvalReport) -> None:
    assert report.f1("boundary") >= 0.90


def test_hard_negative_false_alarms(report: EvalReport) -> None:
    assert report.hard_negative_false_alarm_rate <= 0.05


def test_spanish_holds_the_same_floors(items: list[dict[str, Any]]) -> None:
    report = score(i for i in items if i["lang"] == "es")
    assert report.recall("crisis") >= 0.97
    assert report.precision("crisis") >= 0.85
    assert report.f1("boundary") >= 0.90
    assert report.hard_negative_false_alarm_rate <= 0.05


def test_every_subcategory_is_found(items: list[dict[str, Any]]) -> None:
    from moderation import classify

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
        assert found[category] / n >= 0.85, category
