"""What kind of answer a question asks for, and whether a passage holds one of that kind.

A question's wh-form often says what its answer looks like: "How many …" and "What port …" ask
for a number, "How long …" for a duration (a number or a unit of time), "Which version …" for a
version, "What year …" for a date, "Which country …" for a place, "Who …" for a person or an
organisation. A passage that holds nothing of that kind cannot be the answer, however close its
topic: an unanswerable question near a covered topic (a port number, a count of reviewers, the
release that introduced something) lands on a passage about the topic that lacks what is asked.
Only generic wh-forms and token shapes are read, never the words of a particular question. The
abstainer checks only the kinds whose shapes are unambiguous (:data:`CHECKED`); a place or a
name is only a capitalised word, and on text without capitals (the lowercased seed) it cannot be
told at all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["CHECKED", "AnswerType", "asked_type", "holds_type", "type_missing"]

_AUX = r"(?:is|are|was|were|do|does|did|will|would|can|could|should|has|have|had|must|may)"
_ASKS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("version", re.compile(r"\b(?:which|what)\s+(?:\w+\s+)?versions?\b", re.I)),
    (
        "date",
        re.compile(
            r"\bsince\s+when\b|\bhow\s+long\s+ago\b"
            r"|\b(?:which|what|in\s+which|in\s+what)\s+(?:years?|dates?|months?|decades?|century|day)\b",
            re.I,
        ),
    ),
    ("duration", re.compile(r"\bhow\s+(?:long|often|old|soon)\b", re.I)),
    (
        "number",
        re.compile(
            r"\bhow\s+(?:many|much|big|large|far|fast|high|tall|wide|deep|heavy)\b"
            r"|\b(?:which|what)\s+(?:\w+\s+)?(?:number|numbers|percentage|percent|proportion"
            r"|amount|port|ports|size|rate|limit|maximum|minimum|count|total)\b",
            re.I,
        ),
    ),
    (
        "place",
        re.compile(
            rf"(?:^|[,;:]\s*)where\s+{_AUX}\b|\b(?:which|what|in\s+which|in\s+what)\s+"
            r"(?:countries|country|city|cities|state|states|region|regions|jurisdiction|jurisdictions"
            r"|nation|nations|place|places|court|courts|continent)\b",
            re.I,
        ),
    ),
    (
        "name",
        re.compile(
            rf"(?:^|[,;:]\s*)(?:who|whom)\s+{_AUX}?\b|(?:^|[,;:]\s*)whose\b"
            r"|\b(?:which|what)\s+(?:organisation|organisations|organization|organizations|company"
            r"|companies|person|people|author|authors|agency|agencies|group|groups)\b",
            re.I,
        ),
    ),
)
CHECKED = ("number", "duration", "version", "date")
"""The kinds whose absence is read as evidence: their token shapes say what they are on any text.
A place or a name is only a capitalised word (a path or a command answers "Where …" in a manual),
and "When …" asks as often for a condition ("when are the hooks run?") as for a date, so it asks
for no kind here."""
_NUMBER_WORDS = (
    r"one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty"
    r"|hundred|hundreds|thousand|thousands|million|millions|billion|billions|dozen|dozens|half"
    r"|once|twice|percent|single|double"
)
_TIME_UNITS = (
    r"seconds?|minutes?|hours?|days?|daily|weeks?|weekly|months?|monthly|years?|yearly|annual(?:ly)?"
    r"|decades?|centur(?:y|ies)|overnight|always|never|each|every|until|after|before|immediately"
)
_HOLDS: dict[str, re.Pattern[str]] = {
    "number": re.compile(rf"\d|%|\b(?:{_NUMBER_WORDS})\b", re.I),
    "duration": re.compile(rf"\d|\b(?:{_NUMBER_WORDS}|{_TIME_UNITS})\b", re.I),
    "version": re.compile(r"\b\d+(?:\.\d+)+\b|\bv\d|\bversions?\s+\d|\b\d+\.x\b", re.I),
    "date": re.compile(
        r"\b(?:1[5-9]\d\d|20\d\d)s?\b|\b(?:january|february|march|april|may|june|july|august|september"
        r"|october|november|december)\b|\b\d{1,2}/\d{1,2}/\d{2,4}\b|\b(?:century|decade)\b",
        re.I,
    ),
}
_CAPITALISED = re.compile(r"\b[A-Z][a-z]+")
_OPENS = re.compile(r"(?:^|[.?!:;\n#*>\-|]\s*|\n\s*)[\"'“‘(\[]*$")
"""What precedes a word that opens a sentence or a line (capitalised by grammar, not as a name)."""


@dataclass(frozen=True)
class AnswerType:
    """The kind of answer a question asks for ('' when its form says nothing)."""

    kind: str


def asked_type(question: str) -> AnswerType:
    """The answer type ``question``'s wh-form asks for: version, date, number, place, name or ''."""
    for kind, pattern in _ASKS:
        if pattern.search(question):
            return AnswerType(kind)
    return AnswerType("")


def holds_type(text: str, kind: str) -> bool | None:
    """Whether ``text`` holds a token of ``kind`` (None: cannot tell, e.g. names in a text
    without capitals)."""
    if not kind:
        return None
    if kind in ("place", "name"):
        if not any(c.isupper() for c in text):
            return None
        return any(
            not _OPENS.search(text[max(0, m.start() - 4) : m.start()]) for m in _CAPITALISED.finditer(text)
        )
    return bool(_HOLDS[kind].search(text))


def type_missing(question: str, text: str, *, kinds: tuple[str, ...] = CHECKED) -> str:
    """The kind of answer ``question`` asks for (one of ``kinds``) when ``text`` holds none of
    it, else ''."""
    kind = asked_type(question).kind
    return kind if kind in kinds and holds_type(text, kind) is False else ""
