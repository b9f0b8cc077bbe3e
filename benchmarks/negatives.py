"""Unanswerable questions made from the dev sets without writing any: each answerable question
asked of its own corpus with its answer cut out.

A copy of a corpus lacks the text around the answer phrases of a quarter of its questions
(:data:`GROUPS` copies, :data:`CUT_WORDS` words either side of each phrase), and those questions
are asked of it: the document's topic is still there, what is asked is not — the near-topic kind of
unanswerable question that the held-out sets answer wrongly. A question whose phrase still occurs
in its copy is left out. ``calibrate.py`` fits on them beside the hand-written rows (a total weight
of :data:`SHARE` times the hand-written unanswerable rows'), and leaves out of a set's
leave-one-set-out fit every such row of its questions or of its corpus.
"""

from __future__ import annotations

import bisect
import json
import re
import shutil
from pathlib import Path

import numpy as np
from _common import REPO

GROUPS = 4
"""Copies of a corpus, each without the answers of a quarter of its questions."""
CUT_WORDS = 80
"""Words cut on either side of an answer phrase (a passage is about 100 words)."""
SHARE = 0.5
"""Their total weight in the fit, as a multiple of the hand-written unanswerable rows'."""
TEXT = (".txt", ".md")
PLANS = (
    ("seed", ("dev.jsonl", "conversations-dev.jsonl")),
    ("docs-md", ("docs-dev.jsonl",)),
)
"""Each corpus cut (``seed``: the project's seeds/) and the question files asked of it."""
QUESTION_GROUP = {
    "dev.jsonl": "seed",
    "conversations-dev.jsonl": "conversations",
    "docs-dev.jsonl": "manuals",
}
CORPUS_OF_GROUP = {"seed": "seed", "conversations": "seed", "manuals": "manuals"}
"""The corpus family each leave-one-set-out group is asked of."""


def cut(text: str, phrases: list[str], words: int = CUT_WORDS) -> str:
    """``text`` without every occurrence of ``phrases`` and ``words`` words either side of it."""
    tokens = [m.span() for m in re.finditer(r"\S+", text)]
    starts = [a for a, _ in tokens]
    spans = []
    for phrase in phrases:
        at = text.find(phrase)
        while at >= 0 and tokens:
            first = bisect.bisect_right(starts, at) - 1
            last = bisect.bisect_left(starts, at + len(phrase))
            spans.append(
                (tokens[max(0, first - words)][0], tokens[min(len(tokens) - 1, last + words - 1)][1])
            )
            at = text.find(phrase, at + 1)
    out, end = [], 0
    for lo, hi in sorted(spans):
        if lo > end:
            out.append(text[end:lo])
        end = max(end, hi)
    out.append(text[end:])
    return "\n\n".join(part.strip("\n") for part in out if part.strip())


def _copy_without(source: Path, folder: Path, phrases: list[str]) -> str:
    """``source``'s files in ``folder`` with ``phrases`` cut from its text files; their text."""
    if not folder.exists():
        folder.mkdir(parents=True)
        for path in source.iterdir():
            if path.suffix in TEXT:
                (folder / path.name).write_text(
                    cut(path.read_text(encoding="utf-8"), phrases), encoding="utf-8"
                )
            elif path.is_file():
                shutil.copyfile(path, folder / path.name)
    return " ".join(p.read_text(encoding="utf-8") for p in folder.glob("*.*") if p.suffix in TEXT)


def collect(eval_dir: Path, cache: Path, row) -> list[dict]:
    """Rows of the answers-cut questions: ``row(retriever, item)`` gives a question's fields;
    each row adds ``set``, ``qgroup``, ``cgroup`` and ``unanswerable``."""
    from qa.config import Settings
    from qa.embedders.base import make_embedder
    from qa.index.build import ensure_index
    from qa.retrieval.retriever import Retriever

    embedder = make_embedder(Settings.load(root=REPO))
    rows: list[dict] = []
    for key, files in PLANS:
        source = REPO / "seeds" if key == "seed" else eval_dir / key
        asked = [
            (name, item)
            for name in files
            for item in (json.loads(line) for line in (eval_dir / name).read_text().splitlines() if line)
            if item.get("answer_phrases")
        ]
        for group in range(GROUPS):
            mine = asked[group::GROUPS]
            where = f"{key}-without-answers-{group}"
            text = _copy_without(
                source, cache / f"corpus-{where}", [p for _, i in mine for p in i["answer_phrases"]]
            )
            settings = Settings.load(root=cache / f"corpus-{where}", seeds_dir=cache / f"corpus-{where}",
                                     index_dir=cache / f"index-{where}")  # fmt: skip
            retriever = Retriever(ensure_index(settings, embedder).index, embedder, settings)
            kept = [(n, i) for n, i in mine if not any(p in text for p in i["answer_phrases"])]
            for (name, _), fields in zip(kept, row(retriever, [i for _, i in kept])):
                rows.append(
                    {**fields, "set": f"{QUESTION_GROUP[name]}@{key}-without-answers", "unanswerable": True,
                     "qgroup": QUESTION_GROUP[name], "cgroup": "seed" if key == "seed" else "manuals"}
                )  # fmt: skip
    return rows


def weights(own: np.ndarray, labels: np.ndarray, share: float = SHARE) -> np.ndarray:
    """Row weights for a fit over hand-written rows (``own``) and answers-cut rows: 1 for the
    former, the latter sharing ``share`` times the hand-written unanswerable rows' count."""
    out = np.ones(len(own))
    if (~own).any():
        out[~own] = share * (own & labels).sum() / (~own).sum()
    return out


def kept_out(group: str, qgroups: np.ndarray, cgroups: np.ndarray) -> np.ndarray:
    """The answers-cut rows a fit that leaves out ``group`` may not see: its questions and its corpus."""
    return (qgroups == group) | (cgroups == CORPUS_OF_GROUP[group])
