"""The chat page's behaviour, without Gradio: a conversation whose answers are cited passages.

The conversation lives in per-session state as :class:`Turn` objects (the :class:`Answer` and
its HTML), and the chat display is made from it, so a rating always maps to the answer it was
given on. A question that cannot be asked (empty, no searchable words, too long) gets a short
notice under the input box; the conversation and the typed text stay as they were. Retry, undo
and edit work on the turns. :class:`ChatSession` is tested without a browser.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from qa.answer import Answer, Passage
from qa.config import Settings
from qa.errors import EmptyCollectionError, QAError, UnknownCollectionError
from qa.feedback import FeedbackRecord, append_feedback, passages_shown
from qa.render import MAX_SHOWN_PASSAGES
from qa.retrieval.context import passage_context
from qa.retrieval.registry import Registry
from qa.retrieval.retriever import Retriever
from qa.web.build_state import build_state
from qa.web.chat_render import question_text, render_answer, render_context, render_question
from qa.web.freshness import SourceWatches

__all__ = [
    "EMPTY_QUESTION",
    "FAILED",
    "INDEXING",
    "NO_DOCUMENTS",
    "UNKNOWN_COURSE",
    "ChatSession",
    "Conversations",
    "Reply",
    "Turn",
    "messages",
]

log = logging.getLogger(__name__)

EMPTY_QUESTION = "Type a question about the documents first."
FAILED = "Something went wrong while answering; please try again."
NO_DOCUMENTS = "This course has no documents to answer from yet; its staff add them. Please ask again later."
INDEXING = "This course's documents are being indexed; please ask again in a minute."
UNKNOWN_COURSE = "This page asks for a course the assistant does not have. Tell the course staff."
"""A course deleted (or never made) while its page is open; the widget says the same."""


@dataclass(frozen=True)
class Turn:
    """One question and its answer, as kept in the session and shown in the chat."""

    answer: Answer
    html: str
    """The answer as rendered when it was given (contexts included)."""
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    """The server's id of this answer; a rating names it, and counts once per answer."""
    collection: str = "default"
    """The collection that answered."""


@dataclass(frozen=True)
class Reply:
    """What the page shows after an event: the chat, the turns, the input box and a notice."""

    chat: list[dict[str, str]]
    turns: tuple[Turn, ...]
    box: str
    notice: str = ""

    def outputs(self) -> tuple[list[dict[str, str]], tuple[Turn, ...], str, str]:
        return self.chat, self.turns, self.box, self.notice


def messages(turns: Sequence[Turn]) -> list[dict[str, str]]:
    """The chat display for ``turns``: a user and an assistant message per turn."""
    out = []
    for turn in turns:
        out.append({"role": "user", "content": render_question(turn.answer.question)})
        out.append({"role": "assistant", "content": turn.html})
    return out


def _turns(turns: Sequence[Turn] | None) -> tuple[Turn, ...]:
    return tuple(turns or ())


@dataclass(frozen=True)
class Conversations:
    """The course a chat page shows and the conversation each course it showed was left with,
    in one browser session, so picking another course loses no conversation."""

    shown: str = ""
    kept: tuple[tuple[str, tuple[Turn, ...]], ...] = ()
    """``(course, turns)`` pairs, one per course left."""

    def switch(
        self, turns: Sequence[Turn] | None, entering: str
    ) -> tuple[Conversations, tuple[Turn, ...], str]:
        """Picking ``entering``: the course shown keeps its conversation (``turns``); returns the
        new state, the conversation ``entering`` had (empty the first time), and the course whose
        conversation was kept ('' when it had none, or when ``entering`` is the course shown).
        The same pick twice gives the same result (a picker may send it twice at once)."""
        turns = _turns(turns)
        leaving = self.shown or (turns[-1].collection if turns else "")
        kept = dict(self.kept)
        if leaving:
            kept[leaving] = turns
        if entering == leaving:
            return Conversations(entering, tuple(kept.items())), turns, ""
        return Conversations(entering, tuple(kept.items())), kept.get(entering, ()), leaving if turns else ""


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
        self._changes = SourceWatches(settings)

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
        except EmptyCollectionError:  # the registry's message is for authors ("upload some")
            busy = self.registry is not None and build_state(self.settings, self.registry, collection).busy
            return Reply(messages(turns), turns, question, INDEXING if busy else NO_DOCUMENTS)
        except UnknownCollectionError:  # "there is no collection 'chem'": the authors' words
            return Reply(messages(turns), turns, question, UNKNOWN_COURSE)
        except QAError as exc:
            message = str(exc)
            return Reply(messages(turns), turns, question, message[:1].upper() + message[1:] + ".")
        if self.settings.log_questions:
            from qa.eval.asked import AskedRecord, log_question

            log_question(self.settings.questions_path, AskedRecord.of(collection or "default", answer))
        contexts = [
            self._context(p, declined=answer.abstained, index=retriever.index) for p in answer.passages
        ]
        stale: set[str] = set()
        manifest = getattr(retriever.index, "manifest", None)
        if manifest is not None:  # as the API tells, for every collection
            stale = self._changes.stale(collection, manifest, (p.citation.source for p in answer.passages))
        turn = Turn(
            answer, render_answer(answer, contexts, self.settings, stale), collection=collection or "default"
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
