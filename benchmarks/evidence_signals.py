"""Evidence finer than the passage: candidate signals of whether the top passage says what is
asked, measured beside the seven abstention signals on every dev set.

    python benchmarks/evidence_signals.py [--cache DIR] [--reuse] [--sets a,b] [--held-out]

For every question of the dev sets it takes what ``calibrate.py`` takes (the seven signals, whether
the plain rules decline it) and, from the passage abstention reads (the first one found, before any
reorder), candidate signals at the level of the sentence and the word:

- ``unit_cos`` / ``unit_cos_own``: the best cosine between the question (as searched / alone)
  and one sentence of the passage, each sentence embedded on its own (on text without
  punctuation, runs of 20 words); ``highlight_cos``: the same for the highlighted sentence alone;
- ``unit_coverage``: the best IDF share of the question's terms held by one sentence;
- ``cooccur``: whether the question's two rarest terms (by IDF) occur in one sentence;
- per term of the question, its token alignment (MaxSim of the model's token states, the
  question's tokens against the passage's) and its single-word closeness (the soft-coverage
  vectors), summarised by :func:`derived`: over the known terms or all of them (the corpus's
  unknown words too), IDF-weighted mean, minimum, the rarest term's, share at or above 0.6.

Then it fits the seven signals with each candidate (and two pairs) in five ways (fitted with or
without the devdocs sets; the threshold holding every set to the 5 % cap, or the five older sets
only; weights free or held on their side) and prints the pooled fit and leave-one-set-out, with
the settings before beside them. Rows are saved in ``DIR/evidence-signals.json`` (``--reuse``
reads them).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

import numpy as np
from _common import REPO, table
from abstain_devdocs import cells
from calibrate import SETS, SIGNS, _unknown_at_any_evidence, chance_of, weights_of
from retrieval import SETS as RETRIEVAL_SETS
from retrieval import find_eval_dir, index_name

EXTRA = (
    "unit_cos",
    "unit_cos_own",
    "highlight_cos",
    "unit_coverage",
    "cooccur",
)
RUN_WORDS = 20
ALIGNED = 0.6


def _units(retriever, doc: int, start: int, end: int) -> list[tuple[int, int]]:
    words = retriever.index.word_maps[doc]
    if words.has_boundaries:
        return retriever.highlighter._units(doc, start, end)
    return [(s, min(s + RUN_WORDS, end)) for s in range(start, end, RUN_WORDS)]


def _word_tokens(states, text: str) -> list[tuple[str, np.ndarray]]:
    """(normalised word, its token states' rows) for each whitespace word of ``text``."""
    import re

    out = []
    for m in re.finditer(r"\S+", text):
        rows = np.flatnonzero(
            (states.starts >= m.start()) & (states.ends <= m.end()) & (states.ends > states.starts)
        )
        if len(rows):
            out.append((m.group(), rows))
    return out


def _term_alignment(q_states, p_states, question: str) -> dict[str, float]:
    """Each stemmed content word of ``question`` -> the best cosine of its tokens' states with a
    token state of the passage (MaxSim, the mean over the word's tokens)."""
    from qa.ingest.normalize import content_words, stem

    if not len(p_states.states):
        return {}
    passage = p_states.states / (np.linalg.norm(p_states.states, axis=1, keepdims=True) + 1e-9)
    question_rows = q_states.states / (np.linalg.norm(q_states.states, axis=1, keepdims=True) + 1e-9)
    best: dict[str, float] = {}
    for word, rows in _word_tokens(q_states, question):
        for part in content_words(word)[:1]:
            score = float((question_rows[rows] @ passage.T).max(axis=1).mean())
            term = stem(part)
            best[term] = max(best.get(term, -1.0), score)
    return best


def _written(question: str) -> dict[str, str]:
    from qa.ingest.normalize import content_words, stem

    out: dict[str, str] = {}
    for word in content_words(question):
        out.setdefault(stem(word), word)
    return out


def collect(eval_dir: Path, cache: Path, names: tuple[str, ...]) -> list[dict]:
    from qa.config import Settings
    from qa.embedders.base import make_embedder
    from qa.index.build import ensure_index
    from qa.ingest.normalize import content_words
    from qa.retrieval.retriever import Retriever

    class Recording(Retriever):
        def _signals(self, search, candidates, top):
            self.last = (search, top)
            return super()._signals(search, candidates, top)

        def _answer(self, search, k, every_signal=False):
            answer, signals = super()._answer(search, k, every_signal)
            return answer, signals, self.last

    rows: list[dict] = []
    embedder = None
    for name in names:
        questions_file, corpus_name = RETRIEVAL_SETS[name]
        if corpus_name is None:
            settings = Settings.load(root=REPO)
        else:
            corpus = eval_dir / corpus_name
            settings = Settings.load(
                root=corpus, seeds_dir=corpus, index_dir=cache / f"index-{index_name(corpus_name)}"
            )
        embedder = embedder or make_embedder(settings)
        retriever = Recording(ensure_index(settings, embedder).index, embedder, settings)
        items = [json.loads(line) for line in (eval_dir / questions_file).read_text().splitlines() if line]
        explained = retriever.explain_many(
            [i["question"] for i in items], histories=[i.get("history") or [] for i in items]
        )
        for item, (answer, signals, (search, top)) in zip(items, explained):
            extra = dict.fromkeys(EXTRA, 0.0)
            if top is not None:
                own_terms = retriever.fusion.query_terms(search.question)
                asked = (
                    own_terms
                    if own_terms or not search.follows
                    else retriever.fusion.query_terms(search.query)
                )
                known = retriever.abstainer.known_terms(asked)
                weights = retriever.highlighter.weights(known)
                words = retriever.index.word_maps[top.doc]
                text = retriever.index.documents[top.doc].text
                units = _units(retriever, top.doc, top.word_start, top.word_end)
                unit_texts = [text[slice(*words.char_span(a, b))] for a, b in units]
                h = retriever.highlighter.span(top.doc, top.word_start, top.word_end, top.word_scores, known)
                highlight = text[slice(*words.char_span(*h))]
                vectors = embedder.encode([*unit_texts, highlight])
                extra["unit_cos"] = float((vectors[:-1] @ search.vector).max())
                extra["unit_cos_own"] = float((vectors[:-1] @ search.own_vector).max())
                extra["highlight_cos"] = float(vectors[-1] @ search.vector)
                hits = retriever.highlighter.term_hits(top.doc, top.word_start, top.word_end, known)
                total = sum(weights.values()) or 1.0
                shares = [
                    sum(
                        weights[t]
                        for t, hit in hits.items()
                        if hit[a - top.word_start : b - top.word_start].any()
                    )
                    / total
                    for a, b in units
                ]
                extra["unit_coverage"] = max(shares) if shares else 0.0
                rare = sorted(weights, key=lambda t: -weights[t])[:2]
                extra["cooccur"] = float(
                    any(
                        all(hits[t][a - top.word_start : b - top.word_start].any() for t in rare if t in hits)
                        and all(t in hits for t in rare)
                        for a, b in units
                    )
                )
                passage_text = text[slice(*words.char_span(top.word_start, top.word_end))]
                started = time.perf_counter()
                q_states, p_states = embedder.encode_tokens([search.question, passage_text])
                extra["passage_ms"] = (time.perf_counter() - started) * 1000
                aligned = _term_alignment(q_states, p_states, search.question)
                started = time.perf_counter()
                hq_states, h_states = embedder.encode_tokens([search.question, highlight])
                extra["highlight_ms"] = (time.perf_counter() - started) * 1000
                aligned_highlight = _term_alignment(hq_states, h_states, search.question)
                written = _written(search.question)
                held_words = list(dict.fromkeys(content_words(passage_text)))
                unknown = " ".join(_unknown_at_any_evidence(retriever.abstainer, search.question))
                unknown_stems = {t for t in retriever.fusion.query_terms(unknown)} if unknown else set()
                term_rows = []
                all_hits = retriever.highlighter.term_hits(top.doc, top.word_start, top.word_end, own_terms)
                mine = list(dict.fromkeys(own_terms))
                asked_words = [written.get(t, t) for t in mine]
                if mine and held_words:
                    vectors = retriever.soft_coverage.words([*asked_words, *held_words])
                    closest = (vectors[: len(mine)] @ vectors[len(mine) :].T).max(axis=1)
                else:
                    closest = np.zeros(len(mine))
                for t, c in zip(mine, closest):
                    term_rows.append(
                        {
                            "term": t,
                            "idf": retriever.fusion.lexicon.idf(t),
                            "known": retriever.fusion.lexicon.known(t),
                            "asked": t in weights,
                            "held": bool(t in all_hits and all_hits[t].any()),
                            "align": aligned.get(t, 0.0),
                            "align_highlight": aligned_highlight.get(t, 0.0),
                            "word": float(c),
                            "unknown_name": t in unknown_stems,
                        }
                    )
                extra["terms"] = term_rows
            rows.append(
                {
                    "set": name,
                    "id": item["id"],
                    "question": item["question"],
                    "unanswerable": item["kind"] == "unanswerable",
                    "signals": list(signals.values())[:7],
                    "extra": extra,
                    "rule": bool(retriever.abstainer.rule(signals)),
                    "abstained": answer.abstained,
                    "unknown": [],
                }
            )
        print(f"{name}: {len(items)} questions", flush=True)
    return rows


def derived(row: dict) -> dict[str, float]:
    """The candidates read off the per-term table of a row (``extra["terms"]``): token alignment
    (``a_``) and single-word closeness (``w_``, the soft-coverage vectors) of the question's own
    terms, a term the passage holds counting 1; over the known terms coverage weighs
    (``a_known``) or all of them, those the corpus never uses included (``a_all``, ``w_all``):
    IDF-weighted mean, minimum, the rarest term's, IDF share at or above 0.6."""
    terms = row["extra"].get("terms", [])
    out: dict[str, float] = {}

    def summarise(chosen: list[dict], key: str, prefix: str) -> None:
        if not chosen:
            out.update({f"{prefix}_{k}": 1.0 for k in ("mean", "min", "rarest", "share")})
            return
        weights = np.array([t["idf"] for t in chosen])
        values = np.array([1.0 if t["held"] else t[key] for t in chosen])
        out[f"{prefix}_mean"] = float((weights * values).sum() / weights.sum())
        out[f"{prefix}_min"] = float(values.min())
        out[f"{prefix}_rarest"] = float(values[int(np.argmax(weights))])
        out[f"{prefix}_share"] = float((weights * (values >= ALIGNED)).sum() / weights.sum())

    summarise([t for t in terms if t["asked"]], "align", "a_known")
    summarise(terms, "align", "a_all")
    summarise(terms, "word", "w_all")
    if not terms or "align_highlight" in terms[0]:
        summarise(terms, "align_highlight", "h_all")
    unknown = [t for t in terms if not t["known"]]
    out["unknown_align_min"] = min((t["align"] for t in unknown), default=1.0)
    out["unknown_word_min"] = min((t["word"] for t in unknown), default=1.0)
    return out


def judge_capped(rows: list[dict], *, fit_sets: set[str], cap_sets: set[str], signs: np.ndarray | None):
    """(pooled abstains, leave-one-set-out abstains, weights, bias, threshold): fitted on
    ``fit_sets``, the threshold the lowest keeping each of ``cap_sets`` within the cap."""
    from calibrate import GROUPS, choose, fit

    features = np.array([r["signals"] for r in rows])
    labels = np.array([r["unanswerable"] for r in rows])
    sets = np.array([r["set"] for r in rows])
    rule = np.array([r["rule"] for r in rows])
    uncapped = frozenset(set(SETS) - cap_sets)

    def trained(mask: np.ndarray) -> tuple[np.ndarray, float, float]:
        chosen = mask & np.isin(sets, sorted(fit_sets))
        weights, bias = fit(features[chosen & ~rule], labels[chosen & ~rule].astype(float), signs=signs)
        chance = chance_of(features, weights, bias)
        return weights, bias, choose(chance[mask], rule[mask], labels[mask], sets[mask], uncapped)

    weights, bias, threshold = trained(np.ones(len(rows), bool))
    pooled = rule | (chance_of(features, weights, bias) >= threshold)
    groups = np.array([GROUPS.get(s, s) for s in sets])
    held = np.zeros(len(rows), bool)
    for group in dict.fromkeys(groups):
        mine = groups == group
        w, b, t = trained(~mine)
        held[mine] = rule[mine] | (chance_of(features[mine], w, b) >= t)
    return pooled, held, weights, bias, threshold


def main() -> None:
    from qa.config import Settings
    from qa.retrieval.abstain import SIGNAL_NAMES

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--eval-dir", type=Path, default=None)
    parser.add_argument("--cache", type=Path, default=REPO / ".bench")
    parser.add_argument("--reuse", action="store_true")
    args = parser.parse_args()
    saved = args.cache / "evidence-signals.json"
    if args.reuse and saved.exists():
        rows = json.loads(saved.read_text())
    else:
        rows = collect((args.eval_dir or find_eval_dir()).resolve(), args.cache, tuple(SETS))
        saved.write_text(json.dumps(rows))
    for row in rows:
        row["candidates"] = {**{k: v for k, v in row["extra"].items() if k in EXTRA}, **derived(row)}
    labels = np.array([r["unanswerable"] for r in rows])
    sets = np.array([r["set"] for r in rows])
    rule = np.array([r["rule"] for r in rows])
    timed = [r["extra"] for r in rows if "passage_ms" in r["extra"]]
    if timed:
        passage_ms = np.median([e["passage_ms"] for e in timed])
        highlight_ms = np.median([e["highlight_ms"] for e in timed])
        print(f"token states of the question with the passage: p50 {passage_ms:.1f} ms; ", end="")
        print(f"with the highlighted sentence: p50 {highlight_ms:.1f} ms ({len(timed)} questions)\n")
    print("separation (rows the plain rules leave): median answerable / unanswerable, AUC")
    lines = []
    base = np.array([r["signals"] for r in rows])
    columns = {name: np.array([r["candidates"][name] for r in rows]) for name in rows[0]["candidates"]}
    columns.update({f"({name})": base[:, i] for i, name in enumerate(SIGNAL_NAMES[:7])})
    for name, values in columns.items():
        for scope, mask in (("all", ~rule), ("devdocs", ~rule & (sets == "devdocs"))):
            pos, neg = values[mask & labels], values[mask & ~labels]
            auc = float((neg[:, None] > pos[None, :]).mean() + 0.5 * (neg[:, None] == pos[None, :]).mean())
            lines.append([name, scope, f"{np.median(neg):.3f}", f"{np.median(pos):.3f}", f"{auc:.3f}"])
    print(table(["signal", "rows", "answerable", "unanswerable", "AUC (answerable higher)"], lines))

    every = set(SETS)
    older = every - {"devdocs", "conversations-devdocs"}
    before = dataclasses.replace(Settings.load(root=REPO), **SETTINGS_BEFORE)
    settings_abstain = rule | (
        chance_of(base, weights_of(before, base.shape[1]), before.abstain_bias) >= before.abstain_chance
    )
    candidates = [[], ["a_all_mean"], ["w_all_mean"], ["a_all_share"], ["w_all_share"], ["a_known_mean"],
                  ["a_all_rarest"], ["unit_cos"], ["highlight_cos"], ["unit_coverage"], ["cooccur"],
                  ["a_all_mean", "w_all_mean"], ["unit_cos", "a_all_mean"], ["h_all_mean"]]  # fmt: skip
    procedures = (
        ("fit all, cap all", every, every, False),
        ("fit all, cap older", every, older, False),
        ("fit older, cap older", older, older, False),
        ("fit all, cap all, signs held", every, every, True),
        ("fit all, cap older, signs held", every, older, True),
    )
    pooled_lines = [
        [
            "the settings before (no fit)",
            *cells(settings_abstain, rows),
            int((settings_abstain == labels).sum()),
        ]
    ]
    held_lines = []
    for names in candidates:
        extended = [{**r, "signals": r["signals"] + [r["candidates"][n] for n in names]} for r in rows]
        label = "seven" + "".join(f" + {n}" for n in names)
        for how, fit_sets, cap_sets, held_signs in procedures:
            signs = np.concatenate([SIGNS[:7], -np.ones(len(names))]) if held_signs else None
            pooled, held, _, _, threshold = judge_capped(
                extended, fit_sets=fit_sets, cap_sets=cap_sets, signs=signs
            )
            pooled_lines.append(
                [f"{label}, {how} ({threshold:.2f})", *cells(pooled, rows), int((pooled == labels).sum())]
            )
            held_lines.append([f"{label}, {how}", *cells(held, rows), int((held == labels).sum())])
    headers = ["fit", *SETS, "unanswerable declined", "answerable declined", "decided right"]
    print("\n'cap older': the threshold holds the five sets before devdocs to the cap; devdocs is fitted on")
    print("\npooled fit, its threshold:")
    print(table(headers, pooled_lines))
    print("\nleave-one-set-out, threshold chosen on the others:")
    print(table(headers, held_lines))


SETTINGS_BEFORE = {
    "abstain_weights": (-1.16, -5.04, -2.31, -0.08, -1.78, -2.16, -5.28),
    "abstain_bias": 10.30,
    "abstain_chance": 0.81,
}
"""The seven-signal settings before token alignment."""


if __name__ == "__main__":
    main()
