"""The chat page's HTML: the user's question shown literally, an answer with its copy button,
and a passage in its context. The answer itself is made by :mod:`qa.render`; this adds what
only the chat page shows around it."""

from __future__ import annotations

import html
import re
from collections.abc import Sequence

from qa.answer import Answer
from qa.config import Settings
from qa.render import SEE_IN_CONTEXT, answer_html, escape, marked_html, plain_text
from qa.retrieval.context import Context

__all__ = ["question_text", "render_answer", "render_context", "render_question"]


def _verbatim(s: str) -> str:
    """Escaped text with newlines as character references, so they survive without a blank line."""
    return escape(s).replace("<br>", "&#10;").replace("'", "&#x27;")


_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#!|~$@]|(?<=\w):(?=//)|(?<=www)\.)", re.IGNORECASE)
_LINE_START = re.compile(r"^(\s*)(\d+)?([.+\-=])", re.MULTILINE)
_ESCAPED = re.compile(r"\\([\\`*_{}\[\]()#!|~$@:.+\-=])")


def render_question(question: str) -> str:
    """The user's message shown literally: Markdown characters backslash-escaped and HTML
    characters as entities, so nothing the user typed becomes emphasis, a link, a tag or maths.
    An ordinary question is unchanged, so the chat's edit box shows it as typed."""
    text = question.replace("\r", "").replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _MARKDOWN.sub(r"\\\1", text)
    return _LINE_START.sub(lambda m: f"{m.group(1)}{m.group(2) or ''}\\{m.group(3)}", text)


def question_text(shown: str) -> str:
    """The question back from :func:`render_question`'s form (the text of an edited message)."""
    return html.unescape(_ESCAPED.sub(r"\1", shown))


def render_context(ctx: Context, *, at_end: bool = False, declined: bool = False) -> str:
    """The passage in its surroundings: the passage shaded and the answer span marked, folded."""
    hs = ctx.highlight_start if ctx.highlight_start is not None and not declined else ctx.start
    he = ctx.highlight_end if ctx.highlight_end is not None and not declined else ctx.start
    lead = "… " if ctx.window_start > 0 else ""
    tail = "" if at_end else " …"
    window = (
        f"{lead}{escape(ctx.before)}<span class='qa-in'>{marked_html(ctx.passage, ctx.start, hs, he)}</span>"
        f"{escape(ctx.after)}{tail}"
    )
    legend = "The passage is shaded" + ("." if declined else "; the answer span is <mark>marked</mark>.")
    return (
        f"<details class='qa-context'><summary>{SEE_IN_CONTEXT}</summary>"
        f"<div class='qa-legend'>{legend}</div>"
        f"<div class='qa-window'>{window}</div></details>"
    )


def render_answer(
    answer: Answer,
    contexts: Sequence[str] | None = None,
    settings: Settings | None = None,
    stale: frozenset[str] | set[str] = frozenset(),
) -> str:
    """The answer as one HTML block, with a copy button and the plain text it copies; passages
    of the ``stale`` sources (changed on disk since indexing) say so."""
    tools = (
        "<div class='qa-tools'><button type='button' class='qa-copy'>Copy answer</button>"
        f"<div class='qa-plain'>{_verbatim(plain_text(answer, settings, technical=False))}</div></div>"
    )
    return answer_html(answer, contexts, settings=settings, tools=tools, stale=stale)
