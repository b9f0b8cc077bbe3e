"""Where a citation is in the author's file: a label ("p. 12 · Variable expansion") and a deep
link to the original (PDFs at ``#page=N``, web pages at ``#anchor``).

They live in :mod:`qa.render` (the one place an answer becomes words and links, below this
layer), so every renderer (chat page, widget JSON, CLI, report) says and links the same.
"""

from __future__ import annotations

from qa.render import ORIGINALS_PREFIX, original_link, place_label

__all__ = ["ORIGINALS_PREFIX", "original_link", "place_label"]
