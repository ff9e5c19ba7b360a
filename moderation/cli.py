"""Command-line entry points: classify a JSONL stream, evaluate against a labelled file.

The server's ``peerchat moderation classify|eval`` commands call these two functions;
``python -m moderation`` calls them too.  They take their streams as arguments so they
can be tested without a process, and return process exit codes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

from moderation import classify
from moderation.verdict import Label

__all__ = ["EvalReport", "classify_stream", "evaluate", "score"]

LABELS = tuple(label.value for label in Label)


def classify_stream(stdin: TextIO, stdout: TextIO) -> int:
    """Read ``{"text": ...}`` lines, write ``{"text", "label", "rules", "severity"}`` lines.

    Output order follows input order, one line per non-blank input line.  An input line
    may carry ``"context": [previous messages]``.  A malformed line produces an
    ``{"error": ...}`` line in its place and exit status 1 at the end.
    """
    status = 0
    for number, line in enumerate(stdin, 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            text = item["text"]
            context = item.get("context", [])
            if not isinstance(text, str) or not _is_str_list(context):
                raise TypeError("text must be a string and context a list of strings")
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            stdout.write(json.dumps({"error": f"line {number}: {exc.__class__.__name__}: {exc}"}) + "\n")
            status = 1
            continue
        verdict = classify(text, context=context)
        record = {"text": text, "label": verdict.label.value, "rules": list(verdict.rules),
                  "severity": verdict.severity}
        stdout.write(json.dumps(record, ensure_ascii=False) + "\n")
    stdout.flush()
    return status


@dataclass
class EvalReport:
    """Confusion matrix and the figures derived from it."""

    matrix: dict[str, dict[str, int]] = field(
        default_factory=lambda: {g: dict.fromkeys(LABELS, 0) for g in LABELS})
    hard_negatives: int = 0
    hard_negative_alarms: int = 0
    errors: list[tuple[str, str, str]] = field(default_factory=list)

    def precision(self, label: str) -> float:
        predicted = sum(self.matrix[g][label] for g in LABELS)
        return self.matrix[label][label] / predicted if predicted else 0.0

    def recall(self, label: str) -> float:
        actual = sum(self.matrix[label].values())
        return self.matrix[label][label] / actual if actual else 0.0

    def f1(self, label: str) -> float:
        p, r = self.precision(label), self.recall(label)
        return 2 * p * r / (p + r) if p + r else 0.0

    @property
    def total(self) -> int:
        return sum(sum(row.values()) for row in self.matrix.values())

    @property
    def hard_negative_false_alarm_rate(self) -> float:
        return self.hard_negative_alarms / self.hard_negatives if self.hard_negatives else 0.0


def score(items: Iterable[dict[str, Any]]) -> EvalReport:
    """Classify every ``{"text", "label"[, "context"][, "tags"]}`` item and tally."""
    report = EvalReport()
    for item in items:
        gold = item["label"]
        if gold not in LABELS:
            raise ValueError(f"unknown label {gold!r}")
        verdict = classify(item["text"], context=item.get("context", ()))
        predicted = verdict.label.value
        report.matrix[gold][predicted] += 1
        if "hard_negative" in item.get("tags", ()):
            report.hard_negatives += 1
            report.hard_negative_alarms += predicted != "none"
        if predicted != gold:
            report.errors.append((gold, predicted, item["text"]))
    return report


def evaluate(path: str, stdout: TextIO) -> int:
    """Print per-class precision, recall, F1 and the confusion matrix for a JSONL file."""
    try:
        with open(path, encoding="utf-8") as fh:
            items = [json.loads(line) for line in fh if line.strip()]
        report = score(items)
    except (OSError, ValueError, KeyError) as exc:
        stdout.write(f"error: {exc}\n")
        return 2
    stdout.write(format_report(report))
    return 0


def format_report(report: EvalReport) -> str:
    header = f"{'class':<10}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>10}"
    lines = [f"{report.total} messages", "", header]
    for label in LABELS:
        support = sum(report.matrix[label].values())
        lines.append(f"{label:<10}{report.precision(label):>10.3f}{report.recall(label):>10.3f}"
                     f"{report.f1(label):>10.3f}{support:>10}")
    lines += ["", "confusion matrix (rows: expected, columns: predicted)",
              f"{'':<10}" + "".join(f"{p:>10}" for p in LABELS)]
    for gold in LABELS:
        lines.append(f"{gold:<10}" + "".join(f"{report.matrix[gold][p]:>10}" for p in LABELS))
    if report.hard_negatives:
        lines += ["", f"hard negatives: {report.hard_negatives}, false alarms: {report.hard_negative_alarms} "
                      f"({report.hard_negative_false_alarm_rate:.1%})"]
    return "\n".join(lines) + "\n"


def _is_str_list(value: Any) -> bool:
    if isinstance(value, str) or not isinstance(value, Sequence):
        return False
    return all(isinstance(v, str) for v in value)
