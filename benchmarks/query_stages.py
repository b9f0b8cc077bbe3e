"""CPU time per question by stage of ``Retriever.ask`` (warm, one question at a time): where the
query path's time goes, measured with ``time.process_time`` so that other processes on a shared
machine count less than in wall time. Stages are wrapped methods, so they nest (a stage's time
includes the stages it calls).

    python benchmarks/query_stages.py [QUESTIONS.jsonl] [--repeat 3]

Run it with ``OMP_NUM_THREADS=1`` to count the model's run on one thread (ONNX Runtime's worker
threads add their CPU time to the process's).
"""

from __future__ import annotations

import collections
import functools
import time

from _common import table
from latency import questions_to_time, warm_retriever

STAGES = {
    "qa.retrieval.retriever:Retriever": (
        "ask",
        "_searches",
        "_answer",
        "_structured",
        "_shapes",
        "_signals",
        "_passage",
    ),
    "qa.embedders.onnx:OnnxEmbedder": ("encode",),
    "qa.retrieval.fusion:Fusion": (
        "candidates",
        "names_everywhere",
        "dense_top",
        "lexical_top",
        "dense_scores",
        "_fuse",
    ),
    "qa.lexical.bm25:LexicalIndex": ("scores_for", "term_scores", "top"),
    "qa.retrieval.shaping:Shaper": ("grown", "ranked", "take_best"),
    "qa.retrieval.shaping:_WordScores": ("__init__", "of"),
    "qa.retrieval.highlight:Highlighter": ("span", "passage_stems"),
    "qa.retrieval.soft_coverage:SoftCoverage": ("__call__",),
    "qa.retrieval.document_coverage:DocumentCoverage": ("__call__",),
    "qa.retrieval.structure:Structure": ("own_names", "bonus"),
    "qa.retrieval.abstain:Abstainer": ("decide",),
}
"""Methods timed; one an older version of the code lacks is left out (run against main's code with
``PYTHONPATH`` at a copy of its ``qa/``, turn about with a branch's)."""


def _wrap(cls, name: str, label: str, spent: dict, calls: collections.Counter) -> None:
    method = getattr(cls, name, None)
    if method is None:
        return

    @functools.wraps(method)
    def timed(*args, **kwargs):
        start = time.process_time()
        try:
            return method(*args, **kwargs)
        finally:
            spent[label] += time.process_time() - start
            calls[label] += 1

    setattr(cls, name, timed)


def main() -> None:
    questions, args = questions_to_time(__doc__.splitlines()[0])

    import importlib

    spent: dict[str, float] = collections.defaultdict(float)
    calls: collections.Counter = collections.Counter()
    for where, names in STAGES.items():
        module, cls_name = where.split(":")
        cls = getattr(importlib.import_module(module), cls_name)
        for name in names:
            _wrap(cls, name, f"{cls_name}.{name}", spent, calls)

    retriever = warm_retriever()
    for q in questions:  # warm: every document's words read once
        retriever.ask(q)
    spent.clear()
    calls.clear()
    wall = time.perf_counter()
    for _ in range(args.repeat):
        for q in questions:
            retriever.ask(q)
    wall = time.perf_counter() - wall
    n = len(questions) * args.repeat
    rows = [
        [label, spent[label] / n * 1000, calls[label] / n]
        for label in sorted(spent, key=lambda label: -spent[label])
    ]
    print(f"{len(questions)} questions x {args.repeat}; wall {wall / n * 1000:.1f} ms a question")
    print(table(["stage", "CPU ms / question", "calls / question"], rows))


if __name__ == "__main__":
    main()
