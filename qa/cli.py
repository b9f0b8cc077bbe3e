"""The ``qa`` command: ``index``, ``ask``, ``eval``, ``compare``, ``feedback``, ``serve``.

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

from qa.config import Settings
from qa.errors import QAError

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
    return Settings.load(
        root=args.root,
        seeds_dir=args.seeds_dir,
        index_dir=args.index_dir,
        model=args.model,
        vector_store=getattr(args, "vector_store", None),
        **extra,
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
    from qa.embedders.base import make_embedder
    from qa.index.core import ensure_index

    settings = _settings(args)
    t0 = time.perf_counter()
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


def _open_retriever(settings: Settings):
    from qa.retrieval.retriever import Retriever

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


GATE_EXIT = 2
"""Exit status of ``qa eval --compare`` / ``qa compare`` when hit@k drops past the tolerance."""


def cmd_eval(args: argparse.Namespace) -> int:
    from qa.eval.evaluation import (
        format_metrics,
        read_questions,
        run_rows,
        score,
        write_results_csv,
        write_run,
    )

    settings = _settings(args, k=args.k)
    k = settings.k
    if args.batch < 1:
        raise QAError("--batch must be at least 1")
    targets = [t for t in (args.out, args.csv, args.report) if t is not None]
    for target in targets:
        if not target.parent.is_dir():
            raise QAError(f"cannot write {target}: the folder {target.parent} does not exist")
    questions, problems = read_questions(args.questions)
    for message in problems:
        print(f"warning: skipped {message}", file=sys.stderr)
    if not questions:
        raise QAError(f"no usable questions in {args.questions}")
    baseline = _read_baseline(args.compare)
    t_load = time.perf_counter()
    retriever = _open_retriever(settings)
    retriever.warm_up()
    load_s = time.perf_counter() - t_load
    bar = _progress(len(questions), quiet=args.quiet)
    answers = []
    t0 = time.perf_counter()
    try:
        for i in range(0, len(questions), args.batch):
            batch = questions[i : i + args.batch]
            answers += retriever.ask_many([q.question for q in batch], k=k)
            bar.update(len(batch))
    finally:
        bar.close()
    took = max(time.perf_counter() - t0, 1e-9)
    rate = len(questions) / took
    rows = run_rows(questions, answers, k)

    def source_text(source: str) -> str | None:
        try:
            return retriever.index.document(source).text
        except KeyError:
            return None

    metrics, _ = score(questions, {r["id"]: r for r in rows}, k=k, source_text=source_text)
    scored = any(q.has_expectation for q in questions)
    meta = _run_meta(args, settings, retriever, len(questions), problems)
    meta["metrics"] = metrics.as_dict() if scored else None
    meta["timing"] = {
        "load_s": round(load_s, 3),
        "answer_s": round(took, 3),
        "questions_per_s": round(rate, 1),
        "batch": args.batch,
    }
    if args.out:
        write_run(args.out, rows, meta)
    if args.csv:
        write_results_csv(args.csv, rows, k=k)
    if args.report:
        from qa.eval.report import write_report

        write_report(
            args.report,
            rows,
            metrics.as_dict() if scored else None,
            k=k,
            meta=meta,
            title=f"Evaluation of {args.questions.name}",
        )
    if scored:
        print(format_metrics(metrics))
    else:
        print("no expected answers in the file: answers written, nothing to score")
    print(
        f"{len(questions)} questions answered in {took:.2f} s: {rate:.1f} questions/s "
        f"(after loading and warming the model and index in {load_s:.2f} s)"
    )
    for target in targets:
        print(f"wrote {target}")
    if baseline is not None:
        return _gate(baseline, {r["id"]: r for r in rows}, k=k, tolerance=args.tolerance)
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


def _run_meta(args, settings: Settings, retriever, n: int, problems: list[str]) -> dict:
    """What a run was made with, to reproduce it: settings, index build, source hashes, versions."""
    from datetime import datetime, timezone
    from importlib import metadata

    m = retriever.index.manifest
    keep = (
        "k",
        "mode",
        "dense_weight",
        "window_sizes",
        "passage_words",
        "shaping",
        "abstain_threshold",
        "unknown_name_threshold",
        "backend",
        "model",
    )
    try:
        version = metadata.version("qa")
    except metadata.PackageNotFoundError:
        from . import __version__ as version
    return {
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "questions_file": str(args.questions),
        "questions": n,
        "skipped_rows": problems,
        "settings": {key: getattr(settings, key) for key in keep},
        "index": {"built_at": m.built_at, "sources": m.sources, "faiss_index": m.faiss_index},
        "qa_version": version,
        "python": sys.version.split()[0],
        "model": m.model,
    }


def _read_baseline(path: Path | None):
    if path is None:
        return None
    from qa.eval.evaluation import read_run

    return read_run(path)


def _gate(baseline: dict, current: dict, *, k: int, tolerance: float) -> int:
    """Print what got better or worse; GATE_EXIT when hit@k dropped by more than ``tolerance``."""
    from qa.eval.evaluation import compare_runs

    c = compare_runs(baseline, current, k=k)
    if not c.compared and not c.better and not c.worse:
        raise QAError(
            "no question with expected answers is in both runs; compare runs written by "
            "`qa eval --out` from question files with expected phrases"
        )
    print(f"compared {c.compared} answerable questions: hit@{k} {c.hit_a} -> {c.hit_b}")
    for what, ids in (("only in the baseline", c.only_a), ("only in the new run", c.only_b)):
        if ids:
            print(f"{what} (not compared): {', '.join(ids[:10])}{' ...' if len(ids) > 10 else ''}")
    for title, items in (("better", c.better), ("worse", c.worse)):
        print(f"{title}: {len(items)}")
        for qid, question, change in items:
            print(f"  {qid}: {change}  {question[:80]}")
    if c.drop > tolerance:
        print(f"qa: regression: hit@{k} dropped by {c.drop} (tolerance {tolerance})", file=sys.stderr)
        return GATE_EXIT
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from qa.eval.evaluation import read_run

    return _gate(read_run(args.baseline), read_run(args.run), k=args.k, tolerance=args.tolerance)


def cmd_feedback_export(args: argparse.Namespace) -> int:
    from qa.eval.evaluation import review_rows, write_question_rows
    from qa.feedback import read_feedback

    settings = _settings(args)
    if args.out is not None and args.out.suffix.lower() not in (".jsonl", ".ndjson", ".csv"):
        raise QAError(f"{args.out}: export to a .jsonl or .csv file")
    if not settings.feedback_path.exists():
        print(f"no feedback yet at {settings.feedback_path}", file=sys.stderr)
    rows = review_rows(read_feedback(settings.feedback_path))
    if args.out is None:
        for row in rows:
            print(json.dumps(row, ensure_ascii=False))
    else:
        write_question_rows(args.out, rows)
    where = f" written to {args.out}" if args.out else ""
    print(f"{len(rows)} thumbs-down questions to review{where}", file=sys.stderr)
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
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
    serve(settings)
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
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("compare", help="compare two runs; exit 2 if hit@k dropped past the tolerance")
    p.add_argument("baseline", type=Path, help="the earlier run (JSONL from qa eval --out)")
    p.add_argument("run", type=Path, help="the new run")
    p.add_argument("-k", type=int, default=5, help="passages that count (default 5)")
    p.add_argument("--tolerance", type=float, default=0.0, help="allowed hit@k drop (default 0)")
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser("feedback", help="work with the chat page's thumbs up/down")
    fsub = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    e = fsub.add_parser("export", help="thumbs-down questions as question-file rows to review")
    _settings_args(e)
    e.add_argument("--out", type=Path, help="a .jsonl or .csv file (default: JSONL on stdout)")
    e.set_defaults(func=cmd_feedback_export)

    p = sub.add_parser("serve", help="start the chat UI and JSON API (builds the index if needed)")
    _settings_args(p)
    p.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, help="port (default 7860)")
    p.add_argument("--allowed-origins", help="comma-separated origins allowed to embed and call the API")
    p.add_argument("--api-key", help="bearer token the JSON API requires (prefer QA_API_KEY)")
    p.add_argument("--rate-limit", type=int, help="API requests per minute per client (default 60)")
    p.add_argument("--workers", type=int, help="server processes sharing the port (default 1)")
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
    except BrokenPipeError:  # output piped into `head` and closed early
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
