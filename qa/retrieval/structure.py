"""Document structure as evidence: the names a document goes by and the heading path of each window.

A document's names are its title, its file name and its first heading, with the acronyms of
each. A question that uses a name only one document goes by ("In the Ninja manual, ...") prefers
that document. A window whose heading path shares the question's rare terms gains a little, so a
section titled "Environment variables" helps a question about environment variables.
"""

from __future__ import annotations

import re
from functools import cached_property
from pathlib import PurePosixPath

import numpy as np

from qa.index.model import Index
from qa.ingest.formats.base import SECTION_SEPARATOR
from qa.ingest.headings import SectionMap
from qa.lexical.terms import acronym, terms
from qa.retrieval.highlight import TermWeights

__all__ = ["Structure", "NAME_BONUS", "SECTION_BONUS"]

NAME_BONUS = 0.25
"""Added to the fused score of every window of the document a question names."""
SECTION_BONUS = 0.15
"""Added to a window's fused score times the IDF share of the query's terms in its heading path."""
DEBRIS_PENALTY = 0.3
"""Taken from a window's fused score times the share of its words that are debris: headings,
heading underlines, rules, box borders, lines of links (tables of contents), bare addresses."""
_ASKS_FOR_DEBRIS = frozenset(terms("contents link links url address heading title section chapter"))
_LINK_LINE = re.compile(r"^\s*(?:[-*+]|\d+[.)])?\s*\[[^\]]*\]\([^)]*\)\s*$")
_RULE_LINE = re.compile(r"^\s*(?:[-=*_~#|+]\s*){3,}$")
_HEADING_LINE = re.compile(r"^\s*#{1,6}\s")
_BULLET = re.compile(r"^\s*(?:[-*+\u2022\u25e6\u25aa]|\d+(?:\.\d+)*[.)]?)\s+")
_ADDRESS_LINE = re.compile(r"^\s*<?(?:https?://|www\.)\S+>?\s*$")


def _name_texts(title: str, source: str, first_heading: str) -> list[str]:
    stem = re.sub(r"^\d+_[0-9a-f]+$", "", PurePosixPath(source).stem)  # hashed file names say nothing
    return [t for t in (title, stem.replace("_", " ").replace("-", " "), first_heading) if t]


class Structure:
    """Names of the documents and heading paths of the windows of one index."""

    def __init__(self, index: Index, lexicon: TermWeights) -> None:
        self.index = index
        self.lexicon = lexicon

    @cached_property
    def sections(self) -> list[SectionMap]:
        """Per document, its headings and the heading path of any offset."""
        return [SectionMap(d.text, d.sections) for d in self.index.documents]

    @cached_property
    def names(self) -> list[frozenset[str]]:
        """Per document, the stemmed terms and acronyms it goes by."""
        out = []
        for document, sections in zip(self.index.documents, self.sections):
            first = sections.headings[0].title if sections.headings else ""
            found: set[str] = set()
            for text in _name_texts(document.title, document.source, first):
                found.update(terms(text))
                short = acronym(tuple(w.capitalize() for w in text.split()))
                if short and len(short) >= 2:
                    found.add(short)
            out.append(frozenset(found))
        return out

    @cached_property
    def distinctive_names(self) -> list[frozenset[str]]:
        """Name terms that no other document's name shares."""
        counts: dict[str, int] = {}
        for name in self.names:
            for term in name:
                counts[term] = counts.get(term, 0) + 1
        return [frozenset(t for t in name if counts[t] == 1) for name in self.names]

    def named_document(self, query_terms: list[str]) -> int | None:
        """The one document whose distinctive name terms the question uses most (None: no or a tie)."""
        if len(self.index.documents) < 2:
            return None
        asked = set(query_terms)
        hits = [len(asked & distinctive) for distinctive in self.distinctive_names]
        best = max(hits)
        if best == 0 or hits.count(best) > 1:
            return None
        return hits.index(best)

    def section_path(self, doc: int, offset: int) -> str:
        """The heading path of the section holding ``offset`` ("Manual › Pools"), or ""."""
        return SECTION_SEPARATOR.join(self.sections[doc].path(offset))

    def name_terms(self) -> set[str]:
        """Every term any document's name uses (a question naming one of them names no unknown)."""
        return set().union(*self.names) if self.names else set()

    @cached_property
    def section_terms(self) -> tuple[np.ndarray, list[frozenset[str]]]:
        """Per window, the id of its section's term set; and the term sets (id 0: no heading)."""
        table = self.index.table
        ids: dict[tuple[int, int], int] = {}
        term_sets: list[frozenset[str]] = [frozenset()]
        window_sections = np.zeros(len(self.index), np.int64)
        for window in range(len(self.index)):
            doc = int(table["doc"][window])
            section = self.sections[doc].section_of(int(table["start"][window]))
            key = (doc, section)
            if key not in ids:
                path = self.sections[doc].paths[section] if section >= 0 else ()
                ids[key] = len(term_sets)
                term_sets.append(frozenset(t for title in path for t in terms(title)))
            window_sections[window] = ids[key]
        return window_sections, term_sets

    def section_cover(self, window_ids: np.ndarray, query_terms: list[str]) -> np.ndarray:
        """IDF share of the query's distinct terms found in each window's heading path."""
        window_sections, term_sets = self.section_terms
        weights = {t: self.lexicon.idf(t) for t in set(query_terms)}
        total = sum(weights.values())
        if not total:
            return np.zeros(len(window_ids), np.float32)
        sections = window_sections[window_ids]
        cover = {
            s: sum(w for t, w in weights.items() if t in term_sets[s]) / total for s in np.unique(sections)
        }
        return np.asarray([cover[s] for s in sections], np.float32)

    @cached_property
    def debris_words(self) -> list[np.ndarray]:
        """Per document, 1 for each word on a debris line, else 0."""
        return self._debris(headings=True)

    @cached_property
    def link_words(self) -> list[np.ndarray]:
        """Per document, 1 for each word on a line of links, a bare address or a rule, else 0:
        what a passage never grows over (headings, unlike these, introduce what follows)."""
        return self._debris(headings=False)

    def _debris(self, *, headings: bool) -> list[np.ndarray]:
        """Debris words of each document (:data:`DEBRIS_PENALTY`), heading lines included or
        not; lines that repeat one of the document's headings away from the heading itself are
        a table of contents, whatever its format made of the links, and count as links."""
        out = []
        for document, words, sections in zip(self.index.documents, self.index.word_maps, self.sections):
            flags = _debris_words(document.text, words, headings=headings)
            for first, last in _heading_echoes(document.text, sections):
                flags[np.searchsorted(words.starts, first) : np.searchsorted(words.starts, last)] = 1
            out.append(flags)
        return out

    @cached_property
    def debris_share(self) -> np.ndarray:
        """Per window, the share of its words on debris lines (0 on text without lines)."""
        table = self.index.table
        cumulative = [np.concatenate([[0], np.cumsum(flags)]) for flags in self.debris_words]
        out = np.zeros(len(self.index), np.float32)
        for window in range(len(self.index)):
            doc, start, end = (int(table[c][window]) for c in ("doc", "word_start", "word_end"))
            out[window] = (cumulative[doc][end] - cumulative[doc][start]) / max(end - start, 1)
        return out

    def bonus(self, window_ids: np.ndarray, query_terms: list[str]) -> np.ndarray:
        """What structure adds to the fused scores of ``window_ids``."""
        out = SECTION_BONUS * self.section_cover(window_ids, query_terms)
        if not _ASKS_FOR_DEBRIS & set(query_terms):
            out -= DEBRIS_PENALTY * self.debris_share[window_ids]
        named = self.named_document(query_terms)
        if named is not None:
            out += NAME_BONUS * (self.index.table["doc"][window_ids] == named)
        return out


def _heading_echoes(text: str, sections: SectionMap) -> list[tuple[int, int]]:
    """Character spans of the lines that say only a heading's title (after a bullet or number)
    but are not that heading: entries of a table of contents."""
    own = {h.start for h in sections.headings}
    titles = {_bare(h.title) for h in sections.headings} - {""}
    spans, offset = [], 0
    for line in text.split("\n"):
        if offset not in own and _bare(line) in titles:
            spans.append((offset, offset + len(line)))
        offset += len(line) + 1
    return spans


def _bare(line: str) -> str:
    """A line without its bullet, list number, heading marks or link brackets, lowercased."""
    return " ".join(_BULLET.sub("", line).strip("[]()# \t").lower().split())


def _debris_words(text: str, words, *, headings: bool = True) -> np.ndarray:
    """1 for each word of ``text`` on a debris line (see :data:`DEBRIS_PENALTY`), else 0."""
    flags = np.zeros(len(words), np.int32)
    line_start = 0
    lines = text.split("\n")
    previous = ""
    for line in lines:
        line_end = line_start + len(line)
        underline = headings and bool(_RULE_LINE.match(line)) and bool(previous.strip())
        debris = (
            _LINK_LINE.match(line)
            or (_RULE_LINE.match(line) and not underline)
            or (headings and _HEADING_LINE.match(line))
            or _ADDRESS_LINE.match(line)
        )
        if debris or underline:
            first = int(np.searchsorted(words.starts, line_start))
            last = int(np.searchsorted(words.starts, line_end, side="right"))
            flags[first:last] = 1
            if underline:  # the setext heading's own line
                flags[int(np.searchsorted(words.starts, line_start - len(previous) - 1)) : first] = 1
        previous = line
        line_start = line_end + 1
    return flags
