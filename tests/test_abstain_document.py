"""The document-coverage signal: does the top passage's whole document hold the question's terms?
Fast: a stub of the highlighter's stems, and the fake embedder for the retriever case."""

from __future__ import annotations

import dataclasses

import numpy as np

from qa.config import Settings
from qa.index.build import ensure_index
from qa.retrieval.abstain import Abstainer, Signals
from qa.retrieval.document_coverage import DocumentCoverage
from qa.retrieval.retriever import Retriever

VOCABULARY = {"": 0, "dough": 1, "rise": 2, "oven": 3, "tea": 4, "starter": 5}
IDF = {"dough": 1.0, "rise": 1.0, "oven": 2.0, "tea": 1.0, "starter": 4.0}


ROWS = [np.array([1, 0, 2, 1, 3]), np.array([4, 0, 4])]


class Stems:
    """Two documents as stem ids (``ROWS``); a term weighs its ``IDF`` (3 for one not listed)."""

    def __init__(self) -> None:
        self.read: list[tuple[int, int, int]] = []

    @property
    def stem_ids(self):
        return VOCABULARY, None

    def passage_stems(self, doc: int, start: int, end: int) -> np.ndarray:
        self.read.append((doc, start, end))
        return ROWS[doc][start:end]

    def weights(self, query_terms: list[str]) -> dict[str, float]:
        return {t: IDF.get(t, 3.0) for t in set(query_terms)}


def test_the_idf_share_of_the_terms_anywhere_in_the_document():
    coverage = DocumentCoverage(Stems(), lambda doc: len(ROWS[doc]), 2)
    assert coverage(0, ["dough", "rise", "oven"]) == 1.0
    assert coverage(0, ["dough", "starter"]) == 1.0 / 5.0, "the rare term weighs more"
    assert coverage(1, ["dough", "rise", "oven"]) == 0.0
    assert coverage(0, ["unheard"]) == 0.0, "a term no document holds is not found"
    assert coverage(0, []) == 0.0


def test_a_document_is_read_once_and_whole():
    stems = Stems()
    coverage = DocumentCoverage(stems, lambda doc: len(ROWS[doc]), 2)
    coverage(0, ["dough"])
    coverage(0, ["oven"])
    assert stems.read == [(0, 0, 5)]


def test_a_document_lacking_the_question_terms_raises_the_chance_and_says_so(tmp_path):
    abstainer = Abstainer(["text"], Settings(root=tmp_path), document_names=set())
    middling = Signals(evidence=0.7, coverage=0.3, query="How does the tool handle this case?")
    spread = abstainer.decide(dataclasses.replace(middling, document_coverage=1.0))
    lacking = abstainer.decide(dataclasses.replace(middling, document_coverage=0.3))
    assert lacking.chance > spread.chance
    weak = abstainer.decide(dataclasses.replace(middling, evidence=0.5, agreement=0.0, document_coverage=1.0))
    assert weak.abstains and "its document 100%" in weak.reason


def test_the_retriever_measures_the_top_document_on_a_corpus_other_than_the_seed(project, fake_embedder):
    (project.seeds_dir / "bread.md").write_text(
        "# Bread\n\nKnead the dough for ten minutes.\n\n"
        + "Flour and water. " * 80
        + "\n\nLeave the dough to rise in a warm oven for an hour.\n",
        encoding="utf-8",
    )
    (project.seeds_dir / "tea.md").write_text(
        "# Tea\n\nGreen tea is brewed below boiling for two minutes.\n", encoding="utf-8"
    )
    retriever = Retriever(ensure_index(project, fake_embedder).index, fake_embedder, project)
    question = "How long does the dough rise in the oven?"
    [(answer, signals)] = retriever.explain_many([question])
    top = answer.passages[0].citation
    doc = next(i for i, d in enumerate(retriever.index.documents) if d.source == top.source)
    known = retriever.abstainer.known_terms(retriever.fusion.query_terms(question))
    assert signals.document_coverage == retriever.highlighter.coverage(doc, 0, top.total_words, known)
    assert signals.document_coverage >= signals.coverage
