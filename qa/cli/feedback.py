"""``qa feedback export``: the chat page's thumbs-down questions as question-file rows to review."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from qa.cli.common import settings_args, settings_from


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("feedback", help="work with the chat page's thumbs up/down")
    fsub = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    e = fsub.add_parser("export", help="thumbs-down questions as question-file rows to review")
    settings_args(e)
    e.add_argument("--out", type=Path, help="a .jsonl or .csv file (default: JSONL on stdout)")
    e.add_argument("--collection", help="only this collection's ratings (default: every collection's, mixed)")
    e.set_defaults(func=cmd_feedback_export, parser=e)


def cmd_feedback_export(args: argparse.Namespace) -> int:
    from qa.eval import check_review_path, review_jsonl, review_rows, write_question_rows
    from qa.feedback import read_feedback

    settings = settings_from(args)
    check_review_path(args.out)
    if not settings.feedback_path.exists():
        print(f"no feedback yet at {settings.feedback_path}", file=sys.stderr)
    records = read_feedback(settings.feedback_path)
    if args.collection:  # settings_from checked the name; qa eval --collection NAME runs the rows
        records = [r for r in records if r.collection == args.collection]
    rows = review_rows(records)
    if args.out is None:
        sys.stdout.write(review_jsonl(rows))
    else:
        write_question_rows(args.out, rows)
    where = f" written to {args.out}" if args.out else ""
    noun = "question" if len(rows) == 1 else "questions"
    print(f"{len(rows):,} thumbs-down {noun} to review{where}", file=sys.stderr)
    return 0
