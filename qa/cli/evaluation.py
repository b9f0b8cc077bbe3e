"""``qa eval`` (answer a question file, score it, write the run) and ``qa compare`` (the gate)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from qa.cli.common import collection_arg, open_retriever, settings_args, settings_from

GATE_EXIT = 2
"""Exit status of ``qa eval --compare`` / ``qa compare`` when hit@k, false_abstain or abstain_ok
gets worse past the tolerance."""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("eval", help="answer a file of questions and score the run")
    settings_args(p)
    p.add_argument("questions", type=Path, help="questions file: .jsonl or .csv")
    p.add_argument(
        "--out", type=Path, help="write the run (JSONL) here, and what it was run with in OUT.meta.json"
    )
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
        help=f"allowed drop of hit@k or abstain_ok, or rise of false_abstain, before exit status {GATE_EXIT}",
    )
    collection_arg(p)
    p.set_defaults(func=cmd_eval, parser=p)

    p = sub.add_parser(
        "compare",
        help="compare two runs; exit 2 if hit@k, false_abstain or abstain_ok got worse past the tolerance",
    )
    p.add_argument("baseline", type=Path, help="the earlier run (JSONL from qa eval --out)")
    p.add_argument("run", type=Path, help="the new run")
    p.add_argument("-k", type=int, default=5, help="passages that count (default 5)")
    p.add_argument(
        "--tolerance",
        type=float,
        default=0.0,
        help="allowed drop of hit@k or abstain_ok, or rise of false_abstain (default 0)",
    )
    p.set_defaults(func=cmd_compare, parser=p)


def cmd_eval(args: argparse.Namespace) -> int:
    from qa.eval import (
        check_outputs,
        format_metrics,
        format_timing,
        found_nowhere,
        read_questions,
        read_run,
        run_eval,
        write_outputs,
    )

    settings = settings_from(args, k=args.k)
    targets = check_outputs(args.out, args.csv, args.report)
    questions, skipped = read_questions(args.questions)
    for row in skipped:
        print(f"warning: skipped {row}", file=sys.stderr)
    baseline = read_run(args.compare) if args.compare is not None else None
    retriever = open_retriever(settings, args.collection)
    warning = _out_of_date(settings)
    if warning:
        print(warning, file=sys.stderr)
    nowhere = found_nowhere(questions, (d.text for d in retriever.index.documents))
    if nowhere:
        many = len(nowhere) != 1
        listed = ", ".join(nowhere[:10]) + (" ..." if len(nowhere) > 10 else "")
        print(
            f"warning: the expected phrases of {len(nowhere):,} question{'s' if many else ''} occur in "
            f"no indexed document, so {'they' if many else 'it'} can never count as found (a document "
            f"removed or renamed, or a phrase mistyped): {listed}",
            file=sys.stderr,
        )
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
            collection=args.collection or "default",
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
        kept = (
            "the answers are in the files below"
            if targets
            else ("pass --out RUN.jsonl, --csv or --report to keep the answers")
        )
        print(f"no expected answers in the file, so nothing to score; {kept}")
    print(format_timing(run))
    for target in targets:
        print(f"wrote {target}")
    if baseline is not None:
        _other_collection(args.compare, args.collection or "default", "this run")
        return _gate(baseline, run.by_id, k=run.k, tolerance=args.tolerance)
    return 0


def _other_collection(baseline: Path, collection: str | None, run: str) -> None:
    """Warn when the baseline was run on another collection than ``collection`` (None: unknown):
    its questions would then be scored on other documents."""
    from qa.eval import run_collection

    was = run_collection(baseline)
    if was is not None and collection is not None and was != collection:
        print(
            f"warning: the baseline {baseline} was run on the collection {was!r}, {run} on {collection!r}",
            file=sys.stderr,
        )


def _out_of_date(settings) -> str:
    """A warning when the documents changed since the index was built: the run scores the index
    as built, which an evaluator who just edited a document may not expect."""
    from qa.errors import QAError
    from qa.index import check_sources

    try:
        reasons = check_sources(settings)
    except QAError:  # no documents to compare with (an index copied without them): nothing to say
        return ""
    if not reasons:
        return ""
    more = f"; and {len(reasons) - 3} more" if len(reasons) > 3 else ""
    return (
        f"warning: the documents changed since the index was built ({'; '.join(reasons[:3])}{more}); "
        "this run scores the index as built: run `qa index` first to score the documents as they are"
    )


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
    """Print what got better or worse; GATE_EXIT when hit@k dropped, or the bot declined more
    answerable or fewer unanswerable questions, by more than ``tolerance``."""
    from qa.eval import format_comparison, gate

    comparison = gate(baseline, current, k=k)
    print(format_comparison(comparison))
    regressions = comparison.regressions(tolerance)
    if regressions:
        print(f"qa: regression: {'; '.join(regressions)} (tolerance {tolerance})", file=sys.stderr)
        return GATE_EXIT
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from qa.eval import read_run, run_collection

    _other_collection(args.baseline, run_collection(args.run), str(args.run))
    return _gate(read_run(args.baseline), read_run(args.run), k=args.k, tolerance=args.tolerance)
