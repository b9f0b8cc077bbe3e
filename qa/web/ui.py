"""The Gradio chat page: a conversation whose answers are cited passages of the documents.

Each answer leads with passage [1] open (its citation label, then the passage with the
highlighted sentence marked once), the other passages folded under their labels, and a fold
that shows a passage in its context. A declined answer says so, shows the evidence that
decided, and lists the closest text unmarked. All of it is made by :mod:`qa.render`.

The conversation lives in per-session state as :class:`Turn` objects (the :class:`Answer` and
its HTML), and the chat display is made from it, so a rating always maps to the answer it was
given on. A question that cannot be asked (empty, no searchable words, too long) gets a short
notice under the input box; the conversation and the typed text stay as they were. Retry, undo
and edit work on the turns. :class:`ChatSession` is tested without a browser.
"""

from __future__ import annotations

import functools
import html
import logging
import re
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
from qa.render import MAX_SHOWN_PASSAGES, SEE_IN_CONTEXT, answer_html, escape, marked_html, plain_text
from qa.retrieval.context import Context, passage_context
from qa.retrieval.registry import Registry
from qa.retrieval.retriever import Retriever

__all__ = [
    "CSS",
    "EXAMPLES",
    "ChatSession",
    "Reply",
    "Turn",
    "build_ui",
    "messages",
    "render_answer",
    "render_context",
    "question_text",
    "render_question",
]

log = logging.getLogger(__name__)

EXAMPLES = (
    "What is human trafficking?",
    "What is debt bondage?",
    "How many people are victims of trafficking?",
    "What is organ trafficking?",
)
"""Questions the page offers; each one's top passage is checked by a test."""

INTRO = (
    "Every answer is a passage quoted from the documents, with where it comes from. "
    "Follow-up questions use the conversation."
)
EMPTY_QUESTION = "Type a question about the documents first."
FAILED = "Something went wrong while answering; please try again."

_STATIC = resources.files("qa.web") / "static"
CSS = (_STATIC / "chat.css").read_text(encoding="utf-8")
CHAT_JS = (_STATIC / "chat.js").read_text(encoding="utf-8")


@dataclass(frozen=True)
class Turn:
    """One question and its answer, as kept in the session and shown in the chat."""

    answer: Answer
    html: str
    """The answer as rendered when it was given (contexts included)."""
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    collection: str = "default"
    """The collection that answered."""
    """The server's id of this answer; a rating names it, and counts once per answer."""


@dataclass(frozen=True)
class Reply:
    """What the page shows after an event: the chat, the turns, the input box and a notice."""

    chat: list[dict[str, str]]
    turns: tuple[Turn, ...]
    box: str
    notice: str = ""

    def outputs(self) -> tuple[list[dict[str, str]], tuple[Turn, ...], str, str]:
        return self.chat, self.turns, self.box, self.notice


# rendering -------------------------------------------------------------------------------------


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
    answer: Answer, contexts: Sequence[str] | None = None, settings: Settings | None = None
) -> str:
    """The answer as one HTML block, with a copy button and the plain text it copies."""
    tools = (
        "<div class='qa-tools'><button type='button' class='qa-copy'>Copy answer</button>"
        f"<div class='qa-plain'>{_verbatim(plain_text(answer, settings))}</div></div>"
    )
    return answer_html(answer, contexts, settings=settings, tools=tools)


def messages(turns: Sequence[Turn]) -> list[dict[str, str]]:
    """The chat display for ``turns``: a user and an assistant message per turn."""
    out = []
    for turn in turns:
        out.append({"role": "user", "content": render_question(turn.answer.question)})
        out.append({"role": "assistant", "content": turn.html})
    return out


# behaviour -------------------------------------------------------------------------------------


def _turns(turns: Sequence[Turn] | None) -> tuple[Turn, ...]:
    return tuple(turns or ())


class ChatSession:
    """What the page does, without Gradio: answer a question in a conversation, retry, undo,
    edit, and rate an answer.

    Holds only the shared retriever and settings; each browser session's conversation is the
    ``turns`` tuple passed in and returned (in a :class:`Reply`), cut to the last
    ``settings.max_turns``. A rating is stored once per answer and rating (the ratings seen are
    remembered for the last ``RATED_MEMORY`` answers).
    """

    RATED_MEMORY = 100_000

    def __init__(self, retriever: Retriever, settings: Settings, registry: Registry | None = None) -> None:
        self.retriever = retriever
        self.settings = settings
        self.registry = registry
        self._rated: OrderedDict[str, str] = OrderedDict()
        self._rated_lock = threading.Lock()

    def respond(
        self, question: str | None, turns: Sequence[Turn] | None, k: Any = None, collection: str | None = None
    ) -> Reply:
        """Answer ``question`` after ``turns`` from ``collection`` (default: the default one). A
        question that cannot be asked leaves the conversation and the typed text as they were
        and says why in the notice."""
        turns = _turns(turns)
        if not (question or "").strip():
            return Reply(messages(turns), turns, question or "", EMPTY_QUESTION)
        history = [t.answer.question for t in turns]
        try:
            other = self.registry is not None and collection not in (None, "", "default")
            retriever = self.registry.get(collection) if other else self.retriever
            answer = retriever.ask(question, k=self._k(k), history=history)
        except QAError as exc:
            message = str(exc)
            return Reply(messages(turns), turns, question, message[:1].upper() + message[1:] + ".")
        if self.settings.log_questions:
            from qa.eval.asked import AskedRecord, log_question

            log_question(self.settings.questions_path, AskedRecord.of(collection or "default", answer))
        contexts = [
            self._context(p, declined=answer.abstained, index=retriever.index) for p in answer.passages
        ]
        turn = Turn(
            answer, render_answer(answer, contexts, self.settings), collection=collection or "default"
        )
        turns = (*turns, turn)[-self.settings.max_turns :]
        return Reply(messages(turns), turns, "")

    def retry(self, turns: Sequence[Turn] | None, k: Any = None) -> Reply:
        """Ask the last question again (with the passages setting as it is now)."""
        turns = _turns(turns)
        if not turns:
            return Reply([], (), "")
        return self.respond(turns[-1].answer.question, turns[:-1], k, turns[-1].collection)

    def undo(self, turns: Sequence[Turn] | None) -> Reply:
        """Take the last question and its answer back; the question returns to the input box."""
        turns = _turns(turns)
        if not turns:
            return Reply([], (), "")
        return Reply(messages(turns[:-1]), turns[:-1], turns[-1].answer.question)

    def edit(self, index: Any, question: Any, turns: Sequence[Turn] | None, k: Any = None) -> Reply:
        """Replace the question at chat message ``index`` and answer it again; the later turns go."""
        turns = _turns(turns)
        if isinstance(index, (list, tuple)):
            index = index[0] if index else None
        if not isinstance(index, int) or index % 2 != 0 or not 0 <= index // 2 < len(turns):
            return Reply(messages(turns), turns, "")
        reply = self.respond(_plain_question(question), turns[: index // 2], k, turns[index // 2].collection)
        if reply.notice:  # not askable: keep the conversation as it was, the edit in the box
            return Reply(messages(turns), turns, reply.box, reply.notice)
        return reply

    def _k(self, k: Any) -> int:
        """Passages to show: the page's control, within 1..MAX_SHOWN_PASSAGES, else the default."""
        try:
            value = int(k)
        except (TypeError, ValueError):
            return self.settings.ui_passages
        return min(max(value, 1), MAX_SHOWN_PASSAGES)

    def _context(self, p: Passage, *, declined: bool, index=None) -> str:
        index = self.retriever.index if index is None else index
        try:
            ctx = passage_context(
                index,
                p.source,
                p.start,
                p.end,
                words=self.settings.context_words,
                highlight=(p.highlight.start, p.highlight.end),
            )
            size = len(index.document(p.source).text)
        except (QAError, KeyError):
            log.warning("no context for %s [%d:%d]", p.source, p.start, p.end)
            return ""
        return render_context(ctx, at_end=ctx.window_end >= size, declined=declined)

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
        turns = _turns(turns)
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
            collection=turn.collection,
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


def _plain_question(value: Any) -> str:
    """An edited user message as text (Gradio may hand back a content dict)."""
    if isinstance(value, dict):
        value = value.get("text") or value.get("content") or ""
    return question_text(str(value or ""))


# the page --------------------------------------------------------------------------------------

_SCROLL_JS = "(chat) => { if (window.qaChat) window.qaChat.scroll(chat); }"


def _collection_page(
    settings: Settings, wanted: str | None
) -> tuple[str, str, tuple[str, ...], list[str], str]:
    """For ``/?collection=NAME``: the collection shown, its title and examples, every collection
    name, and a warning when ``wanted`` is not a collection (the default one is shown then)."""
    from qa.index.collections import DEFAULT, collection_names, get_collection

    warning = ""
    try:
        chosen = get_collection(settings, wanted or DEFAULT)
    except QAError as exc:
        warning, chosen = str(exc), get_collection(settings, DEFAULT)
    examples = chosen.config.examples or (EXAMPLES if chosen.name == DEFAULT else ())
    title = chosen.config.title or ("Ask the course documents" if chosen.name == DEFAULT else chosen.name)
    return chosen.name, title, examples, collection_names(settings), warning


class SessionCollections:
    """Which collection each browser session of the chat page asks (set from ``?collection=``
    and the picker), so the ``ask`` endpoint keeps its inputs; at most ``capacity`` sessions."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._chosen: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.Lock()

    def of(self, request: Any) -> str | None:
        with self._lock:
            return self._chosen.get(getattr(request, "session_hash", None) or "")

    def remember(self, request: Any, name: str) -> None:
        key = getattr(request, "session_hash", None)
        if not key:
            return
        with self._lock:
            self._chosen[key] = name
            self._chosen.move_to_end(key)
            while len(self._chosen) > self.capacity:
                self._chosen.popitem(last=False)


def _collection_view(
    gr, settings: Settings, registry: Registry | None, name: str | None
) -> tuple[str, tuple]:
    """The collection shown for ``name`` and the page's updates: picker, title, examples, and an
    empty conversation; a warning toast when ``name`` is not a collection."""
    shown, title, samples, names, warning = _collection_page(settings, name)
    if warning:
        gr.Warning(warning)
    picker = gr.Dropdown(choices=names, value=shown, visible=registry is not None and len(names) > 1)
    examples = gr.Dataset(samples=[[q] for q in samples], visible=bool(samples))
    return shown, (picker, f"# {title}\n" + INTRO, examples, [], ())


def _example_question(example: Any) -> Any:
    """The question of a clicked example (Gradio sends the sample's row)."""
    return example[0] if isinstance(example, (list, tuple)) and example else example


def _on_load(show, registry: Registry | None):
    """The page-load handler: show the collection named by ``?collection=``."""

    def on_load(request):
        return show(_query_collection(request, registry), request)

    return on_load


def _inject_request(gr, *functions) -> None:
    """Annotate ``request`` with a real class: Gradio injects the request by type."""
    for fn in functions:
        fn.__annotations__["request"] = gr.Request


def _query_collection(request: Any, registry: Registry | None) -> str | None:
    if request is None or registry is None:
        return None
    return request.query_params.get("collection")


def build_ui(retriever: Retriever, settings: Settings, registry: Registry | None = None):
    """The chat page as a ``gr.Blocks`` (mounted at ``/`` by :mod:`qa.web.server`, with :data:`CSS`).
    With a ``registry``, ``/?collection=NAME`` asks that collection, and a picker shows when
    there are several."""
    import gradio as gr

    session = ChatSession(retriever, settings, registry)
    chosen = SessionCollections(settings.max_sessions)

    def guarded(action):
        """Run ``action``; an unexpected failure becomes a notice, the conversation stays."""

        @functools.wraps(action)  # Gradio reads the parameters' names and event-data types
        def run(*args):
            try:
                return action(*args).outputs()
            except Exception:
                log.exception("chat event failed")
                return gr.update(), gr.update(), gr.update(), FAILED

        return run

    def respond(question, turns, k, request: gr.Request):
        return session.respond(question, turns, k, chosen.of(request))

    def respond_example(example, turns, k, request: gr.Request):
        return session.respond(_example_question(example), turns, k, chosen.of(request))

    def show_collection(name: str | None, request: gr.Request):
        shown, outputs = _collection_view(gr, settings, registry, name)
        chosen.remember(request, shown)
        return outputs

    on_load = _on_load(show_collection, registry)

    _inject_request(gr, respond, respond_example, show_collection, on_load)

    def edit(turns, k, data: gr.EditData):
        return session.edit(data.index, data.value, turns, k)

    edit.__annotations__["data"] = gr.EditData  # a real class: Gradio injects the event data by type

    def rate(turns, data: gr.LikeData):
        try:
            rating = session.rate(data.index, data.liked, turns)
        except QAError as exc:
            raise gr.Error(f"Your rating could not be saved: {exc}") from None
        if rating:
            gr.Info("Thanks, your feedback was saved.")

    rate.__annotations__["data"] = gr.LikeData

    def clear():
        return [], (), "", ""

    with gr.Blocks(title="Ask the course documents", fill_height=True) as demo:
        title = gr.Markdown("# Ask the course documents\n" + INTRO, elem_id="qa-title")
        picker = gr.Dropdown(
            choices=["default"], value="default", label="Course", elem_id="collection", visible=False
        )
        turns = gr.State(())
        chat = gr.Chatbot(
            elem_id="chat",
            label="Conversation",
            show_label=False,
            height="62vh",
            min_height=320,
            buttons=[],
            editable="user",
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
            submit_btn="Ask",
            autofocus=True,
        )
        notice = gr.Markdown("", elem_id="qa-notice")
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
                MAX_SHOWN_PASSAGES,
                value=settings.ui_passages,
                step=1,
                label="Passages per answer",
                elem_id="k",
                scale=3,
                min_width=200,
            )
            clear_button = gr.Button("Clear conversation", elem_id="clear", size="md", scale=1, min_width=150)

        outputs = [chat, turns, question, notice]
        private = {"api_visibility": "private"}
        question.submit(guarded(respond), [question, turns, k], outputs, api_name="ask").then(
            None, [chat], None, js=_SCROLL_JS
        )
        examples.click(guarded(respond_example), [examples, turns, k], outputs, **private).then(
            None, [chat], None, js=_SCROLL_JS
        )
        chat.retry(guarded(session.retry), [turns, k], outputs, **private).then(
            None, [chat], None, js=_SCROLL_JS
        )
        chat.undo(guarded(session.undo), [turns], outputs, **private)
        chat.edit(guarded(edit), [turns, k], outputs, **private)
        question.change(  # typed, pasted or set: said before sending
            None,
            [question],
            [notice],
            js=f"(q) => window.qaChat ? window.qaChat.lengthNotice(q, {settings.max_question_chars}) : ''",
            **private,
        )
        clear_button.click(clear, None, outputs, **private)
        chat.clear(lambda: ((), ""), None, [turns, notice], **private)
        # every click is its own rating: with the default trigger mode ("once"), a click while the
        # previous rating's event is still pending in the browser was silently dropped
        chat.like(rate, [turns], None, trigger_mode="multiple", **private)
        demo.load(None, None, None, js=CHAT_JS)
        demo.load(on_load, None, [picker, title, examples, chat, turns], api_visibility="private")
        picker.input(
            show_collection, [picker], [picker, title, examples, chat, turns], api_visibility="private"
        )
    demo.queue(default_concurrency_limit=8, max_size=256)
    return demo
