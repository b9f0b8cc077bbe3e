"""What the section reorder costs a question: warm ``Retriever.ask`` with
``section_order_weight`` W and without, turn about, on one set's questions.

    python benchmarks/section_cost.py [--weight 0.2] [--set manuals] [--rounds 3] [--cache DIR]

Prints per system the p50, p99 and mean wall clock of a question and the texts embedded per
question (the question, and with the reorder the passages read under their heading paths).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from _common import REPO, percentile, table
from retrieval import SETS, find_eval_dir
from section_order import _settings


def cost(name: str, eval_dir: Path, cache: Path, weight: float, rounds: int) -> None:
    """Warm ``Retriever.ask`` on the questions of set ``name`` with the reorder at ``weight`` and
    off, turn about, one question at a time: per question wall clock and texts embedded."""
    from qa.embedders.base import make_embedder
    from qa.index.build import ensure_index
    from qa.retrieval.retriever import Retriever

    settings = _settings(name, eval_dir, cache)
    embedder = make_embedder(settings)
    index = ensure_index(settings, embedder).index
    systems = {
        "off": Retriever(index, embedder, settings.replace(section_order_weight=0.0)),
        f"section_order_weight {weight}": Retriever(
            index, embedder, settings.replace(section_order_weight=weight)
        ),
    }
    qfile = Path(SETS[name][0]) if Path(SETS[name][0]).is_absolute() else eval_dir / SETS[name][0]
    items = [json.loads(line) for line in qfile.read_text(encoding="utf-8").splitlines() if line.strip()]
    texts = {system: 0 for system in systems}
    asking = {"system": "off"}
    counting = embedder.encode

    def encode(batch):  # counts the texts each system embeds
        texts[asking["system"]] += len(batch)
        return counting(batch)

    embedder.encode = encode
    for retriever in systems.values():
        retriever.warm_up(background=False)
    texts.update(dict.fromkeys(systems, 0))  # the warm-up's texts are not a question's
    times: dict[str, list[float]] = {system: [] for system in systems}
    for _ in range(rounds):
        for item in items:
            for system, retriever in systems.items():
                asking["system"] = system
                start = time.perf_counter()
                retriever.ask(item["question"], history=item.get("history") or [])
                times[system].append(1000 * (time.perf_counter() - start))
    rows = [
        [
            system,
            f"{percentile(t, 50):.1f}",
            f"{percentile(t, 99):.1f}",
            f"{sum(t) / len(t):.1f}",
            f"{texts[system] / len(t):.2f}",
        ]
        for system, t in times.items()
    ]
    print(f"{name}: {len(items)} questions x {rounds}, turn about, warm")
    print(table(["system", "p50 ms", "p99 ms", "mean ms", "texts embedded per question"], rows))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--eval-dir", type=Path, default=None)
    parser.add_argument("--cache", type=Path, default=REPO / ".bench")
    parser.add_argument("--weight", type=float, default=0.2)
    parser.add_argument("--set", default="manuals")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    eval_dir = (args.eval_dir or find_eval_dir()).resolve()
    args.cache.mkdir(parents=True, exist_ok=True)
    cost(args.set, eval_dir, args.cache, args.weight, args.rounds)


if __name__ == "__main__":
    main()
