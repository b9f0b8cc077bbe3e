"""The agreement signal: does the window nearest to the question in meaning lie in the passage
shown first? Fast: small tables of windows, and the fake embedder for the retriever case."""

from __future__ import annotations

import dataclasses

import numpy as np

from qa.config import Settings
from qa.index.build import ensure_index
from qa.retrieval.abstain import Abstainer, Signals
from qa.retrieval.agreement import nearest_in_passage
from qa.retrieval.retriever import Retriever

TABLE = {
    "doc": np.array([0, 0, 1, 1]),
    "word_start": np.array([0, 20, 0, 40]),
    "word_end": np.array([20, 40, 20, 60]),
}
IDS = np.array([0, 1, 2, 3])


def _agreement(cosines, *, doc, word_start, word_end) -> float:
    return nearest_in_passage(IDS, cosines, TABLE, doc=doc, word_start=word_start, word_end=word_end)


def test_the_nearest_window_inside_or_overlapping_the_passage_agrees():
    cosines = np.array([0.3, 0.8, 0.5, 0.4])  # window 1: doc 0, words 20..40
    assert _agreement(cosines, doc=0, word_start=10, word_end=50) == 1.0
    assert _agreement(cosines, doc=0, word_start=35, word_end=80) == 1.0, "a shared word is enough"


def test_the_nearest_window_elsewhere_disagrees():
    cosines = np.array([0.3, 0.8, 0.5, 0.4])
    assert _agreement(cosines, doc=0, word_start=40, word_end=90) == 0.0, "touching is not sharing"
    assert _agreement(cosines, doc=1, word_start=0, word_end=60) == 0.0, "same words, other document"


def test_without_cosines_nothing_disagrees():
    assert _agreement(None, doc=0, word_start=0, word_end=10) == 1.0
    assert nearest_in_passage(IDS[:0], np.zeros(0), TABLE, doc=0, word_start=0, word_end=10) == 1.0


def test_disagreement_raises_the_chance_and_is_named_in_the_reason(tmp_path):
    settings = Settings(root=tmp_path)
    abstainer = Abstainer(["text"], settings, document_names=set())
    middling = Signals(evidence=0.6, coverage=0.3, query="How does the tool handle this case?")
    agreed = abstainer.decide(middling)
    parted = abstainer.decide(dataclasses.replace(middling, agreement=0.0))
    assert parted.chance > agreed.chance
    assert parted.abstains and "the passage nearest in meaning is another one" in parted.reason
    assert "nearest in meaning" not in abstainer.decide(dataclasses.replace(middling, coverage=0.0)).reason


def test_the_retriever_measures_agreement_on_a_corpus_other_than_the_seed(project, fake_embedder):
    (project.seeds_dir / "bread.md").write_text(
        "# Bread\n\nKnead the dough for ten minutes. Leave the dough to rise for an hour.\n", encoding="utf-8"
    )
    (project.seeds_dir / "tea.md").write_text(
        "# Tea\n\nGreen tea is brewed below boiling for two minutes.\n", encoding="utf-8"
    )
    retriever = Retriever(ensure_index(project, fake_embedder).index, fake_embedder, project)
    [(answer, signals)] = retriever.explain_many(["How long should the dough rise?"])
    assert signals.agreement in (0.0, 1.0)
    top = answer.passages[0].citation
    candidates = retriever.fusion.candidates(
        fake_embedder.encode(["How long should the dough rise?"])[0],
        retriever.fusion.query_terms("How long should the dough rise?"),
    )
    nearest = int(candidates.ids[int(np.argmax(candidates.dense))])
    table = retriever.index.table
    inside = (
        retriever.index.documents[int(table["doc"][nearest])].source == top.source
        and table["word_start"][nearest] < top.word_end
        and top.word_start < table["word_end"][nearest]
    )
    assert signals.agreement == float(inside)
