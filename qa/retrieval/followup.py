"""Reading a question in its conversation: is it a follow-up, and what is its topic?

``history`` holds the user's earlier questions, oldest first. A question that opens like a
continuation ("and children?", "what about ...") is a follow-up. Any other question is decided by
evidence: it is searched alone and with the conversation's topic, and it is a follow-up only when
the topic makes the best match much closer (:data:`FOLLOWUP_GAIN`), or, for a short question with
a referring word, not farther (:data:`LEANING_GAIN`), and only when the match found with the
topic is text the question alone still relates to (:data:`TOPIC_DRIFT`). A question that stands
on its own ("Why are people trafficked for their organs?" after "What is debt bondage?") finds its
answer alone as well as with the topic, so it is searched alone.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from qa.ingest.normalize import normalize
from qa.lexical.terms import terms

__all__ = [
    "CONTROL_CHARACTERS",
    "FOLLOWUP_GAIN",
    "TOPIC_DRIFT",
    "Reading",
    "continues_topic",
    "leans_on_context",
    "readings",
    "resolve_followup",
    "topic",
]

CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
MAX_TURN_CHARS = 1000
FOLLOWUP_GAIN = 0.15
"""Cosine the topic must add to the question's best match for the question to be a follow-up."""
LEANING_GAIN = 0.0
"""The same for a short question with a referring word ("who can apply for it?"): its form
already suggests a follow-up, so the topic must only not make the match worse."""
TOPIC_DRIFT = 0.4
"""How much closer to the question alone its own best window must be than the best window found
with the topic for the topic to be dropped: a search with the topic that lands on text the
question alone hardly matches has been taken over by the topic."""
_OPENERS = ("and ", "also ", "what about", "how about", "but ", "so ", "then ")
_REFERRING = frozenset(
    "it its they them their theirs this that these those he she his her there such".split()
)


def leans_on_context(question: str) -> bool:
    """A question that leans on an earlier one by its form: "and children?", "how common is it?"."""
    words = normalize(question).split()
    n_terms = len(terms(question))
    return (
        question.lower().lstrip().startswith(_OPENERS)
        or n_terms <= 1
        or (n_terms <= 3 and any(w in _REFERRING for w in words))
    )


def topic(history: Sequence[str], *, turns: int) -> str:
    """The conversation's current topic: the last question that stood alone, with the follow-ups
    asked after it (only the last ``turns`` turns count)."""
    context = ""
    for earlier in [h for h in history if isinstance(h, str) and h.strip()][-turns:]:
        earlier = " ".join(CONTROL_CHARACTERS.sub(" ", earlier).split())[:MAX_TURN_CHARS]
        context = f"{context} {earlier}".strip() if context and leans_on_context(earlier) else earlier
    return context


def resolve_followup(question: str, history: Sequence[str], *, turns: int = 3) -> str:
    """The question to search for when only its form can decide (no embeddings): a follow-up by
    form ("and children?", "how common is it?") gets the earlier topic prefixed."""
    context = topic(history, turns=turns)
    if context and leans_on_context(question):
        return f"{context} {question}"
    return question


def opens_as_continuation(question: str) -> bool:
    return question.lower().lstrip().startswith(_OPENERS)


@dataclass(frozen=True)
class Reading:
    """A question and the ways it can be searched: alone, and with the topic (if any)."""

    question: str
    topic: str

    @property
    def combined(self) -> str:
        return f"{self.topic} {self.question}" if self.topic else self.question

    @property
    def undecided(self) -> bool:
        """Whether evidence must decide (a topic exists and the form does not say)."""
        return bool(self.topic) and not opens_as_continuation(self.question)

    def query(self, *, follows: bool) -> str:
        return self.combined if follows else self.question


def readings(question: str, history: Sequence[str], *, turns: int) -> Reading:
    return Reading(question, topic(history, turns=turns))


def continues_topic(reading: Reading, alone_best: float, combined_best: float, *, drift: float = 0.0) -> bool:
    """Whether to search ``reading`` with its topic, from the best cosine of each search and the
    ``drift``: the question alone's best cosine less its cosine to the window the search with the
    topic finds best (above :data:`TOPIC_DRIFT`, the topic has taken the search over)."""
    if not reading.topic:
        return False
    if opens_as_continuation(reading.question):
        return True
    if drift > TOPIC_DRIFT:
        return False
    gain = combined_best - alone_best
    return gain >= (LEANING_GAIN if leans_on_context(reading.question) else FOLLOWUP_GAIN)
