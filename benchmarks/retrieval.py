"""Retrieval quality, variants side by side on a question set, with score.py's definitions.

    python benchmarks/retrieval.py [QUESTIONS.jsonl] [-k 5]

Baselines (the naive pipelines, single 100-word windows with stride 50):
  naive dense   all-MiniLM-L6-v2 + FAISS flat
  naive BM25    bm25s over the same windows
Project variants (same index, one setting changed):
  dense         multi-scale windows, dense scores only
  lexical       multi-scale windows, BM25 only
  hybrid        dense + BM25 fused, windows shown as they are (no passage shaping)
  hybrid+shape  the default: fused word scores, passages centred on their peak, highlight
"""

from __future__ import annotations

import argparse
import re

from _common import DEV, REPO, table

WINDOW, STRIDE = 100, 50


def naive_windows(text: str) -> list[tuple[int, int]]:
    spans = [m.span() for m in re.finditer(r"\S+", text)]
    out = []
    for i in range(0, max(len(spans) - STRIDE, 1), STRIDE):
        chunk = spans[i : i + WINDOW]
        out.append((chunk[0][0], chunk[-1][1]))
    return out


def naive_runs(index, embedder, questions, k: int) -> dict[str, dict[str, dict]]:
    import bm25s
    import numpy as np

    from qa.lexical.terms import terms

    docs = [(d.source, d.text, s, e) for d in index.documents for s, e in naive_windows(d.text)]
    texts = [t[s:e] for _, t, s, e in docs]
    vectors = embedder.encode(texts)
    bm25 = bm25s.BM25()
    bm25.index([terms(t) for t in texts], show_progress=False)
    qvec = embedder.encode([q.question for q in questions])
    runs: dict[str, dict[str, dict]] = {"naive dense (baseline)": {}, "naive BM25 (baseline)": {}}
    for qi, q in enumerate(questions):
        dense = vectors @ qvec[qi]
        lexical = bm25.get_scores(terms(q.question))
        for name, scores in (("naive dense (baseline)", dense), ("naive BM25 (baseline)", lexical)):
            top = np.argsort(-scores, kind="stable")[:k]
            runs[name][q.id] = {
                "abstained": False,
                "passages": [
                    {"text": texts[i], "source": docs[i][0], "start": docs[i][2], "end": docs[i][3]}
                    for i in top
                ],
            }
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("questions", nargs="?", default=str(DEV))
    parser.add_argument("-k", type=int, default=5)
    args = parser.parse_args()

    from qa.config import Settings
    from qa.embedders.base import make_embedder
    from qa.eval import read_questions, run_eval, score
    from qa.index.core import ensure_index
    from qa.retrieval.retriever import Retriever

    settings = Settings.load(root=REPO)
    embedder = make_embedder(settings)
    index = ensure_index(settings, embedder).index
    questions, problems = read_questions(args.questions)
    for p in problems:
        print("skipped", p)

    def source_text(source: str) -> str | None:
        try:
            return index.document(source).text
        except KeyError:
            return None

    runs = naive_runs(index, embedder, questions, args.k)
    variants = {
        "dense": {"mode": "dense"},
        "lexical": {"mode": "lexical"},
        "hybrid": {"shaping": False},
        "hybrid+shape (default)": {},
    }
    for name, changes in variants.items():
        retriever = Retriever(index, embedder, settings.replace(**changes))
        runs[name] = run_eval(retriever, questions, k=args.k).by_id  # what `qa eval` runs

    rows = []
    for name, run in runs.items():
        m = score(questions, run, k=args.k, source_text=source_text)[0].as_dict()
        rows.append(
            [
                name,
                m["hit@1"],
                m["hit@3"],
                m[f"hit@{args.k}"],
                m[f"mrr@{args.k}"],
                m["abstain_ok"],
                m["false_abstain"],
                m["avg_words"],
                m["too_long"],
                m["bad_citations"],
            ]
        )
    print(f"{args.questions}: {len(questions)} questions, top {args.k}")
    headers = [
        "system",
        "hit@1",
        "hit@3",
        f"hit@{args.k}",
        f"MRR@{args.k}",
        "abstain ok",
        "false abstain",
        "words",
        "too long",
        "bad citations",
    ]
    print(table(headers, rows))


if __name__ == "__main__":
    main()
