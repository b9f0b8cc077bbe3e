"""``qa ask``: answer one question with cited passages, as text or as the API's JSON."""

from __future__ import annotations

import argparse
import json

from qa.cli.common import collection_arg, open_retriever, settings_args, settings_from


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("ask", help="answer one question")
    settings_args(p)
    p.add_argument("question")
    p.add_argument("-k", type=int, default=None, help="number of passages (default 5)")
    p.add_argument("--history", action="append", help="an earlier question (repeatable, oldest first)")
    p.add_argument("--json", action="store_true", help="print the answer as JSON")
    collection_arg(p)
    p.set_defaults(func=cmd_ask, parser=p)


def cmd_ask(args: argparse.Namespace) -> int:
    from qa.render import answer_json, plain_text

    settings = settings_from(args, k=args.k)
    retriever = open_retriever(settings, args.collection)
    answer = retriever.ask(args.question, k=args.k, history=args.history or ())
    if args.json:
        print(json.dumps(answer_json(answer, settings), ensure_ascii=False, indent=2))
    else:
        print(plain_text(answer, settings, scores=True), end="")
    return 0
