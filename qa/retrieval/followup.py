"""Reading a question in its conversation: is it a follow-up, and what is its topic?

``history`` holds the user's earlier questions, oldest first. A question that opens like a
continuation ("and children?", "what about ...") is a follow-up. Any other question is decided by
evidence: it is searched alone and with the conversation's topic, and it is a follow-up only when
the topic makes the best match much closer (:data:`FOLLOWUP_GAIN`), or, for a short question with
a referring word, not farther (:data:`LEANING_GAIN`). A question whose form does not lean on the
conversation must also show that the topic did not take its search over (:class:`TopicCheck`):
the passage found with the topic must keep the question's own words (:data:`TOPIC_TAKEOVER`),
and must not be the topic's own passage again when the question alone is answered in another
document. A question that stands on its own ("Why are people trafficked for their organs?" after
"What is debt bondage?", "What's the compdb tool for?" after a question on Ninja's pools, a
question on Ninja after one on fontconfig) finds its answer alone as well as with the topic, or
better, so it is searched alone.
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
    "LEANING_GAIN",
    "TOPIC_TAKEOVER",
    "Reading",
    "TopicCheck",
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
TOPIC_TAKEOVER = 0.5
"""Share of the question's own words (IDF-weighted, of those the documents use) that the top
passage found with the topic may hold less of than the top passage found for the question alone
before the topic is dropped: a search with the topic that loses half of what the question itself
asks about has been taken over by the topic. Checked only for a question whose form does not lean
on the conversation; one that does ("Who designed its logo?") has few words of its own, and a
topic passage lacking them is left for abstention to weigh."""
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

    @property
    def keeps_own_words(self) -> bool:
        """Whether the topic must keep the question's own words (:data:`TOPIC_TAKEOVER`): the
        question neither opens as a continuation nor leans on the conversation by its form."""
        return self.undecided and not leans_on_context(self.question)

    def query(self, *, follows: bool) -> str:
        return self.combined if follows else self.question


@dataclass(frozen=True)
class TopicCheck:
    """What the searches alone and with the topic found, for a question that must keep its own words.

    ``lost``: the IDF share of the question's own words (those the documents use) that the top
    passage found alone holds less its share in the top passage found with the topic.
    ``back_to_topic``: the search with the topic found again the top passage of the topic alone,
    in another document than the question alone is answered in: the topic pulled the question
    back to the previous answer instead of helping it find its own.
    """

    lost: float
    back_to_topic: bool = False

    @property
    def taken_over(self) -> bool:
        return self.lost >= TOPIC_TAKEOVER or self.back_to_topic


def readings(question: str, history: Sequence[str], *, turns: int) -> Reading:
    return Reading(question, topic(history, turns=turns))


def continues_topic(
    reading: Reading, alone_best: float, combined_best: float, *, check: TopicCheck | None = None
) -> bool:
    """Whether to search ``reading`` with its topic, from the best cosine of each search and, for a
    question that must keep its own words, the ``check`` of what the two searches found (None:
    not made)."""
    if not reading.topic:
        return False
    if opens_as_continuation(reading.question):
        return True
    if check is not None and reading.keeps_own_words and check.taken_over:
        return False
    gain = combined_best - alone_best
    return gain >= (LEANING_GAIN if leans_on_context(reading.question) else FOLLOWUP_GAIN)
