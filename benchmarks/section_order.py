"""The top passages reordered by what their section is about: a grid over every set.

    python benchmarks/section_order.py [--eval-dir ../shared/eval] [--cache DIR] [--reuse]

For every question of every set (the dev sets and the held-out ones, as ``retrieval.py`` runs
them) it grows the passages today's retriever ranks, and for each of the first
:data:`POOL` records what a final reorder would read: today's passage score, the heading path of
its section (the section of its highlighted sentence, of its first word, and every section it
overlaps), the cosine of the question as searched with each heading path embedded alone (each
distinct path embedded once), the cosine with the passage embedded with its heading path
("Title › Section: text"), and the abstention verdict the retriever would give were that passage
first. The grid then permutes only the first K passages by ``score + w × evidence`` (evidence
rescaled to the passage score's scale, see :func:`rescaled`), so hit@K cannot drop, and scores
every set as ``score.py`` counts (``first_hit`` of ``retrieval.py``): hit@1, hit@5, MRR@5, and
abstention with the reordered first passage. Passages without a heading path keep their places.

The choice of (evidence, K, w) is made without the held-out sets and by leave-one-set-out over
the dev sets (the manuals' three formats left out together): each dev set is scored with the
configuration the other dev sets' sum likes best.
"""

from __future__ import annotations

import argparse
import itertools
import json
import pickle
from pathlib import Path

import numpy as np
from _common import REPO, table
from retrieval import HELD_OUT, SETS, find_eval_dir, first_hit, index_name

POOL = 8
DEV = [s for s in SETS if s not in HELD_OUT]
GROUPS = {"manuals": "manuals", "manuals-html": "manuals", "manuals-pdf": "manuals"}


def _settings(name: str, eval_dir: Path, cache: Path):
    from qa.config import Settings

    corpus_name = SETS[name][1]
    if corpus_name is None:
        return Settings.load(root=REPO)
    corpus = eval_dir / corpus_name
    where = index_name(corpus_name)
    return Settings.load(root=corpus, seeds_dir=corpus, index_dir=cache / f"index-{where}")


def collect(name: str, eval_dir: Path, cache: Path, embedder) -> list[dict]:
    """Per question of set ``name``: its pool of passages with what a reorder reads."""
    from qa.index.build import ensure_index
    from qa.ingest.formats.base import SECTION_SEPARATOR
    from qa.retrieval.abstain import Signals
    from qa.retrieval.retriever import Retriever

    # the order before the reorder, which the grid measures from
    settings = _settings(name, eval_dir, cache).replace(section_order_weight=0.0)
    retriever = Retriever(ensure_index(settings, embedder).index, embedder, settings)
    index, structure = retriever.index, retriever.structure
    qfile = Path(SETS[name][0]) if Path(SETS[name][0]).is_absolute() else eval_dir / SETS[name][0]
    items = [json.loads(line) for line in qfile.read_text(encoding="utf-8").splitlines() if line.strip()]
    searches = retriever._searches([i["question"] for i in items], [i.get("history") or [] for i in items])
    paths: dict[str, np.ndarray] = {}
    window_vectors: dict[int, np.ndarray | None] = {}
    out = []
    for item, search in zip(items, searches):
        question, query, vector, own_vector = search.question, search.query, search.vector, search.own_vector
        query_terms = retriever.fusion.query_terms(query)
        candidates = retriever._candidates(vector, query_terms, search.ranking)
        pool = retriever.shaper.pool(candidates, POOL)[:POOL]
        own_terms = retriever.fusion.query_terms(question)
        known = retriever.abstainer.known_terms(own_terms)
        alone = own_vector is not None and query != question and candidates.dense is not None
        rows = []
        for shape in pool:
            passage = retriever._passage(shape, query_terms)
            document = index.documents[shape.doc]
            sections = structure.sections[shape.doc]
            start, end = passage.citation.start, passage.citation.end
            first, last = sections.section_of(start), sections.section_of(max(end - 1, start))
            overlapped = [sections.paths[s] for s in range(max(first, 0), last + 1) if s >= 0]
            signals = Signals(
                evidence=candidates.best_dense,
                coverage=retriever.highlighter.coverage(shape.doc, shape.word_start, shape.word_end, known),
                query=query,
                own_evidence=retriever.fusion.best_dense(own_vector) if alone else None,
                unknown_share=retriever.abstainer.unknown_share(own_terms),
                agreement=retriever._agreement(candidates, shape),
                document_coverage=retriever.document_coverage(shape.doc, known),
            )
            rows.append(
                {
                    "score": shape.score,
                    "text": passage.text,
                    "span": (shape.doc, shape.word_start, shape.word_end),
                    "highlight": document.text[passage.highlight.start : passage.highlight.end],
                    "title": document.title,
                    "highlight_path": passage.citation.section,
                    "start_path": SECTION_SEPARATOR.join(sections.path(start)),
                    "paths": [SECTION_SEPARATOR.join(p) for p in overlapped if p],
                    "abstains": retriever.abstainer.decide(signals).abstains,
                    "signals": list(signals.values()),
                }
            )
        for row in rows:
            for path in {row["highlight_path"], row["start_path"], *row["paths"]} - {""}:
                for text in (path, _titled(row["title"], path)):
                    if text not in paths:
                        paths[text] = embedder.encode([text])[0]
        with_text = [
            f"{_titled(r['title'], r['highlight_path'])}: {r['text']}" if r["highlight_path"] else ""
            for r in rows
        ]
        with_highlight = [
            f"{_titled(r['title'], r['highlight_path'])}: {r['highlight']}" if r["highlight_path"] else ""
            for r in rows
        ]
        todo = [t for t in dict.fromkeys(with_text + with_highlight) if t]
        encoded = dict(zip(todo, embedder.encode(todo))) if todo else {}
        for row, text, sentence in zip(rows, with_text, with_highlight):
            row["with_text"] = float(encoded[text] @ vector) if text else None
            row["with_highlight"] = float(encoded[sentence] @ vector) if sentence else None
            own = own_vector if own_vector is not None else vector
            row["with_text_own"] = float(encoded[text] @ own) if text else None
            for kind in ("highlight_path", "start_path"):
                path = row[kind]
                row[f"{kind}_cos"] = float(paths[path] @ vector) if path else None
                row[f"{kind}_titled_cos"] = (
                    float(paths[_titled(row["title"], path)] @ vector) if path else None
                )
            row["max_path_cos"] = max((float(paths[p] @ vector) for p in row["paths"]), default=None)
        for row in rows[:5]:
            row["windows_with_path"] = _windows_evidence(retriever, row, vector, window_vectors)
        dense = candidates.dense
        spread = _dense_spread(retriever, candidates) if dense is not None else 1.0
        out.append({"item": item, "rows": rows, "spread": spread, "paths": len(paths)})
    return out


def _windows_evidence(retriever, row: dict, vector: np.ndarray, cache: dict) -> float | None:
    """A build-time stand-in for (a): the best cosine of the largest windows lying at least half
    inside the passage, each embedded under its own section's path (kept in ``cache`` by
    window id, as a build would store them); None for a passage without a heading path."""
    if not row["highlight_path"]:
        return None
    from qa.ingest.formats.base import SECTION_SEPARATOR

    index, structure = retriever.index, retriever.structure
    doc, start, end = row["span"]
    windows = index.windows
    largest = windows.scale == windows.scale.max()
    overlap = np.minimum(windows.word_end, end) - np.maximum(windows.word_start, start)
    inside = np.flatnonzero(
        largest & (windows.doc == doc) & (2 * overlap >= windows.word_end - windows.word_start)
    )
    todo = [int(i) for i in inside if int(i) not in cache]
    texts = []
    for i in todo:
        first, last = index.word_maps[doc].char_span(int(windows.word_start[i]), int(windows.word_end[i]))
        path = SECTION_SEPARATOR.join(structure.sections[doc].path(first))
        texts.append(
            f"{_titled(row['title'], path)}: {index.documents[doc].text[first:last]}" if path else ""
        )
    encoded = iter(retriever.embedder.encode([t for t in texts if t])) if any(texts) else iter(())
    for i, text in zip(todo, texts):
        cache[i] = next(encoded) if text else None
    found = [float(cache[int(i)] @ vector) for i in inside if cache[int(i)] is not None]
    return max(found, default=None)


def _titled(title: str, path: str) -> str:
    """The heading path led by the document's title unless it already opens it."""
    if not path or not title or path.split(" \u203a ")[0].strip().lower() == title.strip().lower():
        return path
    return f"{title} \u203a {path}"


def _dense_spread(retriever, candidates) -> float:
    """Mean over window sizes of the span fusion rescales cosines by (best less lower quartile)."""
    from qa.retrieval.fusion import DENSE_FLOOR_QUANTILE

    scales = retriever.index.windows.scale[candidates.ids]
    spans = []
    for size in np.unique(scales):
        part = candidates.dense[scales == size]
        spans.append(float(part.max()) - float(np.quantile(part, DENSE_FLOOR_QUANTILE)))
    return float(np.mean(spans)) if spans else 1.0


EVIDENCE = (
    "highlight_path_cos",
    "highlight_path_titled_cos",
    "start_path_cos",
    "max_path_cos",
    "with_text",
    "with_text_own",
    "with_highlight",
    "windows_with_path",
)
"""(b) the heading path alone: of the highlighted sentence's section, the same led by the
document's title, of the passage's first word, the best of every section it overlaps; (a) the
passage embedded under its (titled) heading path, with the question as searched, or with the
question alone (a follow-up without its topic); the highlighted sentence alone under its path
(a cheaper (a): a sentence is a third of a passage's tokens); and a build-time stand-in for (a),
the best of the largest windows inside the passage each embedded under its section's path."""
SCALINGS = ("minmax", "spread")


def rescaled(
    values: list[float | None], spread: float, scaling: str, dense_weight: float = 0.6
) -> list[float]:
    """Evidence on the passage score's scale: ``minmax`` from the lowest of the passages
    reordered (0) to their best (1), as fusion rescales a size's cosines; ``spread``: cosine
    differences from the best divided by the question's dense rescaling span (what one unit of
    cosine is worth in a fused window score); both times the dense share of fusion."""
    known = [v for v in values if v is not None]
    if not known:
        return [0.0] * len(values)
    high, low = max(known), min(known)
    if scaling == "minmax":
        return [dense_weight * (v - low) / max(high - low, 1e-6) if v is not None else 0.0 for v in values]
    return [dense_weight * (v - high) / max(spread, 1e-6) if v is not None else 0.0 for v in values]


def reorder(question: dict, evidence: str, scaling: str, k: int, weight: float) -> list[dict]:
    """The pool with its first ``k`` passages reordered; those without a heading path keep their places."""
    rows = question["rows"]
    top = rows[:k]
    movable = [i for i, r in enumerate(top) if r[evidence] is not None]
    if weight == 0 or len(movable) < 2:
        return rows
    values = rescaled([top[i][evidence] for i in movable], question["spread"], scaling)
    new = sorted(zip(movable, values), key=lambda p: -(top[p[0]]["score"] + weight * p[1]))
    order = list(range(len(top)))
    for place, (i, _) in zip(movable, new):
        order[place] = i
    return [top[i] for i in order] + rows[k:]


def metrics(
    questions: list[dict], evidence: str, scaling: str, k: int, weight: float, abstain: str = "today"
) -> dict:
    """Scores of one configuration; ``abstain``: the verdict read on today's first passage
    (``today``) or on the first passage shown after the reorder (``shown``)."""
    ranks, abstain_ok, false_abstain, unanswerable = [], 0, 0, 0
    for q in questions:
        rows = reorder(q, evidence, scaling, k, weight)
        first = (q["rows"] if abstain == "today" else rows)[:1]
        declines = first[0]["abstains"] if first else True
        item = q["item"]
        if item["kind"] == "unanswerable":
            unanswerable += 1
            abstain_ok += declines
            continue
        false_abstain += declines
        ranks.append(first_hit(item, [r["text"] for r in rows[:5]]))
    n = max(len(ranks), 1)
    return {
        "hit1": sum(r == 0 for r in ranks) / n,
        "hit5": sum(r is not None for r in ranks) / n,
        "mrr": sum(1 / (r + 1) for r in ranks if r is not None) / n,
        "abstain_ok": abstain_ok / max(unanswerable, 1),
        "false_abstain": false_abstain / n,
    }


def cell(m: dict) -> str:
    ranking = f"{m['hit1']:.3f} / {m['hit5']:.3f} / {m['mrr']:.3f}"
    return f"{ranking}; {m['abstain_ok']:.2f} / {m['false_abstain']:.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--eval-dir", type=Path, default=None)
    parser.add_argument("--cache", type=Path, default=REPO / ".bench")
    parser.add_argument("--reuse", action="store_true", help="read the rows saved by the last run")
    parser.add_argument("--weights", default="0.05,0.1,0.15,0.2,0.25,0.3,0.4,0.5,0.75,1")
    parser.add_argument("--full", action="store_true", help="print every configuration of the grid")
    args = parser.parse_args()
    eval_dir = (args.eval_dir or find_eval_dir()).resolve()
    args.cache.mkdir(parents=True, exist_ok=True)
    saved = args.cache / "section-order.pickle"
    if args.reuse and saved.exists():
        data = pickle.loads(saved.read_bytes())
    else:
        from qa.config import Settings
        from qa.embedders.base import make_embedder

        embedder = make_embedder(Settings.load(root=REPO))
        data = {name: collect(name, eval_dir, args.cache, embedder) for name in SETS}
        saved.write_bytes(pickle.dumps(data))
    weights = [float(w) for w in args.weights.split(",") if float(w)]
    configs = list(itertools.product(EVIDENCE, SCALINGS, (3, 5), weights, ("today", "shown")))
    today = {name: metrics(data[name], EVIDENCE[0], "minmax", 5, 0.0) for name in SETS}
    grid = {c: {name: metrics(data[name], *c) for name in SETS} for c in configs}
    print("cells: hit@1 / hit@5 / MRR@5; unanswerable that abstain / answerable that abstain")
    print("abstention read on today's first passage (today) or on the first shown (shown)")
    shown = grid if args.full else summary(grid, today)
    rows = [["today", *[cell(today[n]) for n in SETS], _gain(today, today)]]
    for c in shown:
        cells = [cell(grid[c][n]) if cell(grid[c][n]) != cell(today[n]) else "unchanged" for n in SETS]
        rows.append([" ".join(map(str, c)), *cells, _gain(grid[c], today)])
    print(table(["evidence scaling K w abstention", *SETS, "dev sum gain / worst dev loss"], rows))
    print()
    print(table(["chosen", *SETS], choose(grid, today)))
    print()
    print(
        table(
            ["manual left out: chosen on the other three", "manuals", "manuals-html", "manuals-pdf"],
            by_document(data, configs),
        )
    )


def summary(grid: dict, today: dict) -> list[tuple]:
    """Per evidence, scaling and K: the weight the dev sets choose (best sum, no dev set losing
    more than 0.01; abstention on today's first passage), and the same read on the first shown."""
    out = []
    for evidence, scaling, k in itertools.product(EVIDENCE, SCALINGS, (3, 5)):
        mine = [c for c in grid if c[:3] == (evidence, scaling, k) and c[4] == "today"]
        fine = [c for c in mine if _worst(grid[c], today, DEV) <= 0.01 + 1e-9] or mine
        best = max(fine, key=lambda c: (round(_sum(grid[c], DEV), 6), -c[3]))
        out += [best, (*best[:4], "shown")]
    return out


def by_document(data: dict, configs: list[tuple]) -> list[list[str]]:
    """Leave one manual out: the configuration best on the other three manuals' questions (all
    three formats; abstention on today's first passage; the smallest weight among equals), and
    the left-out manual's questions today and with it."""
    manuals = ["manuals", "manuals-html", "manuals-pdf"]
    stems = sorted({q["item"]["doc"].rsplit(".", 1)[0] for q in data["manuals"] if q["item"].get("doc")})

    def of(name: str, stem: str, inside: bool) -> list[dict]:
        doc = lambda q: (q["item"].get("doc") or "").rsplit(".", 1)[0]  # noqa: E731
        return [q for q in data[name] if (doc(q) == stem) == inside]

    def total(m: dict) -> float:
        return m["hit1"] + m["hit5"] + m["mrr"]

    rows = []
    for stem in stems:
        fitted = [c for c in configs if c[4] == "today"]
        best = max(
            fitted,
            key=lambda c: (round(sum(total(metrics(of(n, stem, False), *c)) for n in manuals), 6), -c[3]),
        )
        cells = []
        for n in manuals:
            before = metrics(of(n, stem, True), EVIDENCE[0], "minmax", 5, 0.0)
            after = metrics(of(n, stem, True), *best)
            cells.append(
                f"{before['hit1']:.3f} / {before['mrr']:.3f} -> {after['hit1']:.3f} / {after['mrr']:.3f}"
            )
        rows.append([f"{stem}: {' '.join(map(str, best[:4]))}", *cells])
    return rows


def _sum(by_set: dict, names) -> float:
    return sum(by_set[n]["hit1"] + by_set[n]["hit5"] + by_set[n]["mrr"] for n in names)


def _worst(by_set: dict, today: dict, names) -> float:
    keys = ("hit1", "hit5", "mrr", "abstain_ok")
    losses = [today[n][key] - by_set[n][key] for n in names for key in keys]
    losses += [by_set[n]["false_abstain"] - today[n]["false_abstain"] for n in names]
    return max(losses)


def _gain(by_set: dict, today: dict) -> str:
    return f"{_sum(by_set, DEV) - _sum(today, DEV):+.3f} / {_worst(by_set, today, DEV):.3f}"


def choose(grid: dict, today: dict) -> list[list[str]]:
    """The configuration best on the dev sets' sum with no dev set losing more than 0.01, and
    leave-one-set-out: each dev group scored by the configuration the other dev sets choose."""
    rows = []
    allowed = [c for c, by_set in grid.items() if _worst(by_set, today, DEV) <= 0.01 + 1e-9]
    best = max(allowed, key=lambda c: _sum(grid[c], DEV), default=None)
    if best is not None:
        rows.append([f"best on the dev sum, no dev set losing: {best}", *[cell(grid[best][n]) for n in SETS]])
    groups = {GROUPS.get(n, n) for n in DEV}
    loso = {}
    for group in sorted(groups):
        others = [n for n in DEV if GROUPS.get(n, n) != group]
        fine = [c for c, by_set in grid.items() if _worst(by_set, today, others) <= 0.01 + 1e-9]
        pick = max(fine, key=lambda c: _sum(grid[c], others), default=None)
        for n in DEV:
            if GROUPS.get(n, n) == group:
                loso[n] = (pick, grid[pick][n] if pick is not None else today[n])
    rows.append(["leave-one-set-out", *[cell(loso[n][1]) if n in loso else "" for n in SETS]])
    rows.append(["  chosen without it", *[str(loso[n][0]) if n in loso else "" for n in SETS]])
    return rows


if __name__ == "__main__":
    main()
