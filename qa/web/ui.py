"""The Gradio chat page: its layout, the collection it shows, and the events wired to
:class:`~qa.web.chat.ChatSession` (the behaviour) and :mod:`qa.web.chat_render` (the HTML).

Each answer leads with passage [1] open (its citation label, then the passage with the
highlighted sentence marked once), the other passages folded under their labels, and a fold
that shows a passage in its context. A declined answer says so, shows the evidence that
decided, and lists the closest text unmarked. All of it is made by :mod:`qa.render`.
"""

from __future__ import annotations

import functools
import html
import logging
import threading
from collections import OrderedDict
from importlib import resources
from typing import Any

from qa.config import Settings
from qa.errors import QAError
from qa.index.collections import DEFAULT_TITLE
from qa.render import MAX_SHOWN_PASSAGES
from qa.retrieval.registry import Registry
from qa.retrieval.retriever import Retriever
from qa.web.build_state import build_state
from qa.web.chat import FAILED, INDEXING, NO_DOCUMENTS, ChatSession, Conversations, messages
from qa.web.chat_render import render_question

__all__ = ["CHAT_JS", "CSS", "EXAMPLES", "INTRO", "SessionCollections", "build_ui"]

log = logging.getLogger(__name__)

EXAMPLES = (
    "What is human trafficking?",
    "What is debt bondage?",
    "How many people are victims of trafficking?",
    "What is organ trafficking?",
)
"""Questions the page offers on the seed; each one's top passage is checked by a test."""
EXAMPLES_DOCUMENT = "000_64fa240758fee0c1.txt"
"""The seed document :data:`EXAMPLES` ask about: without it in the default collection (a course
that replaced the seed), the page offers no built-in examples, only its settings file's."""

ANSWERS_ARE = "Every answer is a passage quoted from the documents, with where it comes from."
"""What an answer is, in the same words on the chat page and in the widget (``widget.js``)."""
INTRO = ANSWERS_ARE + " Follow-up questions use the conversation."

_STATIC = resources.files("qa.web") / "static"
CSS = (_STATIC / "chat.css").read_text(encoding="utf-8")
CHAT_JS = (_STATIC / "chat.js").read_text(encoding="utf-8")

_SCROLL_JS = "(chat) => { if (window.qaChat) window.qaChat.scroll(chat); }"
_TAB_TITLE_JS = (
    "(heading) => { const line = String(heading || '').split('\\n')[0].replace(/^#+\\s*/, '');"
    " const text = line.replace(/\\\\(.)/g, '$1');"  # the Markdown escapes of the title, undone
    " const title = new DOMParser().parseFromString(text, 'text/html').documentElement.textContent.trim();"
    " if (title) document.title = title; }"
)
"""The browser tab says the course shown (the first line of the page's heading, ``# Title``)."""
_ADDRESS_JS = (
    "(name) => { const url = new URL(window.location.href);"
    " if (!name || name === 'default') url.searchParams.delete('collection');"
    " else url.searchParams.set('collection', name);"
    " window.history.replaceState(window.history.state, '', url); }"
)
"""The address bar names the course picked (``?collection=NAME``), so reloading the page or
sharing its link opens that course, not the one the page was first opened with."""


UNKNOWN_LINK = (
    "This link asks for a course the assistant does not have; the page shows “{title}” instead. "
    "Tell the course staff."
)
"""The toast for ``/?collection=NAME`` naming no course (a typo, a deleted course). It said the
authors' "there is no collection 'chem'", and echoed the name as HTML (``<b>``, ``<img>``, links
made up by whoever wrote the link)."""

KEPT = "Your conversation in “{title}” is kept: pick that course again to go back to it."
"""The toast when the picker leaves a course with a conversation (each course keeps its own)."""


def _collection_page(
    settings: Settings, wanted: str | None
) -> tuple[str, str, tuple[str, ...], list[str], str]:
    """For ``/?collection=NAME``: the collection shown, its title and examples, every collection
    name, and a warning when ``wanted`` is not a collection (the default one is shown then)."""
    from qa.index.collections import DEFAULT, collection_names, get_collection

    unknown = False
    try:
        chosen = get_collection(settings, wanted or DEFAULT)
    except QAError:
        unknown, chosen = True, get_collection(settings, DEFAULT)
    seeded = chosen.name == DEFAULT and (chosen.seeds_dir / EXAMPLES_DOCUMENT).is_file()
    examples = chosen.config.examples or (EXAMPLES if seeded else ())
    title = chosen.title
    # a toast renders HTML: the link's name is not repeated in it, and the title is escaped
    warning = UNKNOWN_LINK.format(title=html.escape(title)) if unknown else ""
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

    def remember(self, request: Any, name: str) -> bool:
        """Remember ``name`` for the session; False when it already was (a pick sent twice)."""
        key = getattr(request, "session_hash", None)
        if not key:
            return True
        with self._lock:
            changed = self._chosen.get(key) != name
            self._chosen[key] = name
            self._chosen.move_to_end(key)
            while len(self._chosen) > self.capacity:
                self._chosen.popitem(last=False)
            return changed


def _kept_notice(settings: Settings, left: str) -> str:
    """:data:`KEPT` for the course ``left``, named as the picker names it (escaped: a toast
    renders HTML)."""
    from qa.index.collections import collection_names

    names = collection_names(settings)
    title = {name: title for title, name in _picker_choices(settings, names)}.get(left, left)
    return KEPT.format(title=html.escape(title))


def _collection_view(
    gr, settings: Settings, registry: Registry | None, name: str | None
) -> tuple[str, tuple]:
    """The collection shown for ``name`` and the page's updates: picker, title, examples, an
    empty conversation, and the notice (that the course has no documents yet, before anything
    is asked); a warning toast when ``name`` is not a collection."""
    shown, title, samples, names, warning = _collection_page(settings, name)
    if warning:
        gr.Warning(warning)
    picker = gr.Dropdown(
        choices=_picker_choices(settings, names), value=shown, visible=registry is not None and len(names) > 1
    )
    examples = gr.Dataset(samples=[[q] for q in samples], visible=bool(samples))
    return shown, (picker, _heading(title), examples, [], (), _unanswerable(settings, registry, shown))


def _unanswerable(settings: Settings, registry: Registry | None, name: str) -> str:
    """:data:`NO_DOCUMENTS` (or :data:`INDEXING` while its first build runs) for a course with no
    indexed documents yet, '' otherwise: said when the course opens, not after a question."""
    from qa.index.collections import collection_settings
    from qa.index.files import live_folder

    if registry is None:
        return ""
    try:
        live_folder(collection_settings(settings, name).index_dir)
        return ""
    except QAError:
        pass
    try:
        return INDEXING if build_state(settings, registry, name).busy else NO_DOCUMENTS
    except QAError:
        return NO_DOCUMENTS


def _heading(title: str) -> str:
    """The page's heading (Markdown): the course's title shown as written (``<``, ``*`` or ``#``
    in it are not markup), then :data:`INTRO`."""
    return f"# {render_question(title)}\n" + INTRO


def _picker_choices(settings: Settings, names: list[str]) -> list[tuple[str, str]]:
    """The picker's entries: each collection's title (what learners know it by), its name as
    the value; the name too when two titles are the same."""
    from qa.index.collections import get_collection

    titles = []
    for name in names:
        try:
            titles.append(get_collection(settings, name).title)
        except QAError:  # a broken settings file: the name still opens it
            titles.append(name)
    return [
        (title if titles.count(title) == 1 else f"{title} ({name})", name)
        for title, name in zip(titles, names, strict=True)
    ]


def _example_question(example: Any) -> Any:
    """The question of a clicked example (Gradio sends the sample's row)."""
    return example[0] if isinstance(example, (list, tuple)) and example else example


def _pick_collection(gr, settings: Settings, registry: Registry | None, chosen: SessionCollections):
    """The picker's handler: the course picked, with the conversation it had in this session;
    the one left is kept for when the learner comes back, and a toast says so."""

    def pick_collection(name: str | None, turns, courses: Conversations | None, request):
        courses = courses or Conversations()
        shown, (picker, heading, examples, _, _, empty) = _collection_view(gr, settings, registry, name)
        # the course shown picked again, or one pick sent twice (the picker does): no change
        if shown == courses.shown or not chosen.remember(request, shown):
            return (gr.update(),) * 7
        courses, restored, left = courses.switch(turns, shown)
        if left:
            gr.Info(_kept_notice(settings, left))
        return picker, heading, examples, messages(restored), restored, courses, empty

    return pick_collection


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
        return (*outputs, Conversations(shown))

    pick_collection = _pick_collection(gr, settings, registry, chosen)
    on_load = _on_load(show_collection, registry)

    _inject_request(gr, respond, respond_example, show_collection, pick_collection, on_load)

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

    with gr.Blocks(title=DEFAULT_TITLE, fill_height=True) as demo:
        title = gr.Markdown(_heading(DEFAULT_TITLE), elem_id="qa-title")
        picker = gr.Dropdown(
            choices=["default"], value="default", label="Course", elem_id="collection", visible=False
        )
        turns = gr.State(())
        courses = gr.State(Conversations())  # the course shown, and each course's conversation
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
            placeholder=("**Ask a question below, or pick an example.**\n\n" + ANSWERS_ARE),
        )
        question = gr.Textbox(
            elem_id="question",
            label="Your question",
            show_label=False,
            placeholder="Ask a question and press Enter",
            max_lines=4,
            submit_btn="Ask",
            autofocus=True,
        )
        notice = gr.Markdown("", elem_id="qa-notice")
        initial_examples = _collection_page(settings, None)[2]
        examples = gr.Dataset(
            elem_id="examples",
            label="Examples (click to ask)",
            components=[question],
            samples=[[q] for q in initial_examples],
            visible=bool(initial_examples),
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
        demo.load(
            on_load, None, [picker, title, examples, chat, turns, notice, courses], api_visibility="private"
        ).then(None, [title], None, js=_TAB_TITLE_JS)
        picker.input(
            pick_collection,
            [picker, turns, courses],
            [picker, title, examples, chat, turns, courses, notice],
            api_visibility="private",
        ).then(None, [title], None, js=_TAB_TITLE_JS).then(None, [picker], None, js=_ADDRESS_JS)
    demo.queue(default_concurrency_limit=8, max_size=256)
    return demo
