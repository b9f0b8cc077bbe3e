"""A cited passage in its surroundings: the text around ``[start, end)`` of an indexed source.

Only indexed sources can be opened, by their exact ``source`` name, so a request can never
reach another file. The window is cut at word boundaries and bounded in size.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from qa.errors import UnknownSourceError
from qa.index.model import Index

__all__ = ["Context", "passage_context"]

MAX_PASSAGE_CHARS = 20_000


@dataclass(frozen=True)
class Context:
    """``before + passage + after`` is ``text[window_start:window_end]`` of the source."""

    source: str
    title: str
    url: str
    window_start: int
    window_end: int
    start: int
    end: int
    before: str
    passage: str
    after: str
    highlight_start: int | None = None
    highlight_end: int | None = None

    def to_dict(self) -> dict[str, Any]:
        out = {
            "source": self.source,
            "title": self.title,
            "url": self.url,
            "window": {"start": self.window_start, "end": self.window_end},
            "start": self.start,
            "end": self.end,
            "before": self.before,
            "passage": self.passage,
            "after": self.after,
            "highlight": None,
        }
        if self.highlight_start is not None:
            out["highlight"] = {"start": self.highlight_start, "end": self.highlight_end}
        return out


def passage_context(
    index: Index,
    source: str,
    start: int,
    end: int,
    *,
    words: int = 150,
    highlight: tuple[int, int] | None = None,
) -> Context:
    """The passage ``[start, end)`` of ``source`` with up to ``words`` words on each side.

    Raises :class:`UnknownSourceError` when the source is not indexed or the offsets do not fit
    in it. ``highlight``, if given, must lie inside the passage; otherwise it is dropped.
    """
    try:
        doc_no = index.document_index(source)
    except KeyError:
        raise UnknownSourceError(f"no indexed source named {source!r}") from None
    doc = index.documents[doc_no]
    if not (0 <= start < end <= len(doc.text)):
        raise UnknownSourceError(
            f"offsets {start}..{end} do not fit in {source!r} ({len(doc.text)} characters)"
        )
    if end - start > MAX_PASSAGE_CHARS:
        raise UnknownSourceError(f"a passage is at most {MAX_PASSAGE_CHARS} characters")
    wm = index.word_maps[doc_no]
    first = _word_at(wm.starts, start)
    last = _word_at(wm.starts, max(end - 1, start))
    lo, hi = start, end
    if len(wm) and words:
        lo = int(wm.starts[max(first - words, 0)])
        hi = int(wm.ends[min(last + words, len(wm) - 1)])
    lo, hi = min(lo, start), max(hi, end)
    if highlight is not None and not (start <= highlight[0] < highlight[1] <= end):
        highlight = None
    return Context(
        source=doc.source,
        title=doc.title,
        url=doc.url,
        window_start=lo,
        window_end=hi,
        start=start,
        end=end,
        before=doc.text[lo:start],
        passage=doc.text[start:end],
        after=doc.text[end:hi],
        highlight_start=highlight[0] if highlight else None,
        highlight_end=highlight[1] if highlight else None,
    )


def _word_at(starts: np.ndarray, offset: int) -> int:
    """Index of the last word starting at or before ``offset`` (0 if none)."""
    return max(int(np.searchsorted(starts, offset, side="right")) - 1, 0)
