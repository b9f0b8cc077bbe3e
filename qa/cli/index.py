"""``qa index``: build or update the index, saying what was embedded and what was reused."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from qa.cli.common import collection_arg, project, settings_args, settings_from


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("index", help="build or update the index of seeds/")
    settings_args(p)
    p.add_argument("--rebuild", action="store_true", help="rebuild everything, even if up to date")
    collection_arg(p)
    p.set_defaults(func=cmd_index, parser=p)


def cmd_index(args: argparse.Namespace) -> int:
    from qa.embedders.base import make_embedder, resolve_model_path
    from qa.errors import BuildStoppedError
    from qa.index.build import ensure_index
    from qa.index.progress import ProgressPrinter
    from qa.index.stopping import withdraw_stop

    settings = settings_from(args)
    resolve_model_path(settings.model)  # a bad model path is the one line, before any progress
    t0 = time.perf_counter()
    printer = ProgressPrinter(sys.stderr)  # a bar on a terminal, else plain lines
    try:
        with _terminate_as_interrupt(), project(settings):
            withdraw_stop(settings.index_dir)  # a new build is asked for: an earlier stop is past
            report = ensure_index(
                settings,
                make_embedder(settings),
                rebuild=args.rebuild,
                stages=printer,
                why=lambda said: print("\n".join(f"  {line}" for line in said), file=sys.stderr, flush=True),
            )
    except (KeyboardInterrupt, BuildStoppedError) as exc:  # Ctrl-C, or a stop asked for elsewhere
        printer.close()
        print(f"qa: {stopped_words(settings.index_dir)}", file=sys.stderr)
        if isinstance(exc, _Terminated):
            return 128 + signal.SIGTERM
        return 130 if isinstance(exc, KeyboardInterrupt) else 1
    for message in report.skipped:
        print(f"warning: skipped {message}", file=sys.stderr)
    took = time.perf_counter() - t0
    n_docs, n_windows = len(report.index.documents), len(report.index)
    counts = f"{n_docs:,} document{'' if n_docs == 1 else 's'}, {n_windows:,} windows"
    if report.status == "up to date":
        print(f"index is up to date: {counts} ({took:.2f}s)")
    else:
        print(
            f"index {report.status}: {counts} "
            f"({report.embedded:,} embedded, {report.reused:,} reused) in {took:.1f}s"
        )
    return 0


class _Terminated(KeyboardInterrupt):
    """SIGTERM: a service or container stopping, ``timeout``, a cancelled CI job."""


def _raise_terminated(signum, frame) -> None:
    raise _Terminated


@contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM stops the build as Ctrl-C does (nothing of it written, the lock and the progress
    note cleared, a line saying so) instead of ending the process where it stands, silently and
    leaving the build's progress note behind."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    before = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, before)


def stopped_words(index_dir) -> str:
    """What a stopped build leaves, in words: nothing written, and which index still answers."""
    from qa.index.stopping import stopped

    record = stopped(index_dir)
    if record is None:  # stopped before it took the build lock: it had not begun
        return "index build stopped before it began; nothing was written"
    kept = (
        f"the index built {record.answering} is kept and still answers"
        if record.answering
        else "there is still no index"
    )
    return f"index build stopped; nothing of it was written, {kept}"
