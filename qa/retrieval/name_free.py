"""The question as the dense side reads it when it names its document: without the name.

"What does the Apache license say about redistribution?" names its document, and the question's
vector carries the name: the windows closest to it are those that say "Apache License" and little
else, the title block and the appendix on how to apply the licence, not clause 4 on
redistribution. The name keeps its role as document preference (:meth:`Structure.bonus`, BM25);
the windows are ranked by the cosine of the question with the name's words taken out ("What does
the license say about redistribution?"). In a corpus of one document, any of its names names it.

Only the words of a name the document hardly uses in its body are taken out: the name then says
which document, not what about ("Apache" in 4 % of the licence's smallest windows, "manual" in
none of the Ninja manual's). A name the document is about throughout stays, since it is the topic
too ("triggers" in 55 % of the dpkg triggers spec's windows, "python" in 60 % of the Python
policy's). A question that names no document is searched as it is, and costs nothing more.
"""

from __future__ import annotations

import re
import threading

import numpy as np

from qa.index.model import Index
from qa.lexical.bm25 import LexicalIndex
from qa.lexical.terms import terms
from qa.retrieval.structure import Structure

__all__ = ["NameFree"]

_TOKEN = re.compile(r"\S+")


class NameFree:
    """Which words of a question only name its document, and the question without them."""

    def __init__(self, index: Index, structure: Structure, lexical: LexicalIndex, *, share: float) -> None:
        """``share``: a name's word is taken out when fewer than this share of its document's
        smallest windows hold it (``Settings.name_free_share``; 0: never)."""
        self.index = index
        self.structure = structure
        self.lexical = lexical
        self.share = share
        self._shares: dict[tuple[int, str], float] = {}
        self._lock = threading.Lock()

    @property
    def active(self) -> bool:
        return self.share > 0

    def name_only(self, query_terms: list[str]) -> frozenset[str]:
        """The query's terms that name the document it names and that its body hardly uses."""
        if not self.active:
            return frozenset()
        doc = self.structure.named_document(query_terms)
        if doc is None and len(self.index.documents) == 1:  # the only document: its name names it
            doc = 0
        if doc is None:
            return frozenset()
        name = self.structure.names[doc]
        return frozenset(t for t in set(query_terms) if t in name and self.body_share(doc, t) < self.share)

    def text(self, query: str, query_terms: list[str]) -> str | None:
        """``query`` without the words that only name its document (None: none, or nothing else left)."""
        drop = self.name_only(query_terms)
        if not drop:
            return None
        kept = [w for w in _TOKEN.findall(query) if not _only(terms(w), drop)]
        out = " ".join(kept)
        return out if terms(out) and out != query else None

    def body_share(self, doc: int, term: str) -> float:
        """The share of document ``doc``'s smallest windows that hold ``term`` (found once)."""
        key = (doc, term)
        with self._lock:
            if key in self._shares:
                return self._shares[key]
        windows = self._smallest_windows(doc)
        found = self.lexical.scores_for([term], windows) > 0 if len(windows) else np.zeros(0, bool)
        share = float(found.mean()) if len(found) else 0.0
        with self._lock:
            self._shares[key] = share
        return share

    def _smallest_windows(self, doc: int) -> np.ndarray:
        """Ids of document ``doc``'s windows of the smallest size."""
        windows = self.index.windows
        bounds = self.structure.document_windows
        if bounds is None:
            ids = np.flatnonzero(windows.doc == doc)
        else:
            ids = np.arange(int(bounds[doc]), int(bounds[doc + 1]))
        if not len(ids):
            return ids
        scales = windows.scale[ids]
        return ids[scales == scales.min()]


def _only(found: list[str], drop: frozenset[str]) -> bool:
    """Whether a word's terms are all name terms to take out ("Ninja's"; not "/var/lib/dpkg")."""
    return bool(found) and all(t in drop for t in found)
