"""How a passage of a run is cited in the CSV and the report: one wording, one number format.

A run stores passages as JSON. The citation is rebuilt as a :class:`~qa.answer.Citation` and
written by the renderer the chat and the CLI use (:mod:`qa.render`, whose label drops a section
path's leading heading when it is the title): the label a learner needs first ("Human
trafficking", with page and section when known), then the file, the word range ("words 1,141–1,240 of 5,345")
and the characters -- so the CSV and the report say the same thing in the same numbers.

Runs in both JSON shapes are read: passages with top-level ``title``/``url``/``words`` (runs
written by ``Answer.to_dict``) and passages with a nested ``citation`` object.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from qa.answer import Citation
from qa.render import citation_detail, citation_label

__all__ = ["citation_detail", "citation_label", "citation_of", "passage_citation"]


def citation_of(passage: Mapping[str, Any]) -> Citation | None:
    """The citation of a run's passage, or None when the passage lacks its source, offsets or words."""
    nested = passage.get("citation")
    cited: Mapping[str, Any] = nested if isinstance(nested, Mapping) else passage
    words = cited.get("words") or passage.get("words") or {}
    try:
        return Citation(
            source=str(passage.get("source") or cited["source"]),
            title=str(cited.get("title") or ""),
            url=str(cited.get("url") or ""),
            start=int(passage["start"]),
            end=int(passage["end"]),
            word_start=int(words["start"]),
            word_end=int(words["end"]),
            total_words=int(words["total"]),
            page=cited.get("page"),
            section=str(cited.get("section") or ""),
        )
    except (KeyError, TypeError, ValueError):
        return None


def passage_citation(passage: Mapping[str, Any]) -> str:
    """ "Title · seeds/a.txt · words 12–111 of 900 · characters 80–702" for a run's passage.

    The label is left out when it would only repeat the file name; "" for no passage. A passage
    without word numbers (a hand-made run) is cited by file and characters.
    """
    if not passage:
        return ""
    c = citation_of(passage)
    if c is None:
        start, end = passage.get("start"), passage.get("end")
        chars = (
            f"characters {start:,}\u2013{end:,}" if isinstance(start, int) and isinstance(end, int) else ""
        )
        return " · ".join(str(x) for x in (passage.get("source"), chars) if x)
    label = citation_label(c)
    return citation_detail(c) if label == c.source else f"{label} · {citation_detail(c)}"
