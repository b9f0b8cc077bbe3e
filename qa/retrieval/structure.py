"""Document structure as evidence: the names a document goes by and the heading path of each window.

A document's names are its title, its file name and its first heading, with the acronyms of
each. A question that uses a name only one document goes by ("In the Ninja manual, ...") prefers
that document. A window whose heading path shares the question's rare terms gains a little, so a
section titled "Environment variables" helps a question about environment variables.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import PurePosixPath

import numpy as np

from qa.index.core import Index
from qa.ingest.headings import SectionMap
from qa.lexical.bm25 import LexicalIndex
from qa.lexical.terms import acronym, terms

__all__ = ["Structure", "NAME_BONUS", "SECTION_BONUS"]

NAME_BONUS = 0.25
"""Added to the fused score of every window of the document a question names."""
SECTION_BONUS = 0.15
"""Added to a window's fused score times the IDF share of the query's terms in its heading path."""


@dataclass(frozen=True)
class DocumentName:
    """The terms (stemmed) and acronyms one document goes by."""

    terms: frozenset[str]


def _name_texts(title: str, source: str, first_heading: str) -> list[str]:
    stem = re.sub(r"^\d+_[0-9a-f]+$", "", PurePosixPath(source).stem)  # hashed file names say nothing
    return [t for t in (title, stem.replace("_", " ").replace("-", " "), first_heading) if t]


class Structure:
    """Names of the documents and heading paths of the windows of one index."""

    def __init__(self, index: Index, lexicon: LexicalIndex) -> None:
        self.index = index
        self.lexicon = lexicon

    @cached_property
    def sections(self) -> list[SectionMap]:
        return [SectionMap(d.text) for d in self.index.documents]

    @cached_property
    def names(self) -> list[DocumentName]:
        out = []
        for document, sections in zip(self.index.documents, self.sections):
            first = sections.headings[0].title if sections.headings else ""
            found: set[str] = set()
            for text in _name_texts(document.title, document.source, first):
                found.update(terms(text))
                short = acronym(tuple(w.capitalize() for w in text.split()))
                if short and len(short) >= 2:
                    found.add(short)
            out.append(DocumentName(frozenset(found)))
        return out

    @cached_property
    def distinctive_names(self) -> list[frozenset[str]]:
        """Name terms that no other document's name shares."""
        counts: dict[str, int] = {}
        for name in self.names:
            for term in name.terms:
                counts[term] = counts.get(term, 0) + 1
        return [frozenset(t for t in name.terms if counts[t] == 1) for name in self.names]

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

    def name_terms(self) -> set[str]:
        """Every term any document's name uses (a question naming one of them names no unknown)."""
        return set().union(*(n.terms for n in self.names)) if self.names else set()

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

    def bonus(self, window_ids: np.ndarray, query_terms: list[str]) -> np.ndarray:
        """What structure adds to the fused scores of ``window_ids``."""
        out = SECTION_BONUS * self.section_cover(window_ids, query_terms)
        named = self.named_document(query_terms)
        if named is not None:
            out += NAME_BONUS * (self.index.table["doc"][window_ids] == named)
        return out
