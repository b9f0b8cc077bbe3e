"""Check a question set against the text the index holds for each document of its corpus.

    python benchmarks/heldout/check.py [QUESTIONS [CORPUS]]

By default ``heldout.jsonl`` against ``docs/`` beside this file; ``benchmarks/devdocs/check.py``
checks the project's own dev set with it.

Every answer phrase must occur exactly once in its document's indexed text and nowhere else in
the corpus, compared as score.py compares (lowercase, runs of other characters as one space); an
unanswerable item has no phrases and ``doc`` null. Exits 1 naming each item that fails.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE.parents[1])]  # benchmarks/ (retrieval.py) and the repository

from retrieval import norm  # noqa: E402  (after the path above)


def problems(items: list[dict], texts: dict[str, str]) -> list[str]:
    """What is wrong with each item: a phrase not found once in its document, or found elsewhere."""
    out = []
    normed = {source: f" {norm(text)} " for source, text in texts.items()}
    for item in items:
        if item["kind"] == "unanswerable":
            if item["answer_phrases"] or item["doc"] is not None:
                out.append(f"{item['id']}: unanswerable with phrases or a doc")
            continue
        if item["doc"] not in normed:
            out.append(f"{item['id']}: no document {item['doc']!r}")
            continue
        for phrase in item["answer_phrases"]:
            p = f" {norm(phrase)} "
            found = {s: t.count(p) for s, t in normed.items() if p in t}
            if found != {item["doc"]: 1}:
                out.append(f"{item['id']}: {phrase!r} found {found or 'nowhere'}")
    return out


def main(
    argv: list[str] | None = None, *, questions: Path = HERE / "heldout.jsonl", corpus: Path = HERE / "docs"
) -> int:
    """Check ``QUESTIONS`` (default ``questions``) against the documents of ``CORPUS``."""
    from qa.ingest.sources import scan_sources

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("questions", nargs="?", type=Path, default=questions)
    parser.add_argument("corpus", nargs="?", type=Path, default=corpus)
    args = parser.parse_args(argv)
    docs, errors = scan_sources(args.corpus, args.corpus)
    if errors:
        print("\n".join(str(e) for e in errors))
        return 1
    items = [json.loads(line) for line in args.questions.read_text().splitlines() if line.strip()]
    found = problems(items, {d.source: d.text for d in docs})
    print("\n".join(found) or f"{len(items)} items: every phrase once in its document's indexed text")
    return 1 if found else 0


if __name__ == "__main__":
    raise SystemExit(main())
