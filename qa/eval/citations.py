"""How a passage of a run is cited in the CSV and the report: one wording, one number format.

A run stores passages as JSON (``source``, ``start``, ``end``, ``words {start, end, total}``, ...);
these functions turn that into the same words the rest of the product uses for a
:class:`~qa.answer.Citation` ("words 1,141–1,240 of 5,345"), so the CSV and the page agree.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["character_range_label", "passage_citation", "word_range_label"]


def word_range_label(words: Mapping[str, Any] | None) -> str:
    """ "words 1,141–1,240 of 5,345" (1-based, inclusive) from a run's ``words`` field, or ""."""
    if not words or "start" not in words or "end" not in words:
        return ""
    label = f"words {int(words['start']) + 1:,}\u2013{int(words['end']):,}"
    total = words.get("total")
    return f"{label} of {int(total):,}" if isinstance(total, int) else label


def character_range_label(passage: Mapping[str, Any]) -> str:
    """ "characters 14095–14840": the Python offsets of the passage in its source, or "".

    Offsets are written without separators: they are for slicing ``source[start:end]``.
    """
    start, end = passage.get("start"), passage.get("end")
    if not isinstance(start, int) or not isinstance(end, int):
        return ""
    return f"characters {start}\u2013{end}"


def passage_citation(passage: Mapping[str, Any]) -> str:
    """ "seeds/a.txt, words 12–111 of 900 (characters 80–702)" for a run's passage, or "" for none."""
    if not passage:
        return ""
    parts = [str(passage.get("source", "")), word_range_label(passage.get("words"))]
    where = ", ".join(part for part in parts if part)
    chars = character_range_label(passage)
    return f"{where} ({chars})" if chars else where
