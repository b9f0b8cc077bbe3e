"""Abstention signals measured beside the settings' seven, each judged as ``calibrate.py`` judges:
a fit pooled over the dev sets and leave-one-set-out.

    python benchmarks/abstain_variants.py [--eval-dir ../shared/eval] [--cache DIR] [--reuse]

Two directions (benchmarks/README.md, "Abstention in other words"):

- soft coverage from other word vectors: the model's static input token embeddings (the
  ``embeddings.word_embeddings`` matrix of the bundled all-MiniLM-L6-v2, a word as the mean of its
  WordPiece rows; no model run), other cosine ranges, the top passage's document instead of the
  passage, and the word a term is embedded as;
- a corpus's own scale, computed without users' questions: the best cosine a fixed bank of
  off-topic questions (:data:`BANK`) reaches in each collection and in each document, and the
  best cosine inside a document of pseudo-questions made from it (the first half of its
  sentences; its heading lines), with ``evidence`` expressed relative to them.

The seventh signal as the settings define it (soft coverage of the top passage, single words
embedded by the model, 0.4 to 0.8) is the reference row. Every dev set is read once; ``--reuse``
reads ``DIR/abstain-variants.json`` from the last run.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
from _common import REPO, table
from calibrate import SETS, chance_of, choose, fit, left_out, rates
from retrieval import SETS as RETRIEVAL_SETS
from retrieval import find_eval_dir, index_name

BANK = (
    "What is the capital of Australia?",
    "How long should I boil an egg?",
    "Who wrote Pride and Prejudice?",
    "What is the speed of light?",
    "How do I change a flat tyre on a bicycle?",
    "When did the Roman Empire fall?",
    "What do giant pandas eat?",
    "How many players are on a football team?",
    "Which planet has the most moons?",
    "How do I knit a scarf?",
    "What is the best time of year to plant tomatoes?",
    "Who painted the ceiling of the Sistine Chapel?",
    "How tall is Mount Everest?",
    "What causes thunderstorms?",
    "How do I make bread rise?",
    "Which ocean is the deepest?",
    "What is the population of Brazil?",
    "How do whales communicate?",
    "What was the first film with sound?",
    "How do I remove a red wine stain?",
    "Why do leaves change colour in autumn?",
    "Who won the first Tour de France?",
    "How are diamonds formed?",
    "What is the national dish of Japan?",
    "How fast can a cheetah run?",
    "What language is spoken in Brazil?",
    "How do I train a puppy to sit?",
    "What is the boiling point of water at high altitude?",
    "Which composer wrote the Four Seasons?",
    "How many bones are in the human body?",
    "What is the recipe for pancakes?",
    "When was the Eiffel Tower built?",
)
"""Off-topic questions: how close a corpus comes to questions it cannot answer."""
PSEUDO = 40
"""Pseudo-questions drawn per document (headings; first halves of sentences)."""


def _corpus_scales(index, embedder) -> list[dict]:
    """Per document: the bank's best cosines in it, and its pseudo-questions' best cosines in it."""
    rng = np.random.default_rng(0)
    docs = np.asarray(index.table["doc"])
    vectors = np.asarray(index.store.vectors(np.arange(len(docs))), dtype=np.float32)
    bank = vectors @ embedder.encode(list(BANK)).T
    out = []
    for doc, document in enumerate(index.documents):
        mine = docs == doc
        heads = [
            line
            for line in (raw.strip().strip("#").strip() for raw in document.text.splitlines())
            if 2 <= len(line.split()) <= 8 and not line.endswith((".", ",", ";", ":")) and line[:1].isupper()
        ]
        sentences = [
            p.strip() for p in re.split(r"(?<=[.?!])\s+|\n\s*\n", document.text) if 8 <= len(p.split()) <= 40
        ]
        if len(sentences) < 5:  # unpunctuated text (the seed): runs of 16 words
            words = document.text.split()
            sentences = [" ".join(words[i : i + 16]) for i in range(0, max(1, len(words) - 16), 16)]
        pick = [sentences[i] for i in rng.choice(len(sentences), min(PSEUDO, len(sentences)), replace=False)]
        halves = [" ".join(s.split()[: max(4, len(s.split()) // 2)]) for s in pick]
        heads = (
            [heads[i] for i in rng.choice(len(heads), min(PSEUDO, len(heads)), replace=False)]
            if heads
            else []
        )

        def best(texts: list[str], mine=mine) -> list[float]:
            return (vectors[mine] @ embedder.encode(texts).T).max(0).tolist() if texts else []

        out.append({"bank": bank[mine].max(0).tolist(), "halves": best(halves), "heads": best(heads)})
    return out


def collect(eval_dir: Path, cache: Path) -> dict:
    """Per dev question: its signals, the plain rules' verdict, its known terms as written, the top
    passage and its document; per corpus: its documents' vocabularies and scales."""
    from qa.config import Settings
    from qa.embedders.base import make_embedder
    from qa.index.build import ensure_index
    from qa.ingest.normalize import content_words, stem
    from qa.retrieval.retriever import Retriever

    rows, corpora, embedder = [], {}, None
    for name in SETS:
        questions_file, corpus_name = RETRIEVAL_SETS[name]
        if corpus_name is None:
            settings, key = Settings.load(root=REPO), "seed"
        else:
            corpus = eval_dir / corpus_name
            key = index_name(corpus_name)
            settings = Settings.load(root=corpus, seeds_dir=corpus, index_dir=cache / f"index-{key}")
        # the passage abstention is decided on comes first: no section reorder after it
        settings = dataclasses.replace(settings, section_order_weight=0.0)
        embedder = embedder or make_embedder(settings)
        retriever = Retriever(ensure_index(settings, embedder).index, embedder, settings)
        index = retriever.index
        if key not in corpora:
            corpora[key] = {
                "scales": _corpus_scales(index, embedder),
                "vocab": [sorted(set(content_words(d.text))) for d in index.documents],
            }
        items = [json.loads(line) for line in (eval_dir / questions_file).read_text().splitlines() if line]
        explained = retriever.explain_many(
            [i["question"] for i in items], histories=[i.get("history") or [] for i in items]
        )
        sources = {d.source: i for i, d in enumerate(index.documents)}
        for item, (answer, signals) in zip(items, explained):
            known = retriever.abstainer.known_terms(retriever.fusion.query_terms(item["question"]))
            written: dict[str, str] = {}
            for word in content_words(item["question"]):
                written.setdefault(stem(word), word)
            passage = answer.passages[0].text if answer.passages else ""
            rows.append(
                {
                    "set": name,
                    "corpus": key,
                    "unanswerable": item["kind"] == "unanswerable",
                    "signals": list(signals.values()),
                    "rule": bool(retriever.abstainer.rule(signals)),
                    "known": [
                        [t, written.get(t, t), retriever.fusion.lexicon.idf(t)] for t in sorted(set(known))
                    ],
                    "passage": passage,
                    "doc": sources[answer.passages[0].source] if answer.passages else -1,
                }
            )
    return {"rows": rows, "corpora": corpora}


def static_vectors(words: set[str]) -> dict[str, np.ndarray]:
    """A word as the mean of its WordPiece rows of the model's input embedding matrix."""
    from safetensors import safe_open
    from tokenizers import Tokenizer

    from qa.config import DEFAULT_MODEL
    from qa.embedders.paths import resolve_model_path

    folder = Path(resolve_model_path(DEFAULT_MODEL))
    with safe_open(str(folder / "model.safetensors"), framework="np") as f:
        matrix = f.get_tensor("embeddings.word_embeddings.weight")
    tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    tokenizer.no_padding()
    out = {}
    for word in words:
        vector = matrix[tokenizer.encode(word, add_special_tokens=False).ids].mean(0)
        out[word] = vector / (np.linalg.norm(vector) or 1.0)
    return out


def model_vectors(words: set[str]) -> dict[str, np.ndarray]:
    """Each word embedded alone by the retrieval model (what the settings' signal reads)."""
    from qa.config import Settings
    from qa.embedders.base import make_embedder

    ordered = sorted(words)
    return dict(zip(ordered, make_embedder(Settings.load(root=REPO)).encode(ordered)))


def soft(known: list, held: list[str], vectors: dict, floor: float, full: float) -> float:
    """IDF share of ``known`` terms ([stem, word, idf]) in the words ``held``, a lacking term
    counting by its closest word's cosine from ``floor`` (0) to ``full`` (1)."""
    from qa.ingest.normalize import stem

    total = sum(w for *_, w in known)
    if not total:
        return 0.0
    stems = {stem(w) for w in held}
    matrix = np.array([vectors[w] for w in held]) if held else None
    found = 0.0
    for term, word, weight in known:
        if term in stems:
            found += weight
        elif matrix is not None:
            found += weight * float(np.clip(((matrix @ vectors[word]).max() - floor) / (full - floor), 0, 1))
    return found / total


def judge(features: np.ndarray, data: list[dict]) -> list[str]:
    """Pooled (at the threshold chosen as calibrate.py chooses it) and leave-one-set-out cells."""
    labels = np.array([r["unanswerable"] for r in data])
    sets = np.array([r["set"] for r in data])
    rule = np.array([r["rule"] for r in data])
    weights, bias = fit(features[~rule], labels[~rule].astype(float))
    chance = chance_of(features, weights, bias)
    pooled = rates(rule | (chance >= choose(chance, rule, labels, sets)), labels, sets)[:-1]
    held = rates(left_out(features, labels, sets, rule)[1], labels, sets)[:-1]
    return [" ".join(p.replace(" ", "") for p in pooled), " ".join(h.replace(" ", "") for h in held)]


def variants(data: dict) -> list[tuple[str, Callable[[dict, list], list]]]:
    """Each variant: a name and the features of one question from its row and the seven signals."""
    from qa.ingest.normalize import content_words, stem

    rows, corpora = data["rows"], data["corpora"]
    words = {w for r in rows for _, w, _ in r["known"]} | {
        w for r in rows for w in content_words(r["passage"])
    }
    vocab = {w for c in corpora.values() for doc in c["vocab"] for w in doc}
    static, model = static_vectors(words), model_vectors(words | vocab)
    shortest: dict[str, dict[str, str]] = {}
    for key, c in corpora.items():
        forms: dict[str, str] = {}
        for w in sorted({w for doc in c["vocab"] for w in doc}, key=lambda w: (len(w), w)):
            forms.setdefault(stem(w), w)
        shortest[key] = forms

    def held(r):
        return list(dict.fromkeys(content_words(r["passage"])))

    def scale(r, kind, where):
        per = corpora[r["corpus"]]["scales"]
        values = per[r["doc"]][kind] if where == "doc" else [v for d in per for v in d[kind]]
        return float(np.median(values or per[r["doc"]]["halves"]))

    def corpus_form(r):
        return [[t, shortest[r["corpus"]].get(t, w), i] for t, w, i in r["known"]]

    def doc_words(r):
        return corpora[r["corpus"]]["vocab"][r["doc"]]

    out: list[tuple[str, Callable[[dict, list], list]]] = [
        ("six signals (the settings before)", lambda r, s: s[:6]),
        ("seven: soft coverage as the settings (model, 0.4-0.8)", lambda r, s: s),
    ]
    for floor, full in ((0.2, 0.6), (0.3, 0.7), (0.4, 0.8), (0.5, 1.0)):
        out.append(
            (
                f"six + static soft {floor}-{full}",
                lambda r, s, a=floor, b=full: [*s[:6], soft(r["known"], held(r), static, a, b)],
            )
        )
    for floor, full in ((0.3, 0.7), (0.3, 0.8), (0.4, 0.9), (0.5, 1.0)):
        out.append(
            (
                f"six + model soft {floor}-{full}",
                lambda r, s, a=floor, b=full: [*s[:6], soft(r["known"], held(r), model, a, b)],
            )
        )
    out += [
        ("model soft 0.4-0.8 replacing coverage", lambda r, s: [s[0], s[1], s[6], *s[3:6]]),
        ("six + soft, a term as the corpus's shortest word of its stem",
         lambda r, s: [*s[:6], soft(corpus_form(r), held(r), model, 0.4, 0.8)]),
        ("soft document coverage replacing document coverage",
         lambda r, s: [*s[:5], soft(r["known"], doc_words(r), model, 0.4, 0.8)]),
    ]  # fmt: skip
    for kind in ("bank", "halves", "heads"):
        for where in ("doc", "collection"):
            if kind == "heads" and where == "collection":
                continue
            out.append(
                (
                    f"seven, evidence - {where} {kind} median",
                    lambda r, s, k=kind, w=where: [s[0] - scale(r, k, w), s[1] - scale(r, k, w), *s[2:]],
                )
            )
            out.append(
                (
                    f"seven + {where} {kind} median as an eighth",
                    lambda r, s, k=kind, w=where: [*s, scale(r, k, w)],
                )
            )
    out.append(
        (
            "six, evidence - collection bank median",
            lambda r, s: [
                s[0] - scale(r, "bank", "collection"),
                s[1] - scale(r, "bank", "collection"),
                *s[2:6],
            ],
        )
    )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--eval-dir", type=Path, default=None)
    parser.add_argument("--cache", type=Path, default=REPO / ".bench")
    parser.add_argument("--reuse", action="store_true", help="read what the last run saved")
    args = parser.parse_args()
    args.cache.mkdir(parents=True, exist_ok=True)
    saved = args.cache / "abstain-variants.json"
    if args.reuse and saved.exists():
        data = json.loads(saved.read_text())
    else:
        data = collect((args.eval_dir or find_eval_dir()).resolve(), args.cache)
        saved.write_text(json.dumps(data))
    rows = data["rows"]
    print("cells per set (" + ", ".join(SETS) + "): unanswerable that abstain/answerable that abstain")
    lines = []
    for name, make in variants(data):
        features = np.array([make(r, r["signals"]) for r in rows], dtype=float)
        lines.append([name, *judge(features, rows)])
    print(table(["signals", "pooled fit, its threshold", "leave-one-set-out"], lines))
    for key, c in data["corpora"].items():
        medians = {
            k: [float(np.median(d[k])) if d[k] else float("nan") for d in c["scales"]]
            for k in ("bank", "halves", "heads")
        }
        print(key, ", ".join(f"{k} " + " ".join(f"{v:.2f}" for v in vs) for k, vs in medians.items()))


if __name__ == "__main__":
    main()
