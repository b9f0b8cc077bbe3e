"""Abstention calibration on all the dev sets together: signals, a fit, and the curve.

    python benchmarks/calibrate.py [--eval-dir ../shared/eval] [--cache DIR]

For every question of every dev set (seed, conversations with their history, manuals) it takes
the signals the retriever decides on (best cosine, coverage of the question's own terms by the
top passages), fits a class-weighted logistic regression on all of them pooled, and prints, for
a range of thresholds on the resulting chance, the share of unanswerable questions that abstain
and of answerable ones that (wrongly) abstain, per set and pooled. The current rule (the
retriever's own decision, cosine floor and unknown names included) is the last row. Paste the
fitted weights into ``qa/retrieval/abstain.py`` only if they are better on every set.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from _common import REPO, table
from retrieval import SETS, find_eval_dir


def collect(eval_dir: Path, cache: Path) -> list[dict]:
    from qa.config import Settings
    from qa.embedders.base import make_embedder
    from qa.index.build import ensure_index
    from qa.retrieval.retriever import Retriever

    rows: list[dict] = []
    embedder = None
    for name, (questions_file, corpus_name) in SETS.items():
        if corpus_name is None:
            settings = Settings.load(root=REPO)
        else:
            corpus = eval_dir / corpus_name
            settings = Settings.load(root=corpus, seeds_dir=corpus, index_dir=cache / f"index-{corpus_name}")
        embedder = embedder or make_embedder(settings)
        retriever = Retriever(ensure_index(settings, embedder).index, embedder, settings)
        items = [json.loads(line) for line in (eval_dir / questions_file).read_text().splitlines() if line]
        explained = retriever.explain_many(
            [i["question"] for i in items], histories=[i.get("history") or [] for i in items]
        )
        for item, (answer, signals) in zip(items, explained):
            rows.append(
                {
                    "set": name,
                    "unanswerable": item["kind"] == "unanswerable",
                    "evidence": signals.evidence,
                    "coverage": signals.coverage,
                    "abstained": answer.abstained,
                }
            )
    return rows


def fit(features: np.ndarray, labels: np.ndarray, *, steps: int = 4000) -> tuple[np.ndarray, float]:
    """Class-weighted, lightly L2-regularised logistic regression; weights on the raw features."""
    mean, spread = features.mean(0), features.std(0) + 1e-9
    z = (features - mean) / spread
    weights, bias = np.zeros(features.shape[1]), 0.0
    positives = labels.sum()
    balance = np.where(
        labels == 1, len(labels) / (2 * positives), len(labels) / (2 * (len(labels) - positives))
    )
    for _ in range(steps):
        chance = 1 / (1 + np.exp(-(z @ weights + bias)))
        gradient = (chance - labels) * balance
        weights -= 0.1 * (z.T @ gradient / len(labels) + 0.02 * weights)
        bias -= 0.1 * gradient.mean()
    return weights / spread, float(bias - (weights * mean / spread).sum())


def rates(abstains: np.ndarray, labels: np.ndarray, sets: np.ndarray) -> list[str]:
    out = []
    for name in [*SETS, "all"]:
        mine = np.ones(len(labels), bool) if name == "all" else sets == name
        right = abstains[mine & labels].mean() if (mine & labels).any() else float("nan")
        wrong = abstains[mine & ~labels].mean() if (mine & ~labels).any() else float("nan")
        out.append(f"{right:.2f} / {wrong:.2f}")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--eval-dir", type=Path, default=None)
    parser.add_argument("--cache", type=Path, default=REPO / ".bench")
    args = parser.parse_args()
    args.cache.mkdir(parents=True, exist_ok=True)
    rows = collect((args.eval_dir or find_eval_dir()).resolve(), args.cache)
    features = np.array([[r["evidence"], r["coverage"]] for r in rows])
    labels = np.array([r["unanswerable"] for r in rows])
    sets = np.array([r["set"] for r in rows])
    weights, bias = fit(features, labels.astype(float))
    print(f"fitted on {len(rows)} questions ({labels.sum()} unanswerable): chance = 1 / (1 + exp(-z)),")
    print(f"z = {weights[0]:.2f} * evidence + {weights[1]:.2f} * coverage + {bias:.2f}")
    chance = 1 / (1 + np.exp(-(features @ weights + bias)))
    table_rows = [
        [f"chance >= {t:.2f}", *rates(chance >= t, labels, sets)] for t in np.arange(0.40, 0.96, 0.05)
    ]
    table_rows.append(
        ["retriever as configured", *rates(np.array([r["abstained"] for r in rows]), labels, sets)]
    )
    print("cells: unanswerable that abstain / answerable that abstain (targets >= 0.80 / <= 0.05)")
    print(table(["rule", *SETS, "all"], table_rows))


if __name__ == "__main__":
    main()
