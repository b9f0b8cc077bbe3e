"""The ``qa`` command: ``index``, ``ask``, ``eval``, ``compare``, ``feedback``, ``serve``, ``lti``.

Each subcommand turns library errors into a one-line message on stderr and exit status 1. A
mistyped option gets the subcommand's usage and the closest option; a missing index or missing
documents say where they were looked for and how to point elsewhere (``--root``, ``QA_ROOT``).
"""

from __future__ import annotations

import argparse
import difflib
import json
import logging
import os
import shutil
import socket
import sys
import time
from collections.abc import Sequence
from contextlib import contextmanager
from pathlib import Path

from qa.config import Settings
from qa.errors import IndexMissingError, NoSourcesError, QAError

__all__ = ["main"]

log = logging.getLogger("qa")


def _settings_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("settings (also QA_* environment variables)")
    g.add_argument("--root", type=Path, help="project root (default: current folder)")
    g.add_argument("--seeds-dir", type=Path, help="source documents folder (default: ROOT/seeds)")
    g.add_argument("--index-dir", type=Path, help="index folder (default: ROOT/embeddings)")
    g.add_argument("--model", help="embedding model name or directory")
    g.add_argument(
        "--vector-store", help="faiss (default), a Milvus Lite file (.db) or a Milvus URL http(s)://host:port"
    )


def _settings(args: argparse.Namespace, **extra) -> Settings:
    settings = Settings.load(
        root=args.root,
        seeds_dir=args.seeds_dir,
        index_dir=args.index_dir,
        model=args.model,
        vector_store=getattr(args, "vector_store", None),
        **extra,
    )
    if getattr(args, "collection", None):
        from qa.index.collections import collection_settings

        settings = collection_settings(settings, args.collection)
    return settings


def _collection_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--collection", help="a collection other than the default (its documents in seeds/NAME/)")


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
    from qa.embedders.base import make_embedder, resolve_model_path
    from qa.index.core import ensure_index

    settings = _settings(args)
    resolve_model_path(settings.model)  # a bad model path is the one line, before any progress
    t0 = time.perf_counter()
    with _project(settings):
        report = ensure_index(
            settings,
            make_embedder(settings),
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


WHERE_HINT = "run qa from the project folder, or pass --root DIR or set QA_ROOT"


@contextmanager
def _project(settings: Settings):
    """Say where a missing index or missing documents were looked for, and leave no empty
    index folder behind when nothing could be built."""
    existed = settings.index_dir.exists()
    try:
        yield
    except (IndexMissingError, NoSourcesError) as exc:
        if not existed and settings.index_dir.is_dir():
            leftovers = {p.name for p in settings.index_dir.iterdir()}
            if leftovers <= {".lock"}:
                shutil.rmtree(settings.index_dir, ignore_errors=True)
        raise type(exc)(f"{exc} (project root: {settings.root}; {WHERE_HINT})") from None


def _open_retriever(settings: Settings):
    from qa.retrieval.retriever import Retriever

    with _project(settings):
        return Retriever.open(settings)


def cmd_ask(args: argparse.Namespace) -> int:
    from qa.render import answer_json, plain_text

    settings = _settings(args, k=args.k)
    retriever = _open_retriever(settings)
    answer = retriever.ask(args.question, k=args.k, history=args.history or ())
    if args.json:
        print(json.dumps(answer_json(answer, settings), ensure_ascii=False, indent=2))
    else:
        print(plain_text(answer, settings, scores=True), end="")
    return 0


GATE_EXIT = 2
"""Exit status of ``qa eval --compare`` / ``qa compare`` when hit@k drops past the tolerance."""


def cmd_eval(args: argparse.Namespace) -> int:
    from qa.eval import (
        check_outputs,
        format_metrics,
        format_timing,
        read_questions,
        read_run,
        run_eval,
        write_outputs,
    )

    settings = _settings(args, k=args.k)
    targets = check_outputs(args.out, args.csv, args.report)
    questions, skipped = read_questions(args.questions)
    for row in skipped:
        print(f"warning: skipped {row}", file=sys.stderr)
    baseline = read_run(args.compare) if args.compare is not None else None
    retriever = _open_retriever(settings)
    bar = _progress(len(questions), quiet=args.quiet)
    try:
        run = run_eval(
            retriever,
            questions,
            k=settings.k,
            batch=args.batch,
            progress=bar.update,
            questions_file=args.questions,
            skipped=skipped,
        )
    finally:
        bar.close()
    for row in run.skipped[len(skipped) :]:  # questions the retriever refused
        print(f"warning: skipped {row}", file=sys.stderr)
    title = f"Evaluation of {args.questions.name}"
    write_outputs(run, out=args.out, csv=args.csv, report=args.report, title=title)
    if run.metrics is not None:
        print(format_metrics(run.metrics))
    else:
        print("no expected answers in the file: answers written, nothing to score")
    print(format_timing(run))
    for target in targets:
        print(f"wrote {target}")
    if baseline is not None:
        return _gate(baseline, run.by_id, k=run.k, tolerance=args.tolerance)
    return 0


def _progress(total: int, *, quiet: bool):
    from tqdm import tqdm

    return tqdm(
        total=total,
        unit="q",
        desc="answering",
        file=sys.stderr,
        disable=quiet or not sys.stderr.isatty(),
        leave=False,
    )


def _gate(baseline: dict, current: dict, *, k: int, tolerance: float) -> int:
    """Print what got better or worse; GATE_EXIT when hit@k dropped by more than ``tolerance``."""
    from qa.eval import format_comparison, gate

    comparison = gate(baseline, current, k=k)
    print(format_comparison(comparison))
    if comparison.regressed(tolerance):
        print(
            f"qa: regression: hit@{k} dropped by {comparison.drop} (tolerance {tolerance})", file=sys.stderr
        )
        return GATE_EXIT
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from qa.eval import read_run

    return _gate(read_run(args.baseline), read_run(args.run), k=args.k, tolerance=args.tolerance)


def cmd_feedback_export(args: argparse.Namespace) -> int:
    from qa.eval import check_review_path, review_jsonl, review_rows, write_question_rows
    from qa.feedback import read_feedback

    settings = _settings(args)
    check_review_path(args.out)
    if not settings.feedback_path.exists():
        print(f"no feedback yet at {settings.feedback_path}", file=sys.stderr)
    rows = review_rows(read_feedback(settings.feedback_path))
    if args.out is None:
        sys.stdout.write(review_jsonl(rows))
    else:
        write_question_rows(args.out, rows)
    where = f" written to {args.out}" if args.out else ""
    print(f"{len(rows)} thumbs-down questions to review{where}", file=sys.stderr)
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from qa.embedders.base import resolve_model_path
    from qa.web.server import serve

    origins = None
    if args.allowed_origins:
        origins = tuple(o.strip() for o in args.allowed_origins.split(",") if o.strip())
    settings = _settings(
        args,
        host=args.host,
        port=args.port,
        allowed_origins=origins,
        api_key=args.api_key,
        rate_limit=args.rate_limit,
        workers=args.workers,
    )
    check_port(settings.host, settings.port)
    resolve_model_path(settings.model)
    with _project(settings):
        serve(settings)
    return 0


def cmd_lti(args: argparse.Namespace) -> int:
    from qa.web.lti.command import run_lti

    print(run_lti(_settings(args, public_url=args.url), as_json=args.json))
    return 0


def check_port(host: str, port: int) -> None:
    """Refuse a port another process listens on, before loading anything or claiming to serve."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise QAError(f"cannot listen on {host}: {exc.strerror}; pass another --host") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
        try:
            probe.bind(address)
        except OSError as exc:
            raise QAError(
                f"cannot serve on http://{host}:{port}: {exc.strerror.lower()}; "
                "stop the other server or pick another port with --port or QA_PORT"
            ) from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="qa", description="Answer questions with cited passages from the documents in seeds/."
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("index", help="build or update the index of seeds/")
    _settings_args(p)
    p.add_argument("--rebuild", action="store_true", help="rebuild everything, even if up to date")
    _collection_arg(p)
    p.set_defaults(func=cmd_index, parser=p)

    p = sub.add_parser("ask", help="answer one question")
    _settings_args(p)
    p.add_argument("question")
    p.add_argument("-k", type=int, default=None, help="number of passages (default 5)")
    p.add_argument("--history", action="append", help="an earlier question (repeatable, oldest first)")
    p.add_argument("--json", action="store_true", help="print the answer as JSON")
    _collection_arg(p)
    p.set_defaults(func=cmd_ask, parser=p)

    p = sub.add_parser("eval", help="answer a file of questions and score the run")
    _settings_args(p)
    p.add_argument("questions", type=Path, help="questions file: .jsonl or .csv")
    p.add_argument("--out", type=Path, help="write the run (JSONL, plus RUN.meta.json) here")
    p.add_argument("--csv", type=Path, help="write one row per question (CSV) here")
    p.add_argument("--report", type=Path, help="write a self-contained HTML report here")
    p.add_argument("-k", type=int, default=None, help="passages per question (default 5)")
    p.add_argument("--batch", type=int, default=64, help="questions encoded together (default 64)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--compare", type=Path, metavar="BASELINE", help="a previous run to compare with")
    p.add_argument(
        "--tolerance",
        type=float,
        default=0.0,
        help=f"allowed hit@k drop against --compare before exiting with status {GATE_EXIT}",
    )
    _collection_arg(p)
    p.set_defaults(func=cmd_eval, parser=p)

    p = sub.add_parser("compare", help="compare two runs; exit 2 if hit@k dropped past the tolerance")
    p.add_argument("baseline", type=Path, help="the earlier run (JSONL from qa eval --out)")
    p.add_argument("run", type=Path, help="the new run")
    p.add_argument("-k", type=int, default=5, help="passages that count (default 5)")
    p.add_argument("--tolerance", type=float, default=0.0, help="allowed hit@k drop (default 0)")
    p.set_defaults(func=cmd_compare, parser=p)

    p = sub.add_parser("feedback", help="work with the chat page's thumbs up/down")
    fsub = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    e = fsub.add_parser("export", help="thumbs-down questions as question-file rows to review")
    _settings_args(e)
    e.add_argument("--out", type=Path, help="a .jsonl or .csv file (default: JSONL on stdout)")
    e.set_defaults(func=cmd_feedback_export, parser=e)

    p = sub.add_parser("serve", help="start the chat UI and JSON API (builds the index if needed)")
    _settings_args(p)
    p.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, help="port (default 7860)")
    p.add_argument("--allowed-origins", help="comma-separated origins allowed to embed and call the API")
    p.add_argument("--api-key", help="bearer token the JSON API requires (prefer QA_API_KEY)")
    p.add_argument("--rate-limit", type=int, help="API requests per minute per client (default 60)")
    p.add_argument("--workers", type=int, help="server processes sharing the port (default 1)")
    p.set_defaults(func=cmd_serve, parser=p)

    p = sub.add_parser("lti", help="set up the LTI 1.3 tool; print what an LMS administrator pastes in")
    _settings_args(p)
    p.add_argument("--url", help="the server's public address, e.g. https://qa.example.edu (QA_PUBLIC_URL)")
    p.add_argument("--json", action="store_true", help="print the configuration as JSON")
    p.set_defaults(func=cmd_lti, parser=p)
    return parser


def _closest_option(parser: argparse.ArgumentParser, word: str) -> str:
    options = [s for action in parser._actions for s in action.option_strings]
    if not word.startswith("-"):
        return ""
    match = difflib.get_close_matches(word.split("=")[0], options, n=1, cutoff=0.5)
    return f"; did you mean {match[0]}?" if match else ""


def _parse(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse ``argv``; an unknown option is reported with its subcommand's usage (exit status 2)."""
    args, extras = parser.parse_known_args(argv)
    if extras:
        sub = getattr(args, "parser", parser)
        hint = next((h for h in (_closest_option(sub, w) for w in extras) if h), "")
        sub.error(f"unrecognized arguments: {' '.join(extras)}{hint}")
    return args


class _Say(logging.Handler):
    """Log records as plain lines on the current stderr ("exporting ... to ONNX in ... ...")."""

    def emit(self, record: logging.LogRecord) -> None:
        print(f"{record.getMessage()} ...", file=sys.stderr, flush=True)


def _show_progress(command: str) -> None:
    """``index`` and ``serve`` say what they do while the model is loaded or exported (seconds)."""
    if command not in ("index", "serve"):
        return
    logger = logging.getLogger("qa.embedders")
    logger.setLevel(logging.INFO)
    logger.propagate = False
    if not any(isinstance(h, _Say) for h in logger.handlers):
        logger.addHandler(_Say())


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = _parse(parser, argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    if not args.verbose:
        _show_progress(args.command)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        return args.func(args)
    except QAError as exc:
        print(f"qa: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("qa: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into `head` and closed early
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
