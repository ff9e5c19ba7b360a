"""``python -m moderation classify`` / ``python -m moderation eval FILE``."""

from __future__ import annotations

import argparse
import sys

from moderation.cli import classify_stream, evaluate


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m moderation", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("classify", help="read {\"text\": ...} JSON lines on stdin, write verdicts on stdout")
    ev = sub.add_parser("eval", help="score a JSONL file of {\"text\", \"label\"} lines")
    ev.add_argument("file")
    args = parser.parse_args(argv)
    if args.command == "classify":
        return classify_stream(sys.stdin, sys.stdout)
    return evaluate(args.file, sys.stdout)


if __name__ == "__main__":
    sys.exit(main())
