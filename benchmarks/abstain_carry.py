"""Abstention that carries to corpora it was not fitted on: more negatives, sturdier weights, and
the answer type a question asks for, each judged as ``calibrate.py`` judges.

    python benchmarks/abstain_carry.py [--eval-dir ../shared/eval] [--cache DIR] [--reuse]

Three directions (benchmarks/README.md, "Abstention that carries"):

- **Cross-corpus negatives.** Every dev question asked against a corpus it was not written for is
  unanswerable there: the seed's questions and conversations on the manuals (Markdown, HTML, PDF),
  the manuals' questions on the seed, and each manual's questions on the Markdown manuals without
  that manual (a near-topic corpus of the same kind). They join the fit with a total weight of a
  fraction of the hand-written unanswerable rows', so they pin each text kind's scale without
  swamping the rest.
- **Fewer, sturdier weights.** The penalty on the weights, signs held (a signal may only push the
  way it should), and fewer signals.
- **The answer type.** ``qa.retrieval.answer_type``: the question asks for a number, a version, a
  date, a place or a name, and the top passage holds none.

Leave-one-set-out leaves out a set's own rows and every cross row made of its questions (the
``questions`` rule); the ``strict`` rule also leaves out every cross row on its corpus. The
threshold is chosen, as in ``calibrate.py``, on the hand-written rows only. ``--reuse`` reads
``DIR/abstain-carry.json``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import negatives
import numpy as np
from _common import REPO, table
from calibrate import GROUPS, SETS, chance_of, choose, fit, rates
from retrieval import SETS as RETRIEVAL_SETS
from retrieval import find_eval_dir

MANUALS = {
    "ninja-manual": "ninja",
    "fontconfig-user": "fontconfig",
    "python-policy": "policy",
    "dpkg-triggers": "triggers",
}
"""The Markdown manuals, each left out of one corpus of the others."""
CROSS = (
    ("dev.jsonl", "docs-md"),
    ("dev.jsonl", "docs"),
    ("dev.jsonl", "docs-pdf"),
    ("conversations-dev.jsonl", "docs-md"),
    ("conversations-dev.jsonl", "docs"),
    ("conversations-dev.jsonl", "docs-pdf"),
    ("docs-dev.jsonl", None),
)
"""(questions, corpus) pairs where no question is answerable (None: the seed)."""
QUESTION_GROUP = {
    "dev.jsonl": "seed",
    "conversations-dev.jsonl": "conversations",
    "docs-dev.jsonl": "manuals",
}
CORPUS_GROUP = {None: "seed", "docs-md": "manuals", "docs": "manuals", "docs-pdf": "manuals"}
KINDS = ("number", "duration", "version", "date", "place", "name")
"""Every kind ``qa.retrieval.answer_type`` can tell (the rule checks only its ``CHECKED``)."""
SIGNS = np.array([-1, -1, -1, +1, -1, -1, -1])
"""The way each of the seven signals should push the chance of no answer."""


def _retriever(settings, embedder):
    from qa.index.build import ensure_index
    from qa.retrieval.retriever import Retriever

    return Retriever(ensure_index(settings, embedder).index, embedder, settings)


def _rows(retriever, items: list[dict], **fields) -> list[dict]:
    """Per question: its signals, whether the plain rules decline it, what it asks and the top passage."""
    explained = retriever.explain_many(
        [i["question"] for i in items], histories=[i.get("history") or [] for i in items]
    )
    out = []
    for item, (answer, signals) in zip(items, explained):
        out.append(
            {
                **fields,
                "id": item["id"],
                "question": item["question"],
                "signals": list(signals.values()),
                # the plain rules other than the answer type's, which is a variant below
                "rule": bool(retriever.abstainer.rule(dataclasses.replace(signals, missing_type=""))),
                "abstained": answer.abstained,
                "passages": [p.text for p in answer.passages[:3]],
            }
        )
    return out


def _without_each_manual(
    eval_dir: Path, cache: Path, every: list[dict], embedder, settings_for
) -> list[dict]:
    """Each manual's questions on the Markdown manuals without it (copies of the other files)."""
    rows: list[dict] = []
    for stem_name, short in MANUALS.items():
        folder = cache / f"corpus-docs-md-without-{short}"
        if not folder.exists():
            folder.mkdir(parents=True)
            for path in (eval_dir / "docs-md").iterdir():
                if path.stem != stem_name:
                    shutil.copyfile(path, folder / path.name)
        mine = [i for i in every if i.get("doc") and Path(i["doc"]).stem == stem_name]
        rows += _rows(
            _retriever(settings_for(f"docs-md-without-{short}", folder), embedder), mine,
            set=f"manuals@docs-md-without-{short}", own=False, qgroup="manuals", cgroup="manuals",
            unanswerable=True,
        )  # fmt: skip
    return rows


def _without_answers(eval_dir: Path, cache: Path) -> list[dict]:
    """Answerable questions asked of their corpus with their answers cut out (:mod:`negatives`)."""
    return negatives.collect(
        eval_dir, cache, lambda retriever, items: _rows(retriever, items, own=False, kind="removed")
    )


def collect(eval_dir: Path, cache: Path, *, removed_only: bool = False) -> list[dict]:
    """Own rows of every dev set, then the cross rows (all unanswerable); with ``removed_only``
    the rows of questions asked without their answers alone."""
    from qa.config import Settings
    from qa.embedders.base import make_embedder

    def settings_for(corpus: str | None, folder: Path | None = None):
        if corpus is None:
            return Settings.load(root=REPO)
        folder = folder or eval_dir / corpus
        return Settings.load(root=folder, seeds_dir=folder, index_dir=cache / f"index-{corpus}")

    def items(name: str) -> list[dict]:
        return [json.loads(line) for line in (eval_dir / name).read_text().splitlines() if line]

    embedder = make_embedder(Settings.load(root=REPO))
    retrievers: dict[str | None, object] = {}

    def retriever(corpus):
        if corpus not in retrievers:
            retrievers[corpus] = _retriever(settings_for(corpus), embedder)
        return retrievers[corpus]

    if removed_only:
        return _without_answers(eval_dir, cache)
    rows: list[dict] = []
    for name in SETS:
        questions, corpus = RETRIEVAL_SETS[name]
        labels = {"qgroup": GROUPS.get(name, name), "cgroup": CORPUS_GROUP[corpus]}
        rows += _rows(retriever(corpus), items(questions), set=name, own=True, unanswerable=None, **labels)
    for questions, corpus in CROSS:
        name = f"{QUESTION_GROUP[questions]}@{corpus or 'seed'}"
        labels = {"qgroup": QUESTION_GROUP[questions], "cgroup": CORPUS_GROUP[corpus]}
        rows += _rows(retriever(corpus), items(questions), set=name, own=False, unanswerable=True, **labels)
    rows += _without_each_manual(eval_dir, cache, items("docs-dev.jsonl"), embedder, settings_for)
    rows += _without_answers(eval_dir, cache)
    answers = {(r["set"], r["id"]): r for r in rows if r["own"]}
    for name in SETS:
        questions, _ = RETRIEVAL_SETS[name]
        for item in items(questions):
            answers[(name, item["id"])]["unanswerable"] = item["kind"] == "unanswerable"
    return rows


def answer_types(rows: list[dict]) -> None:
    """Whether each row's question asks for a kind of answer its top passage (or each of its top
    three) lacks, from the passages saved: the rule as ``qa.retrieval.answer_type`` reads it now."""
    from qa.retrieval.answer_type import type_missing

    for r in rows:
        top = r["passages"]
        r["type_missing"] = float(bool(top) and bool(type_missing(r["question"], top[0])))
        r["type_missing_any"] = float(bool(top) and bool(type_missing(r["question"], top[0], kinds=KINDS)))
        r["type_missing_top3"] = float(bool(top) and all(type_missing(r["question"], p) for p in top))


def judge(
    features: np.ndarray,
    rows: list[dict],
    *,
    cross: float,
    strict: bool = False,
    l2: float = 0.02,
    signs: np.ndarray | None = None,
    rules: bool = False,
    extra_rule: str = "",
    kinds: tuple[str, ...] = ("foreign",),
) -> list[str]:
    """Pooled and leave-one-set-out cells per dev set (hand-written rows), and the share of the
    cross rows that abstain (pooled fit). ``cross``: the cross rows' total weight as a multiple
    of the hand-written unanswerable rows' (0: left out); ``kinds``: which cross rows (``foreign``:
    questions of another corpus; ``removed``: questions of this corpus with their answers cut)."""
    used = np.array([r["own"] or r.get("kind", "foreign") in kinds for r in rows])
    features, rows = features[used], [r for r, u in zip(rows, used) if u]
    own = np.array([r["own"] for r in rows])
    labels = np.array([bool(r["unanswerable"]) for r in rows])
    sets = np.array([r["set"] for r in rows])
    rule = np.array([r["rule"] or bool(extra_rule and r[extra_rule]) for r in rows])
    qgroups = np.array([r["qgroup"] for r in rows])
    cgroups = np.array([r["cgroup"] for r in rows])

    def trained(mask: np.ndarray) -> tuple[np.ndarray, float]:
        mask = mask & (~rule | (rules & ~own)) & (own | (cross > 0))
        weight = np.ones(len(rows))
        extra = mask & ~own
        if extra.any():
            weight[extra] = cross * (mask & own & labels).sum() / extra.sum()
        return fit(features[mask], labels[mask].astype(float), l2=l2, sample_weight=weight[mask], signs=signs)

    weights, bias = trained(np.ones(len(rows), bool))
    chance = chance_of(features, weights, bias)
    threshold = choose(chance[own], rule[own], labels[own], sets[own])
    pooled = rates((rule | (chance >= threshold))[own], labels[own], sets[own])[:-1]
    caught = (rule | (chance >= threshold))[~own].mean()
    held = np.zeros(len(rows), bool)
    for group in dict.fromkeys(qgroups[own]):
        out = qgroups == group
        if strict:
            corpus = {"seed": "seed", "conversations": "seed", "manuals": "manuals"}[group]
            out = out | (~own & (cgroups == corpus))
        weights, bias = trained(~out)
        everyone = chance_of(features, weights, bias)
        others = own & (qgroups != group)
        limit = choose(everyone[others], rule[others], labels[others], sets[others])
        mine = own & (qgroups == group)
        held[mine] = rule[mine] | (everyone[mine] >= limit)
    loso = rates(held[own], labels[own], sets[own])[:-1]
    return [
        " ".join(c.replace(" ", "") for c in pooled),
        " ".join(c.replace(" ", "") for c in loso),
        f"{caught:.2f}",
    ]


def variants() -> list[tuple[str, Callable[[dict], list[float]], dict]]:
    """Each variant: a name, the features of one row, and the fit's options."""
    seven = lambda r: r["signals"]  # noqa: E731
    removed = ("removed",)
    out: list[tuple[str, Callable[[dict], list[float]], dict]] = [
        ("seven refitted (the signals before)", seven, {"cross": 0.0})
    ]
    for share in (0.25, 0.5, 1.0, 2.0):
        out.append((f"seven + cross negatives x{share}", seven, {"cross": share}))
        out.append(
            (
                f"seven + cross negatives x{share}, strict",
                seven,
                {"cross": share, "strict": True},
            )
        )
    for l2 in (0.002, 0.1, 0.3, 1.0):
        out.append((f"seven, penalty {l2}", seven, {"cross": 0.0, "l2": l2}))
    out.append(("seven, signs held", seven, {"cross": 0.0, "signs": SIGNS}))
    out.append(("seven, signs held, penalty 0.1", seven, {"cross": 0.0, "signs": SIGNS, "l2": 0.1}))
    out.append(("seven, signs held + cross x0.5", seven, {"cross": 0.5, "signs": SIGNS}))
    out.append(("seven, signs held + cross x1", seven, {"cross": 1.0, "signs": SIGNS}))
    subsets = {
        "no unknown_share": [0, 1, 2, 4, 5, 6],
        "no coverage, no unknown_share": [0, 1, 4, 5, 6],
        "own_evidence, agreement, document, soft": [1, 4, 5, 6],
        "evidence, own_evidence, soft": [0, 1, 6],
    }
    for name, keep in subsets.items():
        out.append((f"{name}", lambda r, k=keep: [r["signals"][i] for i in k], {"cross": 0.0}))
        out.append(
            (f"{name}, signs held + cross x0.5", lambda r, k=keep: [r["signals"][i] for i in k],
             {"cross": 0.5, "signs": SIGNS[keep]})
        )  # fmt: skip
    out.append(
        ("seven, signs held + cross x0.5, strict", seven, {"cross": 0.5, "signs": SIGNS, "strict": True})
    )
    out.append(("seven, signs held + cross x0.25", seven, {"cross": 0.25, "signs": SIGNS}))
    out.append(
        ("seven, signs held, penalty 0.3 + cross x0.5", seven, {"cross": 0.5, "signs": SIGNS, "l2": 0.3})
    )
    out.append(
        (
            "seven, signs held + cross x0.5 with rule rows",
            seven,
            {"cross": 0.5, "signs": SIGNS, "rules": True},
        )
    )
    with_type = lambda r: [*r["signals"], r["type_missing"]]  # noqa: E731
    for field, label in (("type_missing", "top passage"), ("type_missing_top3", "top 3 passages")):
        out.append((f"seven + rule: number/duration/version/date missing in the {label}", seven,
                    {"cross": 0.0, "extra_rule": field}))  # fmt: skip
    out.append(("seven + rule: any kind missing in the top passage", seven,
                {"cross": 0.0, "extra_rule": "type_missing_any"}))  # fmt: skip
    for share in (0.25, 0.5, 1.0):
        out.append((f"seven + answers-cut negatives x{share}", seven, {"cross": share, "kinds": removed}))
        out.append((f"seven + answers-cut negatives x{share}, strict", seven,
                    {"cross": share, "kinds": removed, "strict": True}))  # fmt: skip
    out.append(("seven, signs held + answers-cut x0.5, strict", seven,
                {"cross": 0.5, "kinds": removed, "strict": True, "signs": SIGNS}))  # fmt: skip
    ruled = {"extra_rule": "type_missing"}
    cuts = {**ruled, "kinds": removed, "strict": True}
    out += [
        ("rule + seven, cross x0.5", seven, {**ruled, "cross": 0.5}),
        ("rule + seven, cross x0.5, strict", seven, {**ruled, "cross": 0.5, "strict": True}),
        ("rule + seven, signs held", seven, {**ruled, "cross": 0.0, "signs": SIGNS}),
        ("rule + seven, signs held + cross x0.5", seven, {**ruled, "cross": 0.5, "signs": SIGNS}),
        ("rule + seven, signs held + cross x0.5, strict", seven,
         {**ruled, "cross": 0.5, "signs": SIGNS, "strict": True}),
        ("rule + seven, penalty 0.3", seven, {**ruled, "cross": 0.0, "l2": 0.3}),
        ("rule + seven, answers-cut x0.25, strict", seven, {**cuts, "cross": 0.25}),
        ("rule + seven, answers-cut x0.5, strict", seven, {**cuts, "cross": 0.5}),
        ("rule + seven, answers-cut x0.5", seven, {**cuts, "cross": 0.5, "strict": False}),
        ("rule + seven, answers-cut x1, strict", seven, {**cuts, "cross": 1.0}),
        ("rule + no coverage, no unknown_share", lambda r: [r["signals"][i] for i in (0, 1, 4, 5, 6)],
         {**ruled, "cross": 0.0}),
    ]  # fmt: skip
    out.append(
        (
            "seven + answer type, signs held + cross x0.5",
            with_type,
            {"cross": 0.5, "signs": np.append(SIGNS, 1)},
        )
    )
    out.append(
        ("seven + answer type, signs held + cross x0.5, strict", with_type,
         {"cross": 0.5, "signs": np.append(SIGNS, 1), "strict": True})
    )  # fmt: skip
    out.append(("seven + answer type missing", with_type, {"cross": 0.0}))
    out.append(
        ("seven + answer type missing, signs held", with_type, {"cross": 0.0, "signs": np.append(SIGNS, 1)})
    )
    out.append(("seven + answer type missing + cross x0.5", with_type, {"cross": 0.5}))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--eval-dir", type=Path, default=None)
    parser.add_argument("--cache", type=Path, default=REPO / ".bench")
    parser.add_argument("--reuse", action="store_true", help="read what the last run saved")
    args = parser.parse_args()
    args.cache.mkdir(parents=True, exist_ok=True)
    saved = args.cache / "abstain-carry.json"
    if args.reuse and saved.exists():
        rows = json.loads(saved.read_text())
        if not any(r.get("kind") == "removed" for r in rows):  # saved before those rows were made
            rows += collect((args.eval_dir or find_eval_dir()).resolve(), args.cache, removed_only=True)
            saved.write_text(json.dumps(rows))
    else:
        rows = collect((args.eval_dir or find_eval_dir()).resolve(), args.cache)
        saved.write_text(json.dumps(rows))
    answer_types(rows)
    cross = [r for r in rows if not r["own"]]
    print(f"{sum(r['own'] for r in rows)} hand-written rows, {len(cross)} cross rows:")
    lines = []
    for name in dict.fromkeys(r["set"] for r in cross):
        mine = [r for r in cross if r["set"] == name]
        lines.append(
            [
                name,
                len(mine),
                f"{np.mean([r['rule'] for r in mine]):.2f}",
                f"{np.mean([r['abstained'] for r in mine]):.2f}",
            ]
        )
    print(table(["cross set", "questions", "plain rules decline", "settings decline (as collected)"], lines))
    for field in ("type_missing", "type_missing_top3", "type_missing_any"):
        asks = [r for r in rows if r["own"] and r[field]]
        named = ", ".join(f"{r['set']}:{r['id']}{'' if r['unanswerable'] else ' (answerable)'}" for r in asks)
        print(f"\n{field}: {len(asks)} hand-written rows: {named}")
        crossing = [r for r in cross if r[field]]
        print(
            f"  cross rows: {len(crossing)}, {sum(not r['rule'] for r in crossing)} left by the plain rules"
        )
    print("\ncells per dev set (" + ", ".join(SETS) + "): unanswerable that abstain/answerable that abstain;")
    print("cross: share of the cross rows that abstain under the pooled fit")
    lines = []
    for name, make, options in variants():
        features = np.array([make(r) for r in rows], dtype=float)
        lines.append([name, *judge(features, rows, **options)])
    print(table(["variant", "pooled fit, its threshold", "leave-one-set-out", "cross"], lines))


if __name__ == "__main__":
    main()
