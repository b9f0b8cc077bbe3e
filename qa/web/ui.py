"""The Gradio chat page: a conversation whose answers are cited passages of the documents.

Each answer shows the highlighted span first, then the top passages with numbered citations
(title, word range, link to the original) and a fold that shows the passage in its context.
Follow-up questions are resolved by the retriever from the conversation's earlier questions.
Thumbs up and down go to the feedback file with the passages that were shown.

The conversation lives in per-session state as :class:`Turn` objects (the :class:`Answer` and
its HTML), and the chat display is made from it, so a rating always maps to the answer it was
given on. The HTML comes from plain functions (:func:`render_question`, :func:`render_answer`,
:func:`render_context`, :func:`answer_text`) that escape everything coming from a user or a
document; they and :class:`ChatSession` are tested without a browser.
"""

from __future__ import annotations

import html
import logging
import threading
import uuid
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from qa.answer import Answer, Passage
from qa.config import Settings
from qa.errors import QAError
from qa.feedback import FeedbackRecord, append_feedback, passages_shown
from qa.retrieval.context import Context, passage_context
from qa.retrieval.retriever import Retriever

__all__ = [
    "CSS",
    "EXAMPLES",
    "ChatSession",
    "Turn",
    "answer_text",
    "build_ui",
    "messages",
    "render_answer",
    "render_context",
    "render_question",
]

log = logging.getLogger(__name__)

EXAMPLES = (
    "What is human trafficking?",
    "What is debt bondage?",
    "How many people are victims of trafficking?",
    "What does the Palermo Protocol require?",
)

EMPTY_QUESTION = "Please type a question about the documents first."
NO_ANSWER = "The documents do not answer this question."
MAX_UI_PASSAGES = 10

CSS = (resources.files("qa.web") / "static" / "chat.css").read_text(encoding="utf-8")


@dataclass(frozen=True)
class Turn:
    """One question and its answer, as kept in the session and shown in the chat."""

    answer: Answer
    html: str
    """The answer as rendered when it was given (contexts included)."""
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    """The server's id of this answer; a rating names it, and counts once per answer."""


# rendering -------------------------------------------------------------------------------------


def _text(s: str) -> str:
    """Escaped text with line breaks kept; never contains a blank line (which ends an HTML block)."""
    return html.escape(s).replace("\r", "").replace("\n", "<br>")


def _verbatim(s: str) -> str:
    """Escaped text with newlines as character references, so they survive without a blank line."""
    return html.escape(s, quote=True).replace("\r", "").replace("\n", "&#10;")


def _marked(text: str, offset: int, start: int, end: int) -> str:
    """``text`` (which starts at source offset ``offset``) with ``[start, end)`` in ``<mark>``."""
    a = max(0, min(len(text), start - offset))
    b = max(a, min(len(text), end - offset))
    middle = f"<mark>{_text(text[a:b])}</mark>" if b > a else ""
    return _text(text[:a]) + middle + _text(text[b:])


def _web_url(url: str) -> str:
    """``url`` if it is a web address, else '' (no ``javascript:`` or file links on the page)."""
    return url if url.startswith(("https://", "http://")) else ""


def render_question(question: str) -> str:
    """The user's message shown literally: escaped inside an HTML block, which Markdown leaves
    alone (no emphasis, links or autolinks made from what the user typed)."""
    return f"<p class='qa-q'>{_text(question)}</p>"


def render_citation(number: int, passage: Passage) -> str:
    """``[n] Title · words a–b of N · source · original`` (the link only for web URLs)."""
    c = passage.citation
    link = ""
    if _web_url(c.url):
        link = (
            f" · <a href='{_text(c.url)}' target='_blank' rel='noopener noreferrer'"
            f" title='{_text(c.url)}'>original ↗</a>"
        )
    return (
        f"<div class='qa-cite'>[{number}] <strong>{_text(c.title)}</strong> · "
        f"{_text(c.word_range)} · <code>{_text(c.source)}</code>{link}</div>"
    )


def render_context(ctx: Context, *, at_end: bool = False) -> str:
    """The passage in its surroundings: the passage shaded and the answer span marked, folded."""
    hs = ctx.highlight_start if ctx.highlight_start is not None else ctx.start
    he = ctx.highlight_end if ctx.highlight_end is not None else ctx.start
    lead = "… " if ctx.window_start > 0 else ""
    tail = "" if at_end else " …"
    window = (
        f"{lead}{_text(ctx.before)}<span class='qa-in'>{_marked(ctx.passage, ctx.start, hs, he)}</span>"
        f"{_text(ctx.after)}{tail}"
    )
    return (
        "<details class='qa-context'><summary>See in context</summary>"
        "<div class='qa-legend'>The passage is shaded; the answer span is <mark>marked</mark>.</div>"
        f"<div class='qa-window'>{window}</div></details>"
    )


def _passage_html(number: int, p: Passage, context: str) -> str:
    body = f"<p class='qa-text'>{_marked(p.text, p.start, p.highlight.start, p.highlight.end)}</p>"
    return f"<li class='qa-passage'>{render_citation(number, p)}{body}{context}</li>"


def answer_text(answer: Answer) -> str:
    """The answer as plain text, what the copy button copies: span, then numbered citations."""
    lines = []
    if answer.abstained:
        lines += [NO_ANSWER, "", "Closest matches:" if answer.passages else ""]
    elif answer.passages:
        lines += [f"“{answer.passages[0].highlight_text}” [1]", ""]
    for i, p in enumerate(answer.passages, 1):
        c = p.citation
        link = f" {_web_url(c.url)}" if _web_url(c.url) else ""
        lines.append(f"[{i}] {c.title}, {c.word_range} ({c.source}){link}")
        lines.append(f"    {p.text}")
    return "\n".join(lines).strip() + "\n"


def render_answer(answer: Answer, contexts: Sequence[str] | None = None) -> str:
    """The answer as one HTML block (no blank lines, so Markdown leaves it alone).

    ``contexts`` holds each passage's :func:`render_context` HTML ('' for none).
    """
    contexts = list(contexts or ()) + [""] * (len(answer.passages) - len(contexts or ()))
    items = "".join(_passage_html(i + 1, p, c) for i, (p, c) in enumerate(zip(answer.passages, contexts)))
    parts = ["<div class='qa-answer'>"]
    if answer.abstained:
        parts.append(f"<p class='qa-abstain'>{NO_ANSWER}</p>")
        if answer.passages:
            parts.append(
                "<p class='qa-closest-label'>Closest matches (they do not answer the question):</p>"
                f"<ol class='qa-passages qa-closest'>{items}</ol>"
            )
    elif answer.passages:
        span = _text(answer.passages[0].highlight_text)
        parts.append(f"<blockquote class='qa-span'>“{span}” <span class='qa-ref'>[1]</span></blockquote>")
        parts.append(f"<ol class='qa-passages'>{items}</ol>")
    parts.append(
        "<div class='qa-tools'><button type='button' class='qa-copy'>Copy answer</button>"
        f"<div class='qa-plain'>{_verbatim(answer_text(answer))}</div></div>"
    )
    parts.append("</div>")
    return "".join(parts)


def messages(turns: Sequence[Turn]) -> list[dict[str, str]]:
    """The chat display for ``turns``: a user and an assistant message per turn."""
    out = []
    for turn in turns:
        out.append({"role": "user", "content": render_question(turn.answer.question)})
        out.append({"role": "assistant", "content": turn.html})
    return out


# behaviour -------------------------------------------------------------------------------------


class ChatSession:
    """What the page does, without Gradio: answer a question in a conversation, rate an answer.

    Holds only the shared retriever and settings; each browser session's conversation is the
    ``turns`` tuple passed in and returned, cut to the last ``settings.max_turns``. A rating is
    stored once per answer and rating (the ratings seen are remembered for the last
    ``RATED_MEMORY`` answers).
    """

    RATED_MEMORY = 100_000

    def __init__(self, retriever: Retriever, settings: Settings) -> None:
        self.retriever = retriever
        self.settings = settings
        self._rated: OrderedDict[str, str] = OrderedDict()
        self._rated_lock = threading.Lock()

    def respond(
        self, question: str | None, turns: Sequence[Turn] | None, k: Any = None
    ) -> tuple[list[dict[str, str]], tuple[Turn, ...], str]:
        """Answer ``question`` after ``turns``; returns the chat messages, the turns, and ''."""
        if not (question or "").strip():
            raise QAError(EMPTY_QUESTION)
        turns = tuple(turns or ())
        history = [t.answer.question for t in turns]
        answer = self.retriever.ask(question, k=self._k(k), history=history)
        contexts = [self._context(p) for p in answer.passages]
        turns = (*turns, Turn(answer, render_answer(answer, contexts)))[-self.settings.max_turns :]
        return messages(turns), turns, ""

    def _k(self, k: Any) -> int:
        """Passages to show: the page's control, within 1..10, else the configured default."""
        try:
            value = int(k)
        except (TypeError, ValueError):
            return self.settings.ui_passages
        return min(max(value, 1), MAX_UI_PASSAGES)

    def _context(self, p: Passage) -> str:
        index = self.retriever.index
        try:
            ctx = passage_context(
                index,
                p.source,
                p.start,
                p.end,
                words=self.settings.context_words,
                highlight=(p.highlight.start, p.highlight.end),
            )
        except QAError:
            log.warning("no context for %s [%d:%d]", p.source, p.start, p.end)
            return ""
        doc = index.documents[index.document_index(p.source)]
        return render_context(ctx, at_end=ctx.window_end >= len(doc.text))

    def rate(self, index: Any, liked: Any, turns: Sequence[Turn] | None) -> str | None:
        """Store a thumbs up/down for the answer at chat message ``index``; returns the rating.

        Nothing is stored (None) for a user message, an unknown message, or a rating taken back
        (Gradio sends an empty value when a thumb is clicked again).
        """
        if isinstance(index, (list, tuple)):
            index = index[0] if index else None
        if isinstance(liked, bool):
            rating = "up" if liked else "down"
        elif str(liked).lower() in ("like", "up"):
            rating = "up"
        elif str(liked).lower() in ("dislike", "down"):
            rating = "down"
        else:
            return None
        turns = tuple(turns or ())
        if not isinstance(index, int) or index % 2 != 1 or not 0 <= index // 2 < len(turns):
            return None
        turn = turns[index // 2]
        if not self._first_rating(turn.id, rating):
            return None
        answer = turn.answer
        record = FeedbackRecord(
            rating=rating,
            question=answer.question,
            query=answer.query or answer.question,
            abstained=answer.abstained,
            passages=passages_shown(answer.passages),
            answer_id=turn.id,
        )
        append_feedback(self.settings.feedback_path, record, max_bytes=self.settings.feedback_max_bytes)
        return rating

    def _first_rating(self, answer_id: str, rating: str) -> bool:
        """True the first time ``answer_id`` gets ``rating`` (a changed mind counts again)."""
        with self._rated_lock:
            if self._rated.get(answer_id) == rating:
                return False
            self._rated[answer_id] = rating
            self._rated.move_to_end(answer_id)
            while len(self._rated) > self.RATED_MEMORY:
                self._rated.popitem(last=False)
            return True


# the page --------------------------------------------------------------------------------------

# Copies the answer's plain text, kept in a hidden element beside the button (the chat's own copy
# button would copy the HTML, and the page's sanitiser drops data attributes). One delegated
# listener, installed on load, so it works for answers added later.
_COPY_JS = """
() => {
  if (window.__qaCopy) return;
  window.__qaCopy = true;
  const fallback = (text) => {
    const area = document.createElement("textarea");
    area.value = text;
    area.style.position = "fixed";
    area.style.left = "-9999px";
    document.body.appendChild(area);
    area.select();
    document.execCommand("copy");
    area.remove();
  };
  document.addEventListener("click", async (event) => {
    const button = event.target.closest && event.target.closest("button.qa-copy");
    if (!button) return;
    event.preventDefault();
    event.stopPropagation();
    const plain = button.parentElement.querySelector(".qa-plain");
    const text = plain ? plain.textContent : "";
    try { await navigator.clipboard.writeText(text); } catch (e) { fallback(text); }
    button.textContent = "Copied";
    setTimeout(() => { button.textContent = "Copy answer"; }, 1500);
  }, true);
}
"""

# Brings the newest question and the start of its answer (the highlighted span) into view,
# instead of the bottom of a long answer. Waits a few frames for the chat to render it.
_SCROLL_JS = """
(chat) => {
  const want = (chat || []).filter((m) => m.role === "assistant").length;
  let frames = 0;
  const go = () => {
    const answers = document.querySelectorAll("#chat .qa-answer");
    if (answers.length < want && frames++ < 120) { requestAnimationFrame(go); return; }
    const last = answers[answers.length - 1];
    if (!last) return;
    let box = last.parentElement;
    while (box && box !== document.body) {
      const overflow = getComputedStyle(box).overflowY;
      if ((overflow === "auto" || overflow === "scroll") && box.scrollHeight > box.clientHeight) break;
      box = box.parentElement;
    }
    if (!box || box === document.body) return;
    const row = last.closest(".message-row");
    const question = row && row.previousElementSibling;
    const target = question && question.querySelector(".qa-q") ? question : last;
    const top = target.getBoundingClientRect().top - box.getBoundingClientRect().top;
    box.scrollTo({ top: box.scrollTop + top - 8 });
  };
  requestAnimationFrame(go);
}
"""


def build_ui(retriever: Retriever, settings: Settings):
    """The chat page as a ``gr.Blocks`` (mounted at ``/`` by :mod:`qa.server`, with :data:`CSS`)."""
    import gradio as gr

    session = ChatSession(retriever, settings)

    def respond(question, turns, k):
        try:
            return session.respond(question, turns, k)
        except QAError as exc:
            message = str(exc)
            raise gr.Error(message[:1].upper() + message[1:], title="Cannot answer") from None
        except Exception:
            log.exception("answering %r failed", question)
            raise gr.Error("Something went wrong while answering; please try again.") from None

    def respond_example(example, turns, k):
        question = example[0] if isinstance(example, (list, tuple)) and example else example
        return respond(question, turns, k)

    def rate(turns, data: gr.LikeData):
        try:
            rating = session.rate(data.index, data.liked, turns)
        except QAError as exc:
            raise gr.Error(f"Your rating could not be saved: {exc}") from None
        if rating:
            gr.Info("Thanks, your feedback was saved.")

    rate.__annotations__["data"] = gr.LikeData  # a real class: Gradio injects the event data by type

    def clear():
        return [], (), ""

    with gr.Blocks(title="Ask the course documents", fill_height=True) as demo:
        gr.Markdown(
            "# Ask the course documents\n"
            "Every answer is a passage quoted from the documents, with where it comes from. "
            "Follow-up questions use the conversation.",
            elem_id="qa-title",
        )
        turns = gr.State(())
        chat = gr.Chatbot(
            elem_id="chat",
            label="Conversation",
            show_label=False,
            height="62vh",
            min_height=320,
            buttons=[],
            feedback_options=("Like", "Dislike"),
            sanitize_html=True,
            allow_tags=False,
            latex_delimiters=[],
            autoscroll=False,
            layout="panel",
            placeholder=(
                "**Ask a question below, or pick an example.**\n\n"
                "Answers are passages quoted from the documents, each with its citation."
            ),
        )
        question = gr.Textbox(
            elem_id="question",
            show_label=False,
            placeholder="Ask a question and press Enter",
            max_lines=4,
            max_length=settings.max_question_chars,
            submit_btn="Ask",
            autofocus=True,
        )
        examples = gr.Dataset(
            elem_id="examples",
            label="Examples (click to ask)",
            components=[question],
            samples=[[q] for q in EXAMPLES],
            type="values",
            layout="gallery",
        )
        with gr.Row(equal_height=False, elem_id="controls"):
            k = gr.Slider(
                1,
                MAX_UI_PASSAGES,
                value=settings.ui_passages,
                step=1,
                label="Passages per answer",
                elem_id="k",
                scale=3,
                min_width=200,
            )
            clear_button = gr.Button("Clear conversation", elem_id="clear", size="md", scale=1, min_width=150)

        outputs = [chat, turns, question]
        question.submit(respond, [question, turns, k], outputs, api_name="ask").then(
            None, [chat], None, js=_SCROLL_JS
        )
        examples.click(respond_example, [examples, turns, k], outputs, api_visibility="private").then(
            None, [chat], None, js=_SCROLL_JS
        )
        clear_button.click(clear, None, outputs, api_visibility="private")
        chat.clear(lambda: (), None, [turns], api_visibility="private")
        chat.like(rate, [turns], None, api_visibility="private")
        demo.load(None, None, None, js=_COPY_JS)
    demo.queue(default_concurrency_limit=8, max_size=256)
    return demo
