"""A passage's stems are read from its own words: the same ids as the whole document's row,
without reading the rest of the document (fast, fake embedder)."""

import numpy as np

from qa.index.build import ensure_index
from qa.retrieval.retriever import Retriever


def test_passage_stems_are_the_slice_of_the_documents_row(project, fake_embedder):
    text = "# Debt bondage\n\n" + " ".join(
        f"Workers\u00a0owe debts{i}; the U.S. and Café owners — running, ran. The {i}th line.\n"
        for i in range(40)
    )
    (project.seeds_dir / "a.md").write_text(text, encoding="utf-8")
    ensure_index(project, fake_embedder)
    retriever = Retriever.open(project, fake_embedder)
    highlighter = retriever.highlighter
    words = len(retriever.index.word_maps[0])
    rng = np.random.default_rng(0)
    spans = [(int(a), int(a + n)) for a, n in zip(rng.integers(0, words - 30, 20), rng.integers(0, 30, 20))]
    found = [highlighter.passage_stems(0, a, b) for a, b in spans]  # before the document's row
    assert highlighter.stem_ids[1].computed == 0
    row = highlighter.stem_ids[1][0]
    for (a, b), stems in zip(spans, found):
        assert stems.tolist() == row[a:b].tolist()
    assert highlighter.passage_stems(0, 5, 5).tolist() == []
