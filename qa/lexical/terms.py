"""Names, acronyms and search terms of questions and documents, and which names a corpus knows."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from qa.ingest.normalize import STOP_WORDS, content_words, normalize, stem

__all__ = ["Phrasebook", "acronym", "acronyms", "names", "terms"]

_PHRASES, _WORDS = "phrases.txt", "words.txt"
_YEARS = re.compile(r"\b(1[5-9]\d\d|20\d\d)\b")
_NAME_TOKEN = re.compile(r"\d+-[A-Za-z][\w'\u2019-]*|[A-Za-z][\w'\u2019-]*|[^\w\s]")
"""Words and punctuation; a number joined to a word by a hyphen ("2-D", "3-D") is one token and no name."""
_NAME_GLUE = frozenset({"for", "of", "on", "and", "the", "against", "in", "to"})
_QUESTION_WORDS = frozenset(
    "what which who whom whose when where why how does do did is are was were can could should "
    "would will has have had according along under".split()
)


def names(text: str) -> list[tuple[str, ...]]:
    """Capitalised names in a question: "Which organisation publishes the Global Slavery Index?"
    gives [("Global", "Slavery", "Index")]. Possessive endings are dropped."""
    out: list[tuple[str, ...]] = []
    run: list[str] = []
    for token in [*_NAME_TOKEN.findall(text), "."]:
        word = re.sub(r"['\u2019]s$", "", token)
        lower = word.lower()
        single = len(word) == 1 and word.isupper() and word not in "AI"
        if word[:1].isupper() and (single or lower not in STOP_WORDS) and lower not in _QUESTION_WORDS:
            run.append(word)
        elif run and lower in _NAME_GLUE:
            run.append(word)
        else:
            while run and not run[-1][:1].isupper():
                run.pop()
            if run:
                out.append(tuple(run))
            run = []
    return out


def acronym(name: tuple[str, ...]) -> str | None:
    """Initials of a name of two or more capitalised words ("International Labour Organization" -> "ilo")."""
    capitals = [w for w in name if w[:1].isupper() and not w.isupper()]
    return "".join(w[0] for w in capitals).lower() if len(capitals) >= 2 else None


def acronyms(text: str) -> list[str]:
    """Acronyms of the multi-word names in ``text``; documents often use one where a question
    spells the name out. Callers keep only the ones their corpus contains."""
    return [a for a in (acronym(n) for n in names(text)) if a]


def terms(text: str) -> list[str]:
    """The stemmed content words that BM25 matches on."""
    return [stem(w) for w in content_words(text)]


class Phrasebook:
    """Which names occur in the corpus, as a phrase of content words or as an acronym."""

    def __init__(self, texts: Sequence[str]) -> None:
        self._attach("\n".join(" " + " ".join(content_words(t)) + " " for t in texts))

    def _attach(self, text: str, vocabulary: set[str] | None = None) -> None:
        self._text = text
        self._vocabulary = set(text.split()) if vocabulary is None else vocabulary
        self._has_years = any(_YEARS.fullmatch(w) for w in self._vocabulary)

    @property
    def vocabulary(self) -> frozenset[str]:
        """The corpus's distinct content words (normalised, no stop words)."""
        return frozenset(self._vocabulary)

    def save(self, folder: Path) -> list[str]:
        """Write the corpus's content words and their vocabulary under ``folder`` (plain text),
        so a process opening the index does not normalise the whole corpus again."""
        folder.mkdir(parents=True, exist_ok=True)
        (folder / _PHRASES).write_text(self._text, encoding="utf-8")
        (folder / _WORDS).write_text("\n".join(sorted(self._vocabulary)), encoding="utf-8")
        return [_PHRASES, _WORDS]

    @classmethod
    def load(cls, folder: Path) -> Phrasebook:
        """The phrasebook :meth:`save` wrote into ``folder``."""
        out = cls.__new__(cls)
        words = (folder / _WORDS).read_text(encoding="utf-8")
        out._attach((folder / _PHRASES).read_text(encoding="utf-8"), set(words.split("\n")) - {""})
        return out

    def knows(self, name: tuple[str, ...]) -> bool:
        words = [normalize(w) for w in name if w[:1].isupper()]
        phrase = [w for w in (normalize(x) for x in name) if w and (w not in STOP_WORDS or len(w) == 1)]
        if phrase and f" {' '.join(phrase)} " in self._text:
            return True
        short = acronym(name)
        if short and short in self._vocabulary:
            return True
        return not any(words)

    def missing(self, text: str) -> list[str]:
        """The names and years in ``text`` that the corpus never mentions (years only when the
        corpus mentions some: text stripped of numbers cannot tell).

        A name unknown as a whole is split at its joining words ("Lebanon and Canada"), and
        each part is checked on its own.
        """
        out = []
        if self._has_years:  # a corpus stripped of numbers (as the seed) cannot tell
            out += [year for year in _YEARS.findall(text) if year not in self._vocabulary]
        for name in names(text):
            if self.knows(name):
                continue
            parts: list[list[str]] = [[]]
            for word in name:
                if word.lower() in _NAME_GLUE:
                    parts.append([])
                else:
                    parts[-1].append(word)
            if len(parts) == 1:
                out.append(" ".join(name))
            else:
                out += [" ".join(p) for p in parts if p and not self.knows(tuple(p))]
        return out
