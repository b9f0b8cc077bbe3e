"""The Gradio chat page: a conversation whose answers are cited passages.

Each answer shows the highlighted span first, then the top passages with numbered citations
(title, word range, link to the original) and the passage in its context, folded. Follow-up
questions are resolved by the retriever from the conversation's earlier questions. Thumbs up
and down go to the feedback file with the passages that were shown.

The HTML of answers is made by plain functions (:func:`render_answer`, :func:`render_question`)
that escape everything coming from a user or a document, so they are tested without a browser.
"""

from __future__ import annotations

import html
import logging
from typing import Any

from .answer import Answer, Passage
from .config import Settings
from .context import Context, passage_context
from .errors import QAError
from .feedback import FeedbackRecord, append_feedback, passages_shown
from .retrieval import Retriever

__all__ = ["CSS", "EXAMPLES", "build_ui", "render_answer", "render_question"]

log = logging.getLogger(__name__)

EXAMPLES = (
    "What is human trafficking?",
    "What is debt bondage?",
    "How many people are victims of trafficking?",
    "What does the Palermo Protocol require?",
)

CSS = """

.qa-q { margin: 0; white-space: pre-wrap; overflow-wrap: anywhere; }
.qa-answer { line-height: 1.5; overflow-wrap: anywhere; }
.qa-span { border-left: 4px solid var(--color-accent); margin: 0 0 .6em; padding: .2em .8em;
  font-weight: 600; }
.qa-abstain { font-weight: 600; margin: 0 0 .5em; }
.qa-passages { margin: 0; padding-left: 0; list-style: none; }
.qa-passage { border: 1px solid var(--border-color-primary); border-radius: 8px;
  padding: .5em .7em; margin: .5em 0; }
.qa-cite { font-size: .88em; opacity: .85; margin-bottom: .25em; }
.qa-answer mark { background: #ffe58a; color: #1d2330; padding: 0 .1em; }
.qa-context summary, .qa-closest summary { cursor: pointer; font-size: .88em; margin-top: .3em; }
.qa-context .qa-in { background: rgba(36, 85, 195, .13); }
.qa-context p { font-size: .93em; max-height: 18em; overflow-y: auto; }
#qa-title h1 { margin-bottom: 0; }
@media (max-width: 480px) { .qa-passage { padding: .4em .5em; } }
"""


def render_question(question: str) -> str:
    """The user's message shown literally: escaped inside an HTML block, which Markdown leaves
    alone (no emphasis, links or autolinks made from what the user typed)."""
    return f"<p class='qa-q'>{_text(question)}</p>"


def _text(s: str) -> str:
    return html.escape(s).replace("\n", "<br>")


def _marked(text: str, offset: int, start: int, end: int) -> str:
    """``text`` (starting at source offset ``offset``) with ``[start, end)`` in ``<mark>``."""
    a = max(0, min(len(text), start - offset))
    b = max(a, min(len(text), end - offset))
    middle = f"<mark>{_text(text[a:b])}</mark>" if b > a else ""
    return _text(text[:a]) + middle + _text(text[b:])


def _context_html(ctx: Context) -> str:
    hs = ctx.highlight_start if ctx.highlight_start is not None else ctx.start
    he = ctx.highlight_end if ctx.highlight_end is not None else ctx.start
    lead = "… " if ctx.window_start > 0 else ""
    return (
        f"{lead}{_text(ctx.before)}<span class='qa-in'>{_marked(ctx.passage, ctx.start, hs, he)}</span>"
        f"{_text(ctx.after)} …"
    )


def _passage_html(number: int, p: Passage, context: Context | None) -> str:
    c = p.citation
    link = ""
    if c.url.startswith(("https://", "http://")):
        link = f" · <a href='{html.escape(c.url)}' target='_blank' rel='noopener noreferrer'>original</a>"
    cite = (
        f"<div class='qa-cite'>[{number}] <strong>{html.escape(c.title)}</strong> · "
        f"{html.escape(c.word_range)} · <code>{html.escape(c.source)}</code>{link}</div>"
    )
    body = f"<p>{_marked(p.text, c.start, p.highlight.start, p.highlight.end)}</p>"
    more = ""
    if context is not None:
        more = (
            "<details class='qa-context'><summary>See in context</summary>"
            f"<p>{_context_html(context)}</p></details>"
        )
    return f"<li class='qa-passage'>{cite}{body}{more}</li>"


def render_answer(answer: Answer, contexts: list[Context | None] | None = None) -> str:
    """The answer as one HTML block (no blank lines, so Markdown leaves it alone)."""
    contexts = contexts or [None] * len(answer.passages)
    parts = ["<div class='qa-answer'>"]
    if answer.abstained:
        parts.append(
            "<p class='qa-abstain'>The documents do not seem to answer this question."
            + (" The closest passages are below." if answer.passages else "")
            + "</p>"
        )
    elif answer.passages:
        parts.append(f"<blockquote class='qa-span'>{_text(answer.passages[0].highlight_text)}</blockquote>")
    if answer.passages:
        items = "".join(_passage_html(i + 1, p, c) for i, (p, c) in enumerate(zip(answer.passages, contexts)))
        passages = f"<ol class='qa-passages'>{items}</ol>"
        if answer.abstained:  # closest matches, folded: they are not an answer
            passages = f"<details class='qa-closest'><summary>Closest passages</summary>{passages}</details>"
        parts.append(passages)
    parts.append("</div>")
    return "".join(parts)


class ChatSession:
    """What one browser tab's conversation needs: the retriever, the settings, and its records."""

    def __init__(self, retriever: Retriever, settings: Settings) -> None:
        self.retriever = retriever
        self.settings = settings

    def respond(
        self, question: str, messages: list[dict], records: dict[int, dict], k: int
    ) -> tuple[list[dict], dict[int, dict], str]:
        """Answer ``question``; returns the new messages, records (by message index), and ''."""
        if not (question or "").strip():
            raise QAError("Please type a question about the course documents first.")
        messages = list(messages or [])
        records = dict(records or {})
        previous = [r["question"] for _, r in sorted(records.items())]
        answer = self.retriever.ask(question, k=int(k), history=previous)
        contexts = [self._context(p) for p in answer.passages]
        messages.append({"role": "user", "content": render_question(answer.question)})
        messages.append({"role": "assistant", "content": render_answer(answer, contexts)})
        records[len(messages) - 1] = {
            "question": answer.question,
            "query": answer.query,
            "abstained": answer.abstained,
            "passages": passages_shown(answer.passages),
        }
        return messages, records, ""

    def _context(self, p: Passage) -> Context | None:
        try:
            return passage_context(
                self.retriever.index,
                p.source,
                p.start,
                p.end,
                words=self.settings.context_words,
                highlight=(p.highlight.start, p.highlight.end),
            )
        except QAError:
            return None

    def rate(self, index: int, liked: Any, records: dict[int, dict]) -> str | None:
        """Store a thumbs up/down for the answer at message ``index``; returns the rating."""
        record = (records or {}).get(index)
        if record is None or liked is None:
            return None
        rating = "up" if liked is True or str(liked).lower() in ("like", "true") else "down"
        append_feedback(self.settings.feedback_path, FeedbackRecord(rating=rating, **record))
        return rating


def build_ui(retriever: Retriever, settings: Settings):
    """The chat page as a ``gr.Blocks`` (mounted at ``/`` by :mod:`qa.server`)."""
    import gradio as gr

    session = ChatSession(retriever, settings)

    def respond(question, messages, records, k):
        try:
            return session.respond(question, messages, records, k)
        except QAError as exc:
            raise gr.Error(str(exc), title="Cannot answer") from None

    def rate(records, data: gr.LikeData):
        index = data.index[0] if isinstance(data.index, (list, tuple)) else data.index
        try:
            rating = session.rate(int(index), data.liked, records)
        except QAError as exc:
            raise gr.Error(str(exc)) from None
        if rating:
            gr.Info("Thanks, your feedback was saved.")

    rate.__annotations__["data"] = gr.LikeData  # a real class: Gradio injects the event data by type

    with gr.Blocks(title="Ask the course documents", fill_height=True) as demo:
        gr.Markdown(
            "# Ask the course documents\n"
            "Every answer is a passage quoted from the documents, with where it comes from. "
            "Follow-up questions use the conversation.",
            elem_id="qa-title",
        )
        chat = gr.Chatbot(
            elem_id="chat",
            label="Conversation",
            height=560,
            buttons=["copy"],
            feedback_options=("Like", "Dislike"),
            sanitize_html=True,
            placeholder="Ask a question below, or pick an example.",
        )
        records = gr.State({})
        with gr.Row(equal_height=True):
            question = gr.Textbox(
                elem_id="question",
                show_label=False,
                placeholder="Ask a question and press Enter",
                max_lines=4,
                scale=8,
                autofocus=True,
            )
            ask = gr.Button("Ask", variant="primary", elem_id="ask", scale=1, min_width=80)
        with gr.Row():
            k = gr.Slider(1, 10, value=settings.ui_passages, step=1, label="Passages", elem_id="k", scale=3)
            clear = gr.Button("Clear conversation", elem_id="clear", scale=1, min_width=120)
        gr.Examples(list(EXAMPLES), inputs=question, label="Examples")

        inputs, outputs = [question, chat, records, k], [chat, records, question]
        question.submit(respond, inputs, outputs, api_name="ask")
        ask.click(respond, inputs, outputs, api_visibility="private")
        clear.click(lambda: ([], {}, ""), None, outputs, api_visibility="private")
        chat.like(rate, [records], None, api_visibility="private")
    demo.queue(default_concurrency_limit=8, max_size=256)
    return demo
