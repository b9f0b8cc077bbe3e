"""Token alignment as a ranking signal: does reading each grown passage through the model, word
by word, order the passages better than today's score?

    python benchmarks/alignment_rank.py [--cache DIR] [--reuse] [--sets a,b]

For every answerable question of the dev sets it takes the passages the retriever grows before
ranking (``Retriever.ranking_rows``, 8 of them, in the ranker's order) and, for each, the token
alignment of the question with the passage (``qa.retrieval.alignment.TokenAlignment.matches``:
each content word of the question, read in the question by the model, matched with the passage's
nearest token state). The matches are summarised per passage as

- ``idf``: the IDF-weighted mean of the question's terms' best matches (clipped to 0..1);
- ``idf+held``: the same with a term the passage holds counting 1 (as the abstainer reads it);
- ``mean``: the plain mean over the question's content words, the corpus's unknown ones too;

with the question alone, or (``as searched``) with the query the retriever searched (a follow-up
with its topic). Beside them, the free stand-in the abstainer already computes: soft coverage
(``qa.retrieval.soft_coverage``: a term the passage lacks credited by the closest of its words,
single words embedded once per corpus, no model run per question). The passages are then
ordered by ``score + λ × alignment`` (or soft coverage) and scored as ``score.py`` counts a hit
(hit@1 / hit@5 / MRR@5 over the answerable questions). The first row is the ranker's own order;
the product then moves passages by their sections (``qa.retrieval.section_order``), so its
figures in ``retrieval.py``'s table differ.

The alignment costs a model run over every passage (about 130 tokens each) per question; the
matches are saved in ``DIR/alignment-rank.pkl`` (``--reuse`` reads them).
"""

from __future__ import annotations

import argparse
import json
import pickle
from pathlib import Path

import numpy as np
from _common import REPO, table
from fit_ranker import metrics as ranked_metrics
from retrieval import SETS as RETRIEVAL_SETS
from retrieval import find_eval_dir, index_name

DEV_SETS = (
    "seed",
    "conversations",
    "manuals",
    "manuals-html",
    "manuals-pdf",
    "devdocs",
    "conversations-devdocs",
)
GROWN = 8
LAMBDAS = (0.1, 0.2, 0.3, 0.5, 1.0, 3.0)


def _settings(name: str, eval_dir: Path, cache: Path):
    from qa.config import Settings

    corpus_name = RETRIEVAL_SETS[name][1]
    if corpus_name is None:
        return Settings.load(root=REPO, rank_weights=())
    corpus = eval_dir / corpus_name
    index_dir = cache / f"index-{index_name(corpus_name)}"
    return Settings.load(root=corpus, seeds_dir=corpus, index_dir=index_dir, rank_weights=())


def collect(eval_dir: Path, cache: Path, names: list[str]) -> list[dict]:
    from qa.embedders.base import make_embedder
    from qa.index.build import ensure_index
    from qa.retrieval.retriever import Retriever

    rows: list[dict] = []
    embedder = None
    for name in names:
        questions_file = RETRIEVAL_SETS[name][0]
        settings = _settings(name, eval_dir, cache)
        embedder = embedder or make_embedder(settings)
        retriever = Retriever(ensure_index(settings, embedder).index, embedder, settings)
        alignment = retriever.alignment
        lines = (eval_dir / questions_file).read_text(encoding="utf-8").splitlines()
        items = [json.loads(line) for line in lines if line.strip()]
        items = [i for i in items if i["kind"] != "unanswerable"]
        histories = [i.get("history") or [] for i in items]
        found = retriever.ranking_rows([i["question"] for i in items], histories=histories, grown=GROWN)
        for item, ranking in zip(items, found):
            terms = list(dict.fromkeys(retriever.fusion.query_terms(item["question"])))
            own = [alignment.matches(item["question"], text) for text in ranking.texts]
            searched = (
                own
                if ranking.query == item["question"]
                else [alignment.matches(ranking.query, text) for text in ranking.texts]
            )
            rows.append(
                {
                    "set": name,
                    "item": item,
                    "texts": ranking.texts,
                    "score": ranking.features[:, 0].tolist(),
                    "weights": {t: retriever.fusion.lexicon.idf(t) for t in terms},
                    "own": own,
                    "searched": searched,
                }
            )
        print(f"{name}: {len(items)} questions", flush=True)
    return rows


def add_soft_coverage(rows: list[dict], eval_dir: Path, cache: Path) -> None:
    """Each row's passages' soft coverage of its question (``row["soft"]``)."""
    from qa.embedders.base import make_embedder
    from qa.index.build import ensure_index
    from qa.retrieval.retriever import Retriever

    embedder = None
    for name in dict.fromkeys(r["set"] for r in rows):
        settings = _settings(name, eval_dir, cache)
        embedder = embedder or make_embedder(settings)
        retriever = Retriever(ensure_index(settings, embedder).index, embedder, settings)
        retriever.soft_coverage.prepare(background=False)
        for row in (r for r in rows if r["set"] == name):
            question = row["item"]["question"]
            terms = list(dict.fromkeys(retriever.fusion.query_terms(question)))
            row["soft"] = np.asarray(
                [retriever.soft_coverage(text, question, terms) for text in row["texts"]]
            )


def summaries(row: dict, matches: list[dict[str, float]]) -> dict[str, np.ndarray]:
    """Each passage's alignment, summarised three ways (see the module's docstring)."""
    from qa.ingest.normalize import content_words, stem

    weights = row["weights"]
    total = sum(weights.values()) or 1.0
    out: dict[str, list[float]] = {"idf": [], "idf+held": [], "mean": []}
    for text, best in zip(row["texts"], matches):
        held = {stem(w) for w in content_words(text)}
        clipped = {t: min(max(best.get(t, 0.0), 0.0), 1.0) for t in weights}
        out["idf"].append(sum(w * clipped[t] for t, w in weights.items()) / total)
        out["idf+held"].append(
            sum(w * (1.0 if t in held else clipped[t]) for t, w in weights.items()) / total
        )
        out["mean"].append(float(np.mean([max(v, 0.0) for v in best.values()])) if best else 0.0)
    return {k: np.asarray(v) for k, v in out.items()}


def metrics(rows: list[dict], orders: list[list[int]]) -> str:
    """hit@1 / hit@5 / MRR@5 of ``rows`` with their passages in ``orders``, as one cell."""
    return " / ".join(f"{v:.3f}" for v in ranked_metrics(rows, orders))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=REPO / ".bench-cache")
    parser.add_argument("--eval-dir", type=Path, default=None)
    parser.add_argument("--reuse", action="store_true")
    parser.add_argument("--sets", default=",".join(DEV_SETS))
    args = parser.parse_args()
    saved = args.cache / "alignment-rank.pkl"
    names = args.sets.split(",")
    if args.reuse:
        rows = [r for r in pickle.loads(saved.read_bytes()) if r["set"] in names]
    else:
        args.cache.mkdir(parents=True, exist_ok=True)
        rows = collect(args.eval_dir or find_eval_dir(), args.cache, names)
        saved.write_bytes(pickle.dumps(rows))
    eval_dir = args.eval_dir or find_eval_dir()
    add_soft_coverage(rows, eval_dir, args.cache)
    for row in rows:
        row["aligned"] = {
            "own": summaries(row, row["own"]),
            "searched": summaries(row, row["searched"]),
        }
    by_set = {name: [r for r in rows if r["set"] == name] for name in names}
    lines = [
        ["ranker's order", ""]
        + [metrics(rs, [list(range(len(r["texts"]))) for r in rs]) for rs in by_set.values()]
    ]
    for question in ("own", "searched"):
        for summary in ("idf", "idf+held", "mean"):
            for lam in LAMBDAS:
                cells = []
                for rs in by_set.values():
                    orders = [
                        list(
                            np.argsort(
                                -(np.asarray(r["score"]) + lam * r["aligned"][question][summary]),
                                kind="stable",
                            )
                        )
                        for r in rs
                    ]
                    cells.append(metrics(rs, orders))
                label = f"{summary}, {'question alone' if question == 'own' else 'as searched'}"
                lines.append([label, f"{lam:g}", *cells])
    for lam in LAMBDAS:
        cells = [
            metrics(
                rs, [list(np.argsort(-(np.asarray(r["score"]) + lam * r["soft"]), kind="stable")) for r in rs]
            )
            for rs in by_set.values()
        ]
        lines.append(["soft coverage (no model run)", f"{lam:g}", *cells])
    print("hit@1 / hit@5 / MRR@5 over the answerable questions, passages ordered by score + λ × alignment")
    print(table(["alignment", "λ", *names], lines))


if __name__ == "__main__":
    main()
