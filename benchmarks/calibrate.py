"""Abstention calibration on all the dev sets together: signals, a fit, the curve, and a check
that the fit generalises to a set it has not seen.

    python benchmarks/calibrate.py [--eval-dir ../shared/eval] [--cache DIR] [--reuse]

For every question of every dev set (seed, conversations with their history, manuals as
Markdown, HTML and PDF, and the project's own ``devdocs`` sets once their questions are
written) it takes the signals the retriever decides on (``qa.retrieval.abstain``: best cosine
of the question as searched and of the question alone, coverage of the question's own terms by
the top passage, share of its terms the corpus never uses, whether the window
nearest in meaning lies in the top passage, coverage of the question's terms by the top
passage's whole document, the passage's coverage counting words close in meaning,
``qa.retrieval.soft_coverage``; with ``--alignment`` the token alignment of the question's words
with the passage too, ``qa.retrieval.alignment``, computed for every question here), fits a
class-weighted logistic regression (with ``--signs-held`` each weight on its side) on all of
them pooled (those the plain rules do not already decline: the
model decides only the rest) and, with ``--answers-cut``, on the answerable questions asked of
their corpus with their answers cut out (``benchmarks/negatives.py``: near-topic unanswerable
rows, weighing half the hand-written unanswerable ones; left out of a set's leave-one-set-out fit
when they are its questions or on its corpus), and prints:

- the fitted weights, as the settings that hold them;
- the calibration curve: for a range of thresholds on the chance, the share of unanswerable
  questions that abstain and of answerable ones that (wrongly) abstain, per set and pooled,
  with the plain rules (cosine floor, unknown names, follow-ups lacking their own words)
  applied as the retriever applies them;
- the threshold: the lowest chance at which no set abstains on more than 5 % of its answerable
  questions (with ``--uncap-devdocs``, the devdocs sets, ``UNCAPPED``, fitted on but not held
  to it);
- leave-one-set-out: the same curve where each set is scored by a model fitted without it (the
  Markdown, HTML and PDF manuals share their questions, so they are left out together), and the
  decisions at the threshold chosen without it;
- the retriever's own decisions with its current settings, and the questions it decides wrongly
  with their signals.

Paste the fitted weights into the settings in ``qa/config.py`` only if they hold on every set.
``--reuse`` reads the signals saved by the last run (``DIR/calibrate-signals.json``).
``--section-signal`` adds one more signal for the comparison (not one the retriever reads): the
cosine of the question as searched with the top passage embedded under its heading path ("Title ›
Section: text", ``qa.retrieval.section_order.section_text``), or alone when it has none, and
prints leave-one-set-out with and without it.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import negatives
import numpy as np
from _common import REPO, table
from retrieval import HELD_OUT, find_eval_dir, index_name
from retrieval import SETS as RETRIEVAL_SETS

SETS = {
    name: files
    for name, files in RETRIEVAL_SETS.items()
    if name not in HELD_OUT and (not Path(files[0]).is_absolute() or Path(files[0]).exists())
}
"""The dev sets; a held-out set is never fitted on."""
GROUPS = {"manuals": "manuals", "manuals-html": "manuals", "manuals-pdf": "manuals"}
"""Sets that share their questions: left out together."""
THRESHOLDS = np.round(np.arange(0.50, 0.96, 0.05), 2)
FALSE_ABSTAIN_CAP = 0.05
"""The threshold chosen is the lowest whose false abstentions stay within this on every set
(but those of :data:`UNCAPPED`)."""
UNCAPPED = frozenset({"devdocs", "conversations-devdocs"})
"""Sets fitted on but not held to the cap when the threshold is chosen, with
``--uncap-devdocs``: on them the plain rules alone decline 0.05 and 0.04 of the answerable
questions, so with the cap a model could decline none more there, and the threshold would be
set by them alone (benchmarks/README.md, "A dev set over four more documents")."""
SIGNS = np.array([-1, -1, -1, 1, -1, -1, -1, -1], float)
"""Each signal's side (``SIGNAL_NAMES``' order): more evidence, coverage, agreement or alignment,
less chance of no answer; more words the corpus never uses, more. With ``--signs-held`` the fit
keeps each weight on its side."""


def collect(eval_dir: Path, cache: Path, names: tuple[str, ...] = tuple(SETS)) -> list[dict]:
    """Per question of the sets ``names``: its signals, whether the plain rules decline it and
    whether the retriever abstained."""
    from qa.config import Settings
    from qa.embedders.base import make_embedder
    from qa.index.build import ensure_index
    from qa.retrieval.retriever import Retriever
    from qa.retrieval.section_order import section_text

    rows: list[dict] = []
    embedder = None
    for name in names:
        questions_file, corpus_name = RETRIEVAL_SETS[name]
        if corpus_name is None:
            settings = Settings.load(root=REPO)
        else:
            corpus = eval_dir / corpus_name
            where = index_name(corpus_name)
            settings = Settings.load(root=corpus, seeds_dir=corpus, index_dir=cache / f"index-{where}")
        embedder = embedder or make_embedder(settings)
        retriever = Retriever(ensure_index(settings, embedder).index, embedder, settings)
        items = [json.loads(line) for line in (eval_dir / questions_file).read_text().splitlines() if line]
        explained = retriever.explain_many(
            [i["question"] for i in items],
            histories=[i.get("history") or [] for i in items],
            every_signal=True,
        )
        queries = sorted({answer.query for answer, _ in explained})
        vectors = dict(zip(queries, embedder.encode(queries)))
        tops = [a.passages[0] if a.passages else None for a, _ in explained]
        texts = [
            (section_text(p.citation.title, p.citation.section, p.text) or p.text) if p else "" for p in tops
        ]
        top_vectors = embedder.encode(texts)
        for item, (answer, signals), text, top_vector in zip(items, explained, texts, top_vectors):
            section_cosine = float(top_vector @ vectors[answer.query]) if text else 0.0
            rows.append(
                {
                    "set": name,
                    "id": item["id"],
                    "unanswerable": item["kind"] == "unanswerable",
                    "signals": list(signals.values()),
                    "rule": bool(retriever.abstainer.rule(signals)),
                    "abstained": answer.abstained,
                    "section_cosine": section_cosine,
                    "unknown": _unknown_at_any_evidence(retriever.abstainer, signals.query),
                    "missing_type": signals.missing_type,
                }
            )
    return rows


def _unknown_at_any_evidence(abstainer, query: str) -> list[str]:
    """The names and identifiers of ``query`` the documents never mention, whatever the evidence
    (the rule weighs them only below ``unknown_name_threshold``)."""
    return abstainer.unknown_names(query) + abstainer.unknown_identifiers(query)


def fit(
    features: np.ndarray,
    labels: np.ndarray,
    *,
    steps: int = 4000,
    l2: float = 0.02,
    sample_weight: np.ndarray | None = None,
    signs: np.ndarray | None = None,
) -> tuple[np.ndarray, float]:
    """Class-weighted, lightly L2-regularised logistic regression; weights on the raw features.

    ``l2`` is the penalty on the standardised weights; ``sample_weight`` weighs rows within their
    class (the classes stay balanced); ``signs`` (+1, -1 or 0 per signal) keeps a weight on its
    side of zero (0: free), so a signal can only push the way it should."""
    mean, spread = features.mean(0), features.std(0) + 1e-9
    z = (features - mean) / spread
    weights, bias = np.zeros(features.shape[1]), 0.0
    rows = np.ones(len(labels)) if sample_weight is None else np.asarray(sample_weight, float)
    positive = labels == 1
    balance = rows * np.where(
        positive, rows.sum() / (2 * rows[positive].sum()), rows.sum() / (2 * rows[~positive].sum())
    )
    balance = balance * len(labels) / rows.sum()
    for _ in range(steps):
        chance = 1 / (1 + np.exp(-(z @ weights + bias)))
        gradient = (chance - labels) * balance
        weights -= 0.1 * (z.T @ gradient / len(labels) + l2 * weights)
        bias -= 0.1 * gradient.mean()
        if signs is not None:
            weights = np.where(
                signs > 0, np.maximum(weights, 0), np.where(signs < 0, np.minimum(weights, 0), weights)
            )
    return weights / spread, float(bias - (weights * mean / spread).sum())


def chance_of(features: np.ndarray, weights: np.ndarray, bias: float) -> np.ndarray:
    return 1 / (1 + np.exp(-(features @ weights + bias)))


def weights_of(settings, width: int) -> np.ndarray:
    """The settings' weights over ``width`` signals (six weights: the seventh, soft coverage, 0)."""
    weights = np.zeros(width)
    weights[: len(settings.abstain_weights)] = settings.abstain_weights
    return weights


def rates(abstains: np.ndarray, labels: np.ndarray, sets: np.ndarray) -> list[str]:
    out = []
    for name in [*SETS, "all"]:
        mine = np.ones(len(labels), bool) if name == "all" else sets == name
        right = abstains[mine & labels].mean() if (mine & labels).any() else float("nan")
        wrong = abstains[mine & ~labels].mean() if (mine & ~labels).any() else float("nan")
        out.append(f"{right:.2f} / {wrong:.2f}")
    return out


def choose(
    chance: np.ndarray,
    rule: np.ndarray,
    labels: np.ndarray,
    sets: np.ndarray,
    uncapped: frozenset[str] = frozenset(),
) -> float:
    """The lowest threshold (step 0.01) at which no set but those ``uncapped`` abstains on more
    than :data:`FALSE_ABSTAIN_CAP` of its answerable questions."""
    capped = [s for s in np.unique(sets) if s not in uncapped]
    for threshold in np.round(np.arange(0.30, 0.995, 0.01), 2):
        abstains = rule | (chance >= threshold)
        if all(abstains[(sets == s) & ~labels].mean() <= FALSE_ABSTAIN_CAP for s in capped):
            return float(threshold)
    return 1.0


def decided(retriever, items: list[dict]) -> list[dict]:
    """Per question: its signals, whether the plain rules decline it, whether the retriever did."""
    explained = retriever.explain_many(
        [i["question"] for i in items], histories=[i.get("history") or [] for i in items], every_signal=True
    )
    return [
        {"id": item["id"], "signals": list(signals.values()), "rule": bool(retriever.abstainer.rule(signals)),
         "abstained": answer.abstained}
        for item, (answer, signals) in zip(items, explained)
    ]  # fmt: skip


def left_out(
    features: np.ndarray,
    labels: np.ndarray,
    sets: np.ndarray,
    rule: np.ndarray,
    cut: list[dict] = (),
    *,
    signs: np.ndarray | None = None,
    uncapped: frozenset[str] = frozenset(),
) -> tuple[np.ndarray, np.ndarray]:
    """Each question's chance from a model fitted on the sets other than its own group (and the
    answers-cut rows of neither its questions nor its corpus), and whether it abstains at the
    threshold chosen on those other sets."""
    groups = np.array([GROUPS.get(s, s) for s in sets])
    chance, abstains = np.zeros(len(labels)), np.zeros(len(labels), bool)
    for group in dict.fromkeys(groups):
        held = groups == group
        weights, bias = fit_with(features[~held & ~rule], labels[~held & ~rule], cut, group, signs=signs)
        everyone = chance_of(features, weights, bias)
        threshold = choose(everyone[~held], rule[~held], labels[~held], sets[~held], uncapped)
        chance[held] = everyone[held]
        abstains[held] = rule[held] | (everyone[held] >= threshold)
    return chance, abstains


def fit_with(
    features: np.ndarray,
    labels: np.ndarray,
    cut: list[dict],
    group: str = "",
    *,
    signs: np.ndarray | None = None,
) -> tuple[np.ndarray, float]:
    """The fit on hand-written rows the plain rules leave and the answers-cut rows they leave
    (:mod:`negatives`; those of ``group``'s questions or corpus left out)."""
    if cut:
        qgroups = np.array([r["qgroup"] for r in cut])
        cgroups = np.array([r["cgroup"] for r in cut])
        usable = ~np.array([r["rule"] for r in cut])
        if group:
            usable &= ~negatives.kept_out(group, qgroups, cgroups)
        extra = np.array([r["signals"] for r in cut])[usable]
        features, labels = (
            np.vstack([features, extra.reshape(-1, features.shape[1])]),
            np.concatenate([labels, np.ones(int(usable.sum()), bool)]),
        )
        own = np.arange(len(labels)) < len(labels) - int(usable.sum())
        return fit(features, labels.astype(float), sample_weight=negatives.weights(own, labels), signs=signs)
    return fit(features, labels.astype(float), signs=signs)


def curve(chance: np.ndarray, rule: np.ndarray, labels: np.ndarray, sets: np.ndarray) -> list[list[str]]:
    return [[f"chance >= {t:.2f}", *rates(rule | (chance >= t), labels, sets)] for t in THRESHOLDS]


def main() -> None:
    from qa.config import Settings
    from qa.retrieval.abstain import SIGNAL_NAMES

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--eval-dir", type=Path, default=None)
    parser.add_argument("--cache", type=Path, default=REPO / ".bench")
    parser.add_argument("--reuse", action="store_true", help="read the signals saved by the last run")
    parser.add_argument(
        "--answers-cut",
        action="store_true",
        help="fit on the answerable questions asked with their answers cut out as well",
    )
    parser.add_argument(
        "--alignment",
        action="store_true",
        help="fit the eight signals, token alignment too (the settings weigh seven)",
    )
    parser.add_argument("--signs-held", action="store_true", help="keep each weight on its side (SIGNS)")
    parser.add_argument(
        "--uncap-devdocs",
        action="store_true",
        help="choose the threshold without holding the devdocs sets to the cap (they are fitted on)",
    )
    parser.add_argument(
        "--section-signal",
        action="store_true",
        help="add the top passage's heading-aware cosine as an eighth signal",
    )
    args = parser.parse_args()
    args.cache.mkdir(parents=True, exist_ok=True)
    saved = args.cache / "calibrate-signals.json"
    if args.reuse and saved.exists():
        rows = json.loads(saved.read_text())
    else:
        rows = collect((args.eval_dir or find_eval_dir()).resolve(), args.cache)
        saved.write_text(json.dumps(rows))
    cut = _answers_cut(args) if args.answers_cut else []
    features = np.array([r["signals"] for r in rows])
    labels = np.array([r["unanswerable"] for r in rows])
    sets = np.array([r["set"] for r in rows])
    rule = np.array([r["rule"] for r in rows])
    names = list(SIGNAL_NAMES)
    signs = SIGNS if args.signs_held else None
    uncapped = UNCAPPED if args.uncap_devdocs else frozenset()
    if not args.alignment:
        features, names = features[:, :7], names[:7]
        cut = [{**r, "signals": r["signals"][:7]} for r in cut]
        signs = None if signs is None else signs[:7]
    if args.section_signal:
        without = left_out(features, labels, sets, rule, cut, signs=signs, uncapped=uncapped)[1]
        features = np.column_stack([features, [r["section_cosine"] for r in rows]])
        names.append("section_cosine")
        cut = []  # the answers-cut rows have no section cosine
        signs = None if signs is None else np.append(signs, -1)
    free = ~rule  # the model decides only what the plain rules leave
    weights, bias = fit_with(features[free], labels[free], cut, signs=signs)
    chance = chance_of(features, weights, bias)
    threshold = choose(chance, rule, labels, sets, uncapped)
    print(
        f"fitted on the {free.sum()} of {len(rows)} questions that the plain rules leave "
        f"({labels[free].sum()} unanswerable)"
        + (
            f", and {sum(not r['rule'] for r in cut)} of {len(cut)} answerable questions asked "
            f"without their answers (benchmarks/negatives.py, weighing {negatives.SHARE:g} times "
            "the hand-written unanswerable ones)"
            if cut
            else ""
        )
        + ": chance = 1 / (1 + exp(-z)),"
    )
    print("z = " + " + ".join(f"{w:.2f} * {n}" for w, n in zip(weights, names)) + f" + {bias:.2f}")
    cap = f"{FALSE_ABSTAIN_CAP:.0%}"
    but = f" but {', '.join(sorted(uncapped))}" if uncapped else ""
    held_signs = "" if signs is None else " (each weight held on its side)"
    print(f"abstains from chance {threshold:.2f}: the lowest with at most {cap} false on every set", end="")
    print(f"{but}{held_signs}")
    listed = ", ".join(f"{w:.2f}" for w in weights)
    print(f"settings: abstain_weights = ({listed}), abstain_bias = {bias:.2f}, ", end="")
    print(f"abstain_chance = {threshold:.2f}")
    print(
        f"          QA_ABSTAIN_WEIGHTS={listed.replace(' ', '')} QA_ABSTAIN_BIAS={bias:.2f} "
        f"QA_ABSTAIN_CHANCE={threshold:.2f}"
    )
    headers = ["rule (with the plain rules: floor, unknown names, follow-ups)", *SETS, "all"]
    print("\ncells: unanswerable that abstain / answerable that abstain (targets >= 0.80 / <= 0.05)")
    print("\ncalibration curve, fitted on all sets:")
    print(table(headers, curve(chance, rule, labels, sets)))
    held_chance, held_abstains = left_out(features, labels, sets, rule, cut, signs=signs, uncapped=uncapped)
    print("\nleave-one-set-out: each set scored by a model fitted on the others:")
    loso = curve(held_chance, rule, labels, sets)
    loso.append(["threshold chosen on the others", *rates(held_abstains, labels, sets)])
    if args.section_signal:
        loso.append(["the same, the settings' signals alone", *rates(without, labels, sets)])
    print(table(headers, loso))
    if args.section_signal:  # the settings' model reads seven signals: the rest compares nothing new
        held_out(args, weights, bias, threshold)
        return
    configured = Settings.load(root=REPO)
    current = chance_of(features, weights_of(configured, features.shape[1]), configured.abstain_bias)
    print(f"\nthe settings in force (abstain_chance {configured.abstain_chance:.2f}):")
    print(
        table(
            headers,
            [
                ["the plain rules alone", *rates(rule, labels, sets)],
                ["the settings' model", *rates(rule | (current >= configured.abstain_chance), labels, sets)],
                ["retriever as run", *rates(np.array([r["abstained"] for r in rows]), labels, sets)],
            ],
        )
    )
    print("\nthe retriever's wrong decisions (what a new signal would have to fix):")
    wrong = [
        [r["set"], r["id"], "declined, answerable" if r["abstained"] else "answered, unanswerable"]
        + [f"{v:.2f}" for v in (c, *r["signals"])]
        for r, c in zip(rows, current)
        if r["abstained"] != r["unanswerable"]
    ]
    print(table(["set", "id", "decision", "chance", *SIGNAL_NAMES], wrong))


def _answers_cut(args) -> list[dict]:
    """The answers-cut rows (:mod:`negatives`), saved in ``DIR/calibrate-cut-signals.json``."""
    saved = args.cache / "calibrate-cut-signals.json"
    if args.reuse and saved.exists():
        return json.loads(saved.read_text())
    rows = negatives.collect((args.eval_dir or find_eval_dir()).resolve(), args.cache, decided)
    saved.write_text(json.dumps(rows))
    return rows


def held_out(args, weights: np.ndarray, bias: float, threshold: float) -> None:
    """The fit with the section cosine (all dev sets) on the held-out sets, beside the settings' model."""
    from qa.config import Settings

    saved = args.cache / "calibrate-signals-held-out.json"
    if args.reuse and saved.exists():
        rows = json.loads(saved.read_text())
    else:
        rows = collect((args.eval_dir or find_eval_dir()).resolve(), args.cache, tuple(HELD_OUT))
        saved.write_text(json.dumps(rows))
    configured = Settings.load(root=REPO)
    print("\nthe held-out sets (never fitted on): unanswerable that abstain / answerable that abstain")
    lines = []
    for name in sorted(HELD_OUT):
        mine = [r for r in rows if r["set"] == name]
        base = np.array([r["signals"] for r in mine])
        extended = np.column_stack([base, [r["section_cosine"] for r in mine]])
        labels = np.array([r["unanswerable"] for r in mine])
        rule = np.array([r["rule"] for r in mine])
        before = rule | (
            chance_of(base, weights_of(configured, base.shape[1]), configured.abstain_bias)
            >= configured.abstain_chance
        )
        after = rule | (chance_of(extended, weights, bias) >= threshold)
        for label, abstains in (("the settings' signals", before), ("with the section cosine", after)):
            lines.append([name, label, f"{abstains[labels].mean():.2f} / {abstains[~labels].mean():.2f}"])
    print(table(["set", "model", "abstain"], lines))


if __name__ == "__main__":
    main()
