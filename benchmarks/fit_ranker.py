"""A learned passage order fitted on all the dev sets together, checked set by set.

    python benchmarks/fit_ranker.py [--eval-dir ../shared/eval] [--cache DIR] [--reuse]
                                    [--grown 8] [--features score,dense,...] [--l2 0.1]

For every answerable question of every dev set (seed, conversations with their history, manuals
as Markdown, HTML and PDF) it takes the passages the retriever grows before ranking (``--grown``,
in today's order) with their features (``qa.retrieval.rerank.FEATURE_NAMES``), marks those that
answer (as ``score.py`` counts a hit: any answer phrase; for ``needs_all`` questions the share of
the phrases held), and fits a linear score by a listwise softmax (the cross-entropy between the
softmax of the scores over a question's passages and its answering passages; L2-regularised, on
standardised features). It prints hit@1 / hit@5 / MRR@5 per set for:

- today's order (the passages as the retriever ranks them);
- each model fitted on all sets pooled (optimistic: the sets it is scored on were fitted);
- each model LEFT-ONE-SET-OUT: every set scored by a model fitted without it (the manuals in
  their three formats share their questions, so they are left out together);
- forward selection of a few features, nested: in each left-out fold the features are chosen
  on the other sets alone (by their own leave-one-set-out), so the left-out set never picks them.

Adopt weights (``Settings.rank_weights``, ``QA_RANK_WEIGHTS``) only if leave-one-set-out beats
today's order on the sum of the sets and loses no set more than 0.01 in hit@1, hit@5 or MRR.
``--reuse`` reads the rows saved by the last run (``DIR/ranker-rows-G.json``).
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import numpy as np
from _common import REPO, table
from retrieval import SETS as RETRIEVAL_SETS
from retrieval import find_eval_dir, first_hit

SETS = {**RETRIEVAL_SETS, "manuals-pdf": ("docs-dev.jsonl", "docs-pdf")}
GROUPS = {name: "manuals" for name, (questions, _) in SETS.items() if questions == "docs-dev.jsonl"}
"""Sets that share their questions (the manuals as Markdown, HTML, PDF): left out together."""
K = 5
MAX_SELECTED = 5
"""Forward selection stops at this many features."""


def _norm(text: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text.lower()).split())


def relevance(item: dict, text: str, *, max_words: int = 120) -> float:
    """How much of the answer a passage holds: 1 when it holds a phrase (a share of the phrases
    for ``needs_all``), 0 when none or when it is over ``max_words`` (score.py drops it)."""
    if len(text.split()) > max_words:
        return 0.0
    shown = _norm(text)
    held = [_norm(p) in shown for p in item["answer_phrases"]]
    return float(np.mean(held)) if item.get("needs_all") else float(any(held))


def collect(eval_dir: Path, cache: Path, grown: int) -> list[dict]:
    from qa.config import Settings
    from qa.embedders.base import make_embedder
    from qa.index.build import ensure_index
    from qa.retrieval.retriever import Retriever

    rows: list[dict] = []
    embedder = None
    for name, (questions_file, corpus_name) in SETS.items():
        if corpus_name is None:
            settings = Settings.load(root=REPO, rank_weights=())
        else:
            corpus = eval_dir / corpus_name
            settings = Settings.load(
                root=corpus, seeds_dir=corpus, index_dir=cache / f"index-{corpus_name}", rank_weights=()
            )
        embedder = embedder or make_embedder(settings)
        retriever = Retriever(ensure_index(settings, embedder).index, embedder, settings)
        lines = (eval_dir / questions_file).read_text(encoding="utf-8").splitlines()
        items = [json.loads(line) for line in lines if line.strip()]
        items = [i for i in items if i["kind"] != "unanswerable"]
        found = retriever.ranking_rows(
            [i["question"] for i in items], histories=[i.get("history") or [] for i in items], grown=grown
        )
        for item, ranking in zip(items, found):
            rows.append(
                {
                    "set": name,
                    "item": item,
                    "texts": ranking.texts,
                    "features": ranking.features.tolist(),
                    "relevance": [relevance(item, t) for t in ranking.texts],
                }
            )
    return rows


def metrics(rows: list[dict], orders: list[np.ndarray]) -> tuple[float, float, float]:
    """hit@1, hit@5 and MRR@5 of ``rows`` with their passages in ``orders``, as score.py counts."""
    hit1 = hit5 = rr = 0.0
    for row, order in zip(rows, orders):
        rank = first_hit(row["item"], [row["texts"][i] for i in order[:K]])
        if rank is not None:
            hit1 += rank == 0
            hit5 += 1
            rr += 1 / (rank + 1)
    n = max(len(rows), 1)
    return hit1 / n, hit5 / n, rr / n


def fit(rows: list[dict], columns: list[int], *, l2: float, loss: str = "listwise") -> np.ndarray:
    """Weights over all features (0 outside ``columns``), fitted on standardised features with an
    L2 penalty ``l2``: ``listwise``, the softmax likelihood of the answering passages among a
    question's passages; ``pairwise``, the logistic likelihood of every answering passage above
    every passage that answers less (each question weighing the same). Both are convex: Newton's
    method with a backtracking step finds the optimum whatever the features' correlations."""
    weights = np.zeros(len(rows[0]["features"][0]))
    useful = [r for r in rows if sum(r["relevance"]) > 0]
    if not columns or not useful:
        return weights
    pooled = np.concatenate([np.asarray(r["features"])[:, columns] for r in useful])
    mean, spread = pooled.mean(0), pooled.std(0)
    spread[spread < 1e-6] = np.inf  # a constant feature (up to float noise) gets no weight
    lists = [(np.asarray(r["features"])[:, columns] - mean) / spread for r in useful]
    objective = (_listwise if loss == "listwise" else _pairwise)(lists, [r["relevance"] for r in useful])
    w = np.zeros(len(columns))
    for _ in range(100):
        value, gradient, hessian = objective(w)
        value, gradient = value + l2 * w @ w / 2, gradient + l2 * w
        step = np.linalg.solve(hessian + l2 * np.eye(len(w)) + 1e-9 * np.eye(len(w)), gradient)
        size = 1.0
        while size > 1e-6:
            trial = w - size * step
            if objective(trial)[0] + l2 * trial @ trial / 2 <= value - 1e-4 * size * gradient @ step:
                break
            size /= 2
        w = w - size * step
        if np.abs(size * step).max() < 1e-10:
            break
    weights[columns] = w / spread
    return weights


def _listwise(lists: list[np.ndarray], relevance: list[list[float]]):
    """The mean over questions of the cross-entropy of the softmax of the scores against the
    answering passages (relevance-weighted), with its gradient and Hessian."""
    longest = max(len(x) for x in lists)
    x = np.zeros((len(lists), longest, lists[0].shape[1]))
    target = np.zeros((len(lists), longest))
    present = np.zeros((len(lists), longest), bool)
    for i, (features, rel) in enumerate(zip(lists, relevance)):
        x[i, : len(features)] = features
        target[i, : len(features)] = np.asarray(rel) / sum(rel)
        present[i, : len(features)] = True

    def objective(w: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        scores = np.where(present, x @ w, -np.inf)
        top = scores.max(1, keepdims=True)
        log_total = np.log(np.exp(scores - top).sum(1, keepdims=True)) + top
        chance = np.exp(scores - log_total)
        value = -(target * np.where(present, scores - log_total, 0.0)).sum() / len(lists)
        gradient = np.einsum("qpf,qp->f", x, chance - target) / len(lists)
        mean = np.einsum("qpf,qp->qf", x, chance)
        hessian = (np.einsum("qpf,qpg,qp->fg", x, x, chance) - mean.T @ mean) / len(lists)
        return float(value), gradient, hessian

    return objective


def _pairwise(lists: list[np.ndarray], relevance: list[list[float]]):
    """The mean over questions of the logistic loss of each pair (more relevant above less),
    with its gradient and Hessian."""
    differences, weights = [], []
    for features, rel in zip(lists, relevance):
        rel = np.asarray(rel)
        better, worse = np.nonzero(rel[:, None] > rel[None, :])
        if len(better):
            differences.append(features[better] - features[worse])
            weights.append(np.full(len(better), 1 / len(better)))
    d, pair_weight = np.concatenate(differences), np.concatenate(weights)

    def objective(w: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        margin = d @ w
        wrong = 1 / (1 + np.exp(margin))  # the chance the pair is ordered the wrong way
        value = (pair_weight * np.logaddexp(0, -margin)).sum() / len(lists)
        gradient = -(d.T @ (pair_weight * wrong)) / len(lists)
        hessian = (d.T * (pair_weight * wrong * (1 - wrong))) @ d / len(lists)
        return float(value), gradient, hessian

    return objective


def orders_by(rows: list[dict], weights: np.ndarray) -> list[np.ndarray]:
    from qa.retrieval.rerank import order_by

    return [order_by(np.asarray(r["features"]), weights) for r in rows]


def group_of(name: str) -> str:
    return GROUPS.get(name, name)


def left_out(rows: list[dict], columns: list[int], **how) -> list[np.ndarray]:
    """Every row ordered by a model fitted (``how``: :func:`fit`'s options) on the groups other
    than its own."""
    orders: list[np.ndarray] = [np.zeros(0)] * len(rows)
    for group in dict.fromkeys(group_of(r["set"]) for r in rows):
        weights = fit([r for r in rows if group_of(r["set"]) != group], columns, **how)
        for i, r in enumerate(rows):
            if group_of(r["set"]) == group:
                orders[i] = orders_by([r], weights)[0]
    return orders


def total(rows: list[dict], orders: list[np.ndarray]) -> float:
    """Sum over sets of hit@1 + hit@5 + MRR@5: what selection and adoption compare."""
    return sum(sum(metrics(*_of_set(rows, orders, name))) for name in dict.fromkeys(r["set"] for r in rows))


def _of_set(rows, orders, name) -> tuple[list[dict], list[np.ndarray]]:
    mine = [i for i, r in enumerate(rows) if r["set"] == name]
    return [rows[i] for i in mine], [orders[i] for i in mine]


def forward(rows: list[dict], names: tuple[str, ...], **how) -> list[int]:
    """Features added one at a time (at most :data:`MAX_SELECTED`, ``score`` first: today's order
    is the start) while the leave-one-set-out total over ``rows`` grows."""
    chosen = [names.index("score")]
    best = total(rows, left_out(rows, chosen, **how))
    while len(chosen) < MAX_SELECTED:
        tries = {
            c: total(rows, left_out(rows, [*chosen, c], **how)) for c in range(len(names)) if c not in chosen
        }
        column = max(tries, key=tries.__getitem__)
        if tries[column] <= best + 1e-9:
            break
        chosen.append(column)
        best = tries[column]
    return chosen


def nested(rows: list[dict], names: tuple[str, ...], **how) -> tuple[list[np.ndarray], dict[str, list[str]]]:
    """Each group ordered by a model whose features were chosen (:func:`forward`, on the other
    groups' own leave-one-set-out) and whose weights were fitted without it."""
    orders: list[np.ndarray] = [np.zeros(0)] * len(rows)
    picked = {}
    for group in dict.fromkeys(group_of(r["set"]) for r in rows):
        train = [r for r in rows if group_of(r["set"]) != group]
        columns = forward(train, names, **how)
        picked[group] = [names[c] for c in columns]
        weights = fit(train, columns, **how)
        for i, r in enumerate(rows):
            if group_of(r["set"]) == group:
                orders[i] = orders_by([r], weights)[0]
    return orders, picked


def nested_choice(
    rows: list[dict], configs: dict[str, tuple[list[int], dict]]
) -> tuple[list[np.ndarray], dict]:
    """Each group ordered by the configuration (``label: (columns, fit options)``) that the other
    groups' own leave-one-set-out scores best, fitted without the group: how well choosing among
    ``configs`` generalises, the choice included."""
    orders: list[np.ndarray] = [np.zeros(0)] * len(rows)
    picked = {}
    for group in dict.fromkeys(group_of(r["set"]) for r in rows):
        train = [r for r in rows if group_of(r["set"]) != group]
        scored = {label: total(train, left_out(train, cols, **how)) for label, (cols, how) in configs.items()}
        picked[group] = max(scored, key=scored.__getitem__)
        columns, how = configs[picked[group]]
        weights = fit(train, columns, **how)
        for i, r in enumerate(rows):
            if group_of(r["set"]) == group:
                orders[i] = orders_by([r], weights)[0]
    return orders, picked


def line(label: str, rows: list[dict], orders: list[np.ndarray]) -> list[str]:
    cells = [label]
    for name in SETS:
        h1, h5, mrr = metrics(*_of_set(rows, orders, name))
        cells.append(f"{h1:.3f} / {h5:.3f} / {mrr:.3f}")
    cells.append(f"{total(rows, orders):.3f}")
    return cells


def weights_line(weights: np.ndarray, names: tuple[str, ...]) -> str:
    weights = np.where(np.abs(weights) > 1e-9, weights, 0.0)  # float noise of a feature never used
    listed = ",".join(f"{w:.4g}" for w in weights)
    named = ", ".join(f"{n} {w:.3g}" for n, w in zip(names, weights) if abs(w) > 1e-9)
    return f"QA_RANK_WEIGHTS={listed}\n  ({named})"


def main() -> None:
    from qa.retrieval.rerank import FEATURE_NAMES

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--eval-dir", type=Path, default=None)
    parser.add_argument("--cache", type=Path, default=REPO / ".bench")
    parser.add_argument("--reuse", action="store_true", help="read the rows saved by the last run")
    parser.add_argument("--grown", type=int, default=8, help="passages grown per question (today: 8)")
    parser.add_argument("--l2", default="0.01,0.1,1", help="L2 penalties to try on standardised weights")
    parser.add_argument(
        "--features",
        action="append",
        default=[],
        help="a comma-separated small model to fit and score (repeatable)",
    )
    args = parser.parse_args()
    args.cache.mkdir(parents=True, exist_ok=True)
    saved = args.cache / f"ranker-rows-{args.grown}.json"
    if args.reuse and saved.exists():
        rows = json.loads(saved.read_text())
    else:
        rows = collect((args.eval_dir or find_eval_dir()).resolve(), args.cache, args.grown)
        saved.write_text(json.dumps(rows))
    names = FEATURE_NAMES
    penalties = [float(v) for v in args.l2.split(",")]
    everything = list(range(len(names)))
    out = [line("today", rows, [np.arange(len(r["texts"])) for r in rows])]
    for loss in ("listwise", "pairwise"):
        for l2 in penalties:
            orders = left_out(rows, everything, l2=l2, loss=loss)
            out.append(line(f"all {len(names)} features, {loss}, L2 {l2:g}", rows, orders))
    chosen_penalties = {}
    grid = {
        f"all features, {loss}, L2 {l2:g}": (everything, {"l2": l2, "loss": loss})
        for loss in ("listwise", "pairwise")
        for l2 in penalties
    }
    for model in args.features:
        columns = [names.index(f) for f in model.split(",")]
        for l2 in penalties:
            out.append(line(f"{model}, listwise, L2 {l2:g}", rows, left_out(rows, columns, l2=l2)))
        mine = {f"L2 {l2:g}": (columns, {"l2": l2}) for l2 in penalties}
        grid.update({f"{model}, listwise, {label}": config for label, config in mine.items()})
        orders, chosen_penalties[model] = nested_choice(rows, mine)
        out.append(line(f"{model}, listwise, L2 chosen without the set", rows, orders))
    orders, chosen_penalties["any row above"] = nested_choice(rows, grid)
    out.append(line("any row above, chosen without the set", rows, orders))
    orders, picked = nested(rows, names, l2=0.1, loss="listwise")
    out.append(line("forward selection (nested), listwise, L2 0.1", rows, orders))
    print(f"{len(rows)} answerable questions, {args.grown} passages grown each (today's order first)")
    print("\nleave-one-set-out: each set ordered by a model fitted without it (manuals' formats together)")
    print(table(["order: hit@1 / hit@5 / MRR@5", *SETS, "sum"], out))
    print("\nfeatures the forward selection chose without each left-out group:")
    for group, features in picked.items():
        print(f"  without {group}: {', '.join(features)}")
    for model, chosen in chosen_penalties.items():
        print(f"chosen for {model}: " + "; ".join(f"without {g}: {v}" for g, v in chosen.items()))
    print("\nfitted on all sets (optimistic: scored on the questions it was fitted on):")
    fitted = {"all features, listwise, L2 0.1": fit(rows, everything, l2=0.1)}
    for model in args.features:
        for l2 in penalties:
            fitted[f"{model}, listwise, L2 {l2:g}"] = fit(
                rows, [names.index(f) for f in model.split(",")], l2=l2
            )
    today = line("today", rows, [np.arange(len(r["texts"])) for r in rows])
    fits = [line(label, rows, orders_by(rows, weights)) for label, weights in fitted.items()]
    print(table(["order: hit@1 / hit@5 / MRR@5", *SETS, "sum"], [today, *fits]))
    print("\ntheir weights (adopt only a model whose leave-one-set-out wins on every set):")
    for label, weights in fitted.items():
        print(f"{label}: {weights_line(weights, names)}")


if __name__ == "__main__":
    main()
