"""The ``qa`` command: ``index``, ``ask``, ``eval``, ``serve``.

Each subcommand turns library errors into a one-line message on stderr and exit status 1.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from .config import Settings
from .errors import QAError

__all__ = ["main"]

log = logging.getLogger("qa")


def _settings_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("settings (also QA_* environment variables)")
    g.add_argument("--root", type=Path, help="project root (default: current folder)")
    g.add_argument("--seeds-dir", type=Path, help="source documents folder (default: ROOT/seeds)")
    g.add_argument("--index-dir", type=Path, help="index folder (default: ROOT/embeddings)")
    g.add_argument("--model", help="embedding model name or directory")


def _settings(args: argparse.Namespace, **extra) -> Settings:
    return Settings.load(
        root=args.root, seeds_dir=args.seeds_dir, index_dir=args.index_dir, model=args.model, **extra
    )


def _progress_printer(label: str):
    if not sys.stderr.isatty():
        return None

    def show(done: int, total: int) -> None:
        sys.stderr.write(f"\r{label}: {done}/{total} windows")
        if done >= total:
            sys.stderr.write("\n")
        sys.stderr.flush()

    return show


def cmd_index(args: argparse.Namespace) -> int:
    from .embedding import SentenceTransformerEmbedder
    from .index import ensure_index

    settings = _settings(args)
    t0 = time.perf_counter()
    report = ensure_index(
        settings,
        SentenceTransformerEmbedder(settings.model),
        rebuild=args.rebuild,
        progress=_progress_printer("embedding"),
    )
    for message in report.skipped:
        print(f"warning: skipped {message}", file=sys.stderr)
    took = time.perf_counter() - t0
    n_docs, n_windows = len(report.index.documents), len(report.index)
    if report.status == "up to date":
        print(f"index is up to date: {n_docs} documents, {n_windows} windows ({took:.2f}s)")
    else:
        for reason in report.reasons:
            print(f"  {reason}", file=sys.stderr)
        print(
            f"index {report.status}: {n_docs} documents, {n_windows} windows "
            f"({report.embedded} embedded, {report.reused} reused) in {took:.1f}s"
        )
    return 0


def _open_retriever(settings: Settings):
    from .retrieval import Retriever

    return Retriever.open(settings)


def format_answer(answer) -> str:
    """Plain-text rendering of an answer for the terminal."""
    lines = []
    if answer.abstained:
        lines.append("The source does not seem to answer this. Closest passages:")
    for n, p in enumerate(answer.passages, 1):
        c = p.citation
        lines.append(f"[{n}] {c.title}, {c.word_range} (score {p.score:.2f})")
        if c.url:
            lines.append(f"    {c.url}")
        lines.append(f"    {c.source} [{c.start}:{c.end}]")
        lines.append(f"    highlight: \u201c{p.highlight_text}\u201d")
        lines.append(f"    {p.text}")
        lines.append("")
    return "\n".join(lines).rstrip()


def cmd_ask(args: argparse.Namespace) -> int:
    settings = _settings(args, k=args.k)
    retriever = _open_retriever(settings)
    answer = retriever.ask(args.question, k=args.k, history=args.history or ())
    if args.json:
        print(json.dumps(answer.to_dict(), ensure_ascii=False, indent=2))
    else:
        print(format_answer(answer))
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from .evaluation import read_questions, score, write_run

    settings = _settings(args, k=args.k)
    questions, problems = read_questions(args.questions)
    for message in problems:
        print(f"warning: {message}", file=sys.stderr)
    if not questions:
        raise QAError(f"no usable questions in {args.questions}")
    retriever = _open_retriever(settings)
    t0 = time.perf_counter()
    answers = retriever.ask_many([q.question for q in questions], k=settings.k)
    took = time.perf_counter() - t0
    rows = [{"id": q.id, **a.to_dict()} for q, a in zip(questions, answers)]
    if args.out:
        write_run(args.out, rows)
    metrics, _ = score(questions, {r["id"]: r for r in rows}, k=settings.k)
    for key, value in metrics.as_dict().items():
        print(f"{key}: {value}")
    print(f"questions/s: {len(questions) / took:.1f}")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from .server import serve

    origins = None
    if args.allowed_origins:
        origins = tuple(o.strip() for o in args.allowed_origins.split(",") if o.strip())
    serve(_settings(args, host=args.host, port=args.port, allowed_origins=origins, api_key=args.api_key))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="qa", description="Answer questions with cited passages from the documents in seeds/."
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("index", help="build or update the index of seeds/")
    _settings_args(p)
    p.add_argument("--rebuild", action="store_true", help="rebuild everything, even if up to date")
    p.set_defaults(func=cmd_index)

    p = sub.add_parser("ask", help="answer one question")
    _settings_args(p)
    p.add_argument("question")
    p.add_argument("-k", type=int, default=None, help="number of passages (default 5)")
    p.add_argument("--history", action="append", help="an earlier question (repeatable, oldest first)")
    p.add_argument("--json", action="store_true", help="print the answer as JSON")
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser("eval", help="answer a file of questions and score the run")
    _settings_args(p)
    p.add_argument("questions", type=Path, help="JSONL questions file")
    p.add_argument("--out", type=Path, help="write the run (JSONL) here")
    p.add_argument("-k", type=int, default=None, help="passages per question (default 5)")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("serve", help="start the chat UI and JSON API (builds the index if needed)")
    _settings_args(p)
    p.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, help="port (default 7860)")
    p.add_argument("--allowed-origins", help="comma-separated origins allowed to embed and call the API")
    p.add_argument("--api-key", help="bearer token the JSON API requires (prefer QA_API_KEY)")
    p.set_defaults(func=cmd_serve)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        return args.func(args)
    except QAError as exc:
        print(f"qa: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("qa: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
