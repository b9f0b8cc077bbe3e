"""Reading a question in its conversation: is it a follow-up, and what is its topic?

``history`` holds the user's earlier questions, oldest first.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from qa.ingest.normalize import normalize
from qa.lexical.terms import terms

__all__ = ["CONTROL_CHARACTERS", "leans_on_context", "resolve_followup", "topic"]

CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
MAX_TURN_CHARS = 1000
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
    """The question to search for: a follow-up ("and children?") gets the earlier topic prefixed."""
    context = topic(history, turns=turns)
    if context and leans_on_context(question):
        return f"{context} {question}"
    return question
