"""The ``qa`` entry point: build the parser from each command group, parse, run, and turn
library errors into a one-line message on stderr with exit status 1."""

from __future__ import annotations

import argparse
import difflib
import logging
import os
import sys
from collections.abc import Sequence

from qa.cli import ask, evaluation, feedback, index, lti, serve
from qa.errors import QAError, UnknownCollectionError

__all__ = ["build_parser", "main"]

COMMANDS = (index, ask, evaluation, feedback, serve, lti)
"""The command groups, in the order ``qa --help`` lists them; each has ``register(subparsers)``."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="qa", description="Answer questions with cited passages from the documents in seeds/."
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in COMMANDS:
        group.register(sub)
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


def show_progress(command: str) -> None:
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
        show_progress(args.command)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        return args.func(args)
    except QAError as exc:
        known = exc.names if isinstance(exc, UnknownCollectionError) else ()
        listed = f"; the collections are: {', '.join(known)}" if known else ""
        print(f"qa: error: {exc}{listed}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("qa: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into `head` and closed early
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
