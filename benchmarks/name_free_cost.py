"""What ranking a question that names its document without the name costs: warm
``Retriever.ask`` with ``name_free_share`` S and off, turn about, on one set's questions.

    python benchmarks/name_free_cost.py [--share 0.18] [--set manuals] [--rounds 3] [--cache DIR]

Prints per system and per kind of question (those that name their document, so that the name is
taken out, and the others) the p50, p99 and mean wall clock of a question and the texts embedded
per question. The other settings are the defaults (the section reorder on).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from _common import REPO, percentile, table
from retrieval import SETS, find_eval_dir
from section_order import _settings


def cost(name: str, eval_dir: Path, cache: Path, share: float, rounds: int) -> None:
    """Warm ``Retriever.ask`` on set ``name``'s questions with ``name_free_share`` ``share`` and 0,
    turn about, one question at a time: wall clock and texts embedded, by kind of question."""
    from qa.embedders.base import make_embedder
    from qa.index.build import ensure_index
    from qa.retrieval.retriever import Retriever

    settings = _settings(name, eval_dir, cache)
    embedder = make_embedder(settings)
    index = ensure_index(settings, embedder).index
    systems = {
        "off": Retriever(index, embedder, settings.replace(name_free_share=0.0)),
        f"name_free_share {share}": Retriever(index, embedder, settings.replace(name_free_share=share)),
    }
    on = systems[f"name_free_share {share}"]
    qfile = Path(SETS[name][0]) if Path(SETS[name][0]).is_absolute() else eval_dir / SETS[name][0]
    items = [json.loads(line) for line in qfile.read_text(encoding="utf-8").splitlines() if line.strip()]
    named = {
        item["id"]: on.name_free.text(item["question"], on.fusion.query_terms(item["question"])) is not None
        for item in items
    }
    counted = {"texts": 0}
    encode = embedder.encode

    def counting(batch):
        counted["texts"] += len(batch)
        return encode(batch)

    embedder.encode = counting
    for retriever in systems.values():
        retriever.warm_up(background=False)
    samples: dict[tuple[str, bool], list[tuple[float, int]]] = {}
    for _ in range(rounds):
        for item in items:
            for system, retriever in systems.items():
                counted["texts"] = 0
                start = time.perf_counter()
                retriever.ask(item["question"], history=item.get("history") or [])
                ms = 1000 * (time.perf_counter() - start)
                samples.setdefault((system, named[item["id"]]), []).append((ms, counted["texts"]))
    rows = []
    for (system, names), got in sorted(samples.items(), key=lambda kv: (not kv[0][1], kv[0][0])):
        times = [ms for ms, _ in got]
        rows.append(
            [
                system,
                "names its document" if names else "names none",
                len(got) // rounds,
                f"{percentile(times, 50):.1f}",
                f"{percentile(times, 99):.1f}",
                f"{sum(times) / len(times):.1f}",
                f"{sum(n for _, n in got) / len(got):.2f}",
            ]
        )
    print(f"{name}: {len(items)} questions x {rounds}, turn about, warm")
    headers = ["system", "questions", "n", "p50 ms", "p99 ms", "mean ms", "texts embedded per question"]
    print(table(headers, rows))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--eval-dir", type=Path, default=None)
    parser.add_argument("--cache", type=Path, default=REPO / ".bench")
    parser.add_argument("--share", type=float, default=0.18)
    parser.add_argument("--set", default="manuals")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    eval_dir = (args.eval_dir or find_eval_dir()).resolve()
    args.cache.mkdir(parents=True, exist_ok=True)
    cost(args.set, eval_dir, args.cache, args.share, args.rounds)


if __name__ == "__main__":
    main()
