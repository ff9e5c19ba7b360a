"""The command-line entry points, in-process and end to end."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

from moderation.cli import classify_stream, evaluate


def run_classify(lines: list[str]) -> tuple[int, list[dict[str, object]]]:
    out = io.StringIO()
    code = classify_stream(io.StringIO("\n".join(lines) + "\n"), out)
    return code, [json.loads(line) for line in out.getvalue().splitlines()]


def test_classify_stream_keeps_order_and_fields() -> None:
    texts = ["hello", "i want to kill myself", "text me at 555-867-5309", "¿qué tal?"]
    code, records = run_classify([json.dumps({"text": t}) for t in texts])
    assert code == 0
    assert [r["text"] for r in records] == texts
    assert [r["label"] for r in records] == ["none", "crisis", "boundary", "none"]
    assert all(set(r) == {"text", "label", "rules", "severity"} for r in records)
    assert records[1]["severity"] == 2 and records[1]["rules"] == ["suicide.ideation"]


def test_classify_stream_accepts_context_and_skips_blank_lines() -> None:
    line = json.dumps({"text": "tonight's the night", "context": ["i saved up all my meds"]})
    code, records = run_classify(["", line, "   "])
    assert code == 0
    assert [r["label"] for r in records] == ["crisis"]


def test_classify_stream_reports_bad_lines_in_place() -> None:
    lines = ['{"text": "hi"}', "not json", '{"txt": "x"}', '{"text": 3}', '{"text": "ok"}']
    code, records = run_classify(lines)
    assert code == 1
    assert [("error" in r) for r in records] == [False, True, True, True, False]
    assert records[-1]["text"] == "ok"


def test_evaluate_prints_metrics(tmp_path: Path) -> None:
    data = tmp_path / "mini.jsonl"
    items = [
        {"text": "i want to kill myself", "label": "crisis"},
        {"text": "send nudes", "label": "boundary"},
        {"text": "that meeting killed me", "label": "none", "tags": ["hard_negative"]},
        {"text": "hello", "label": "crisis"},
    ]
    data.write_text("\n".join(json.dumps(i) for i in items) + "\n", encoding="utf-8")
    out = io.StringIO()
    assert evaluate(str(data), out) == 0
    report = out.getvalue()
    assert "precision" in report and "confusion matrix" in report
    crisis_row = next(line for line in report.splitlines() if line.startswith("crisis "))
    assert crisis_row.split()[1:4] == ["1.000", "0.500", "0.667"]
    assert "hard negatives: 1, false alarms: 0 (0.0%)" in report


def test_evaluate_reports_a_missing_file(tmp_path: Path) -> None:
    out = io.StringIO()
    assert evaluate(str(tmp_path / "nope.jsonl"), out) == 2
    assert out.getvalue().startswith("error:")


def test_python_dash_m_end_to_end(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.run(
        [sys.executable, "-m", "moderation", "classify"],
        input='{"text": "kms"}\n{"text": "hi"}\n', capture_output=True, text=True, cwd=root, timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert [json.loads(line)["label"] for line in proc.stdout.splitlines()] == ["crisis", "none"]
    data = tmp_path / "e.jsonl"
    data.write_text('{"text": "kms", "label": "crisis"}\n', encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "moderation", "eval", str(data)],
                          capture_output=True, text=True, cwd=root, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "confusion matrix" in proc.stdout
