"""Check devdocs.jsonl against the text the index holds for each document in docs/.

    python benchmarks/devdocs/check.py

The checks of ``benchmarks/heldout/check.py``: every answer phrase exactly once in its
document's indexed text and nowhere else in the corpus; an unanswerable item has no phrases and
``doc`` null. Exits 1 naming each item that fails.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent / "heldout")]

import check as heldout_check  # noqa: E402  (after the path above)

if __name__ == "__main__":
    raise SystemExit(heldout_check.main(questions=HERE / "devdocs.jsonl", corpus=HERE / "docs"))
