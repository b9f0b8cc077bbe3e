"""Document structure as evidence: the names a document goes by and the heading path of each window.

A document's names are its title, its file name and its first heading, with the acronyms of each
(with and without a version at the end). A question that uses a name only one document goes by
("In the Ninja manual, ...") prefers that document. A window whose heading path shares the
question's rare terms gains a little, so a section titled "Environment variables" helps a
question about environment variables.
"""

from __future__ import annotations

import re
import threading
from functools import cached_property
from pathlib import PurePosixPath

import numpy as np

from qa.index.lazy import PerDocument
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
_VERSION = re.compile(r"[\s,]+(?:(?:version|release|v)\.?\s*)?v?\d+(?:\.\d+)*\s*$", re.IGNORECASE)
"""A version at the end of a name ("... Version 2.0", "... v2", "... 1.4"), left out of its acronym."""


def _name_texts(title: str, source: str, first_heading: str) -> list[str]:
    stem = re.sub(r"^\d+_[0-9a-f]+$", "", PurePosixPath(source).stem)  # hashed file names say nothing
    return [t for t in (title, stem.replace("_", " ").replace("-", " "), first_heading) if t]


class Structure:
    """Names of the documents and heading paths of the windows of one index."""

    def __init__(self, index: Index, lexicon: TermWeights) -> None:
        self.index = index
        self.lexicon = lexicon
        self._lock = threading.Lock()
        self._section_keys: dict[tuple[int, int], int] = {}

    @cached_property
    def sections(self) -> PerDocument[SectionMap]:
        """Per document, its headings and the heading path of any offset (found on first use)."""
        documents = self.index.documents
        return PerDocument(
            lambda doc: SectionMap(documents[doc].text, documents[doc].sections), len(documents)
        )

    @cached_property
    def names(self) -> list[frozenset[str]]:
        """Per document, the stemmed terms and acronyms it goes by."""
        out = []
        for document, sections in zip(self.index.documents, self.sections):
            first = sections.headings[0].title if sections.headings else ""
            found: set[str] = set()
            for text in _name_texts(document.title, document.source, first):
                found.update(terms(text))
                for words in {text, _VERSION.sub("", text)}:  # "Public License Version 2.0": "pl"
                    short = acronym(tuple(w.capitalize() for w in words.split()))
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
        hits: dict[int, int] = {}
        for term in set(query_terms):  # a distinctive term names one document: no pass over all
            doc = self.name_owner.get(term)
            if doc is not None:
                hits[doc] = hits.get(doc, 0) + 1
        best = max(hits.values(), default=0)
        winners = [doc for doc, n in hits.items() if n == best]
        return winners[0] if best and len(winners) == 1 else None

    @cached_property
    def name_owner(self) -> dict[str, int]:
        """The document each distinctive name term belongs to."""
        return {term: doc for doc, terms_ in enumerate(self.distinctive_names) for term in terms_}

    def own_names(self, window_ids: np.ndarray, query_terms: list[str]) -> dict[str, np.ndarray]:
        """For each query term some document goes by: which of ``window_ids`` lie in a document
        that goes by it. A document is about its name in every section, wherever the words
        appear (the product's name in its manual): BM25 counts the name in each of its windows
        alike, so it tells the document from others but no window of it from another."""
        docs = self.index.windows.doc[np.asarray(window_ids, dtype=np.int64)]
        out = {}
        for term in dict.fromkeys(query_terms):
            holders = self.name_holders.get(term)  # not a pass over the candidates' documents
            if holders is not None:
                mask = np.isin(docs, holders)
                if mask.any():
                    out[term] = mask
        return out

    @cached_property
    def name_holders(self) -> dict[str, np.ndarray]:
        """Each term some document's name uses, with the documents that go by it (ascending)."""
        holders: dict[str, list[int]] = {}
        for doc, name in enumerate(self.names):
            for term in name:
                holders.setdefault(term, []).append(doc)
        return {term: np.array(docs, dtype=np.int64) for term, docs in holders.items()}

    def section_path(self, doc: int, offset: int) -> str:
        """The heading path of the section holding ``offset`` ("Manual › Pools"), or ""."""
        return SECTION_SEPARATOR.join(self.sections[doc].path(offset))

    def name_terms(self) -> set[str]:
        """Every term any document's name uses (a question naming one of them names no unknown)."""
        return set().union(*self.names) if self.names else set()

    @cached_property
    def section_terms(self) -> tuple[np.ndarray, list[frozenset[str]]]:
        """Per window, the id of its section's term set (-1 until a question first reads the
        window: see :meth:`section_ids`); and the term sets (id 0: no heading, or a heading
        path without terms, shared by every such section)."""
        return np.full(len(self.index), -1, np.int64), [frozenset()]

    def section_ids(self, window_ids: np.ndarray) -> np.ndarray:
        """The ids of ``window_ids``' section term sets, found for windows not read before."""
        window_sections, term_sets = self.section_terms
        found = window_sections[window_ids]
        if (found >= 0).all():
            return found
        windows = self.index.windows
        todo = np.unique(window_ids[found < 0])
        with self._lock:
            for doc, mine in self._documents_of(todo):
                sections = self.sections[doc]
                if not sections.starts:  # no heading: no terms
                    window_sections[mine] = 0
                    continue
                if isinstance(mine, slice):
                    mine = np.arange(mine.start, mine.stop)
                of_window = np.searchsorted(sections.starts, windows.start[mine], side="right") - 1
                for section in np.unique(of_window).tolist():
                    key = (doc, section)
                    if key not in self._section_keys:
                        path = sections.paths[section] if section >= 0 else ()
                        found = frozenset(t for title in path for t in terms(title))
                        self._section_keys[key] = len(term_sets) if found else 0  # 0: no terms
                        if found:
                            term_sets.append(found)
                    window_sections[mine[of_window == section]] = self._section_keys[key]
        return window_sections[window_ids]

    def section_cover(self, window_ids: np.ndarray, query_terms: list[str]) -> np.ndarray:
        """IDF share of the query's distinct terms found in each window's heading path."""
        weights = {t: self.lexicon.idf(t) for t in set(query_terms)}
        total = sum(weights.values())
        if not total:
            return np.zeros(len(window_ids), np.float32)
        sections = self.section_ids(np.asarray(window_ids, dtype=np.int64))
        term_sets = self.section_terms[1]
        unique, inverse = np.unique(sections, return_inverse=True)
        cover = [sum(w for t, w in weights.items() if t in term_sets[s]) / total for s in unique.tolist()]
        return np.asarray(cover, np.float32)[inverse]

    @cached_property
    def debris_words(self) -> PerDocument[np.ndarray]:
        """Per document, 1 for each word on a debris line, else 0 (found on first use)."""
        return PerDocument(self._debris_words, len(self.index.documents))

    @cached_property
    def link_words(self) -> PerDocument[np.ndarray]:
        """Per document, 1 for each word on a line of links, a bare address or a rule, else 0:
        what a passage never grows over (headings, unlike these, introduce what follows)."""
        return PerDocument(lambda doc: self._debris_words(doc, headings=False), len(self.index.documents))

    @cached_property
    def debris_sums(self) -> PerDocument[np.ndarray | None]:
        """Per document, how many debris words come before each word (one more entry than
        words), or None when it has none; found on first use and kept, so the debris share of
        any window is two lookups."""

        def sums(doc: int) -> np.ndarray | None:
            flags = self._debris_flags(doc)
            return None if flags is None or not flags.any() else np.concatenate([[0], np.cumsum(flags)])

        return PerDocument(sums, len(self.index.documents))

    def _debris_words(self, doc: int, *, headings: bool = True) -> np.ndarray:
        """Debris words of document ``doc`` (:data:`DEBRIS_PENALTY`), heading lines included or
        not; lines that repeat one of the document's headings away from the heading itself are
        a table of contents, whatever its format made of the links, and count as links."""
        flags = self._debris_flags(doc, headings=headings)
        return np.zeros(int(self.index.word_counts[doc]), np.int32) if flags is None else flags

    def _debris_flags(self, doc: int, *, headings: bool = True) -> np.ndarray | None:
        """:meth:`_debris_words`, or None for a document of one line that is not debris and
        echoes no heading (it has no debris, and its words' offsets are not needed)."""
        text = self.index.documents[doc].text
        echoes = _heading_echoes(text, self.sections[doc])
        if "\n" not in text and not echoes and not _debris_line(text, "", headings=headings):
            return None
        words = self.index.word_maps[doc]
        flags = _debris_words(text, words, headings=headings)
        for first, last in echoes:
            flags[np.searchsorted(words.starts, first) : np.searchsorted(words.starts, last)] = 1
        return flags

    @cached_property
    def debris_share(self) -> np.ndarray:
        """Per window, the share of its words on debris lines (0 on text without lines); NaN until
        a question first reads the window (see :meth:`debris_of`)."""
        return np.full(len(self.index), np.nan, np.float32)

    def debris_of(self, window_ids: np.ndarray) -> np.ndarray:
        """:attr:`debris_share` of ``window_ids``, found for windows not read before."""
        share = self.debris_share
        found = share[window_ids]
        missing = np.isnan(found)
        if missing.any():
            windows = self.index.windows
            todo = np.unique(window_ids[missing])
            for doc, mine in self._documents_of(todo):
                cumulative = self.debris_sums[doc]
                if cumulative is None:
                    share[mine] = 0.0
                    continue
                start, end = windows.word_start[mine], windows.word_end[mine]
                share[mine] = (cumulative[end] - cumulative[start]) / np.maximum(end - start, 1)
            found = share[window_ids]
        return found

    @cached_property
    def document_windows(self) -> np.ndarray | None:
        """Where each document's windows begin in the window table (one more entry than
        documents) when the table lists them document by document, as a build writes them;
        None otherwise."""
        doc = self.index.windows.doc
        if len(doc) > 1 and bool((doc[1:] < doc[:-1]).any()):
            return None
        return np.searchsorted(doc, np.arange(len(self.index.documents) + 1))

    def _documents_of(self, window_ids: np.ndarray) -> list[tuple[int, np.ndarray | slice]]:
        """The documents of ``window_ids`` (ascending, not read before), each with the windows to
        fill in: all of its windows (a slice of the table) when the table lists them document by
        document, so each document is read once whichever of its windows a question meets first
        (at a million windows most candidates are windows no question met before, in documents
        one did)."""
        docs = self.index.windows.doc[window_ids]
        bounds = self.document_windows
        if bounds is None:
            return _by_document(window_ids, docs)
        return [(doc, slice(int(bounds[doc]), int(bounds[doc + 1]))) for doc in np.unique(docs).tolist()]

    def bonus(self, window_ids: np.ndarray, query_terms: list[str]) -> np.ndarray:
        """What structure adds to the fused scores of ``window_ids``."""
        out = SECTION_BONUS * self.section_cover(window_ids, query_terms)
        if not _ASKS_FOR_DEBRIS & set(query_terms):
            out -= DEBRIS_PENALTY * self.debris_of(np.asarray(window_ids, dtype=np.int64))
        named = self.named_document(query_terms)
        if named is not None:
            out += NAME_BONUS * (self.index.table["doc"][window_ids] == named)
        return out


def _by_document(window_ids: np.ndarray, docs: np.ndarray) -> list[tuple[int, np.ndarray]]:
    """``window_ids`` grouped by their documents ``docs``: (document, its windows), in document
    order, each group in the order given; one sort, not one pass over the windows per document."""
    order = np.argsort(docs, kind="stable")
    docs, window_ids = docs[order], window_ids[order]
    cuts = (np.flatnonzero(docs[1:] != docs[:-1]) + 1).tolist()
    firsts, lasts = [0, *cuts], [*cuts, len(docs)]
    return [(int(docs[a]), window_ids[a:b]) for a, b in zip(firsts, lasts) if b > a]  # np.split: µs a group


def _debris_line(line: str, previous: str, *, headings: bool) -> bool:
    """Whether ``line`` (after ``previous``) is debris or a setext heading's underline."""
    underline = headings and bool(_RULE_LINE.match(line)) and bool(previous.strip())
    return bool(
        _LINK_LINE.match(line)
        or (_RULE_LINE.match(line) and not underline)
        or (headings and _HEADING_LINE.match(line))
        or _ADDRESS_LINE.match(line)
        or underline
    )


def _heading_echoes(text: str, sections: SectionMap) -> list[tuple[int, int]]:
    """Character spans of the lines that say only a heading's title (after a bullet or number)
    but are not that heading: entries of a table of contents."""
    own = {h.start for h in sections.headings}
    titles = {_bare(h.title) for h in sections.headings} - {""}
    if not titles:  # no heading to echo
        return []
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
        if _debris_line(line, previous, headings=headings):
            first = int(np.searchsorted(words.starts, line_start))
            last = int(np.searchsorted(words.starts, line_end, side="right"))
            flags[first:last] = 1
            if underline:  # the setext heading's own line
                flags[int(np.searchsorted(words.starts, line_start - len(previous) - 1)) : first] = 1
        previous = line
        line_start = line_end + 1
    return flags
