"""Soft coverage: a question's term the passage lacks counts in part when the passage holds a word
close in meaning. Fast: word vectors from a table, and the fake embedder for the retriever case."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from qa.config import Settings
from qa.errors import ConfigError
from qa.index.build import ensure_index
from qa.retrieval import soft_coverage
from qa.retrieval.abstain import Abstainer, Signals, unanswerable_chance
from qa.retrieval.retriever import Retriever
from qa.retrieval.soft_coverage import SOFT_FLOOR, SOFT_FULL, SoftCoverage, WordVectors


def _unit(angle_cosine: float) -> np.ndarray:
    """A unit vector whose cosine with (1, 0, 0) is ``angle_cosine``."""
    return np.array([angle_cosine, np.sqrt(1 - angle_cosine**2), 0.0], dtype=np.float32)


MIDDLE = (SOFT_FLOOR + SOFT_FULL) / 2
TABLE = {
    "fee": np.array([1.0, 0.0, 0.0], dtype=np.float32),
    "royalty": _unit(MIDDLE),  # halfway between no match and the same word
    "charge": _unit(0.95),  # as good as the word itself
    "oven": np.array([0.0, 0.0, 1.0], dtype=np.float32),  # unrelated to all of them
    "licence": np.array([0.0, 1.0, 0.0], dtype=np.float32),
}


class Encoder:
    """Looks words up in ``TABLE`` (others: unrelated to every term) and records what it encodes."""

    def __init__(self) -> None:
        self.asked: list[list[str]] = []

    def __call__(self, words):
        self.asked.append(list(words))
        return np.stack([TABLE.get(w, TABLE["oven"]) for w in words])


def _weights(terms: list[str]) -> dict[str, float]:
    return {t: {"fee": 1.0, "licenc": 3.0}.get(t, 1.0) for t in set(terms)}


VOCABULARY = ["fees", "fee", "royalty", "charge", "oven", "licence", "owed"]


def _soft(encode=None) -> SoftCoverage:
    return SoftCoverage(encode or Encoder(), _weights, lambda: VOCABULARY)


def test_a_term_the_passage_holds_counts_in_full_without_a_model_call():
    encode = Encoder()
    soft = _soft(encode)
    assert soft("The licence fee is due.", "What is the licence fee?", ["licenc", "fee"]) == 1.0
    assert encode.asked == []
    assert soft("", "What?", []) == 0.0


def test_a_term_the_passage_lacks_counts_by_the_closest_word_in_meaning():
    soft = _soft()
    question = "Is there a licence fee?"
    half = soft("A royalty is owed under this licence.", question, ["licenc", "fee"])
    assert half == pytest.approx((3.0 + 0.5) / 4.0), "royalty is halfway: half the fee's weight"
    full = soft("A charge is owed under this licence.", question, ["licenc", "fee"])
    assert full == pytest.approx(1.0)
    unrelated = soft("Warm the oven under this licence.", question, ["licenc", "fee"])
    assert unrelated == pytest.approx(3.0 / 4.0), "an unrelated word earns nothing"


def test_past_the_cap_words_are_embedded_each_time_and_the_kept_ones_stay(monkeypatch):
    monkeypatch.setattr(soft_coverage, "CACHED_WORDS", 2)
    encode = Encoder()
    words = WordVectors(encode)
    words(["fee", "royalty", "charge"])
    again = words(["charge", "fee"])
    assert np.array_equal(again[0], TABLE["charge"]) and np.array_equal(again[1], TABLE["fee"])
    assert encode.asked == [["fee", "royalty", "charge"], ["charge"]]


def test_the_prepared_words_stop_at_a_cap(monkeypatch):
    monkeypatch.setattr(soft_coverage, "PREPARED_WORDS", 3)
    encode = Encoder()
    _soft(encode).prepare(background=False)
    assert len(encode.asked[0]) == 3 and "licence" not in encode.asked[0]


def test_the_vocabulary_is_prepared_once_and_then_a_question_asks_only_for_its_own_words():
    encode = Encoder()
    soft = _soft(encode)
    soft.prepare(background=False)
    assert sorted(encode.asked[0]) == sorted(VOCABULARY)
    assert encode.asked[0][-1] == "licence", "the commonest words first, the rarest last"
    soft("A royalty is owed.", "Is a fee owed?", ["fee"])
    assert len(encode.asked) == 1, "the question's word and the passage's are the corpus's"
    soft("A royalty is owed.", "Are fees owed?", ["fee"])
    assert encode.asked[1:] == [], "'fees' is a word of the corpus too"
    soft("A royalty is owed.", "Is a feeing owed?", ["fee"])
    assert encode.asked[1:] == [["feeing"]], "a form the corpus never writes: one call for it alone"
    soft.prepare(background=False)
    assert len(encode.asked) == 2


def test_each_word_is_encoded_once():
    encode = Encoder()
    words = WordVectors(encode)
    first = words(["fee", "royalty", "fee"])
    assert first.shape == (3, 3) and np.array_equal(first[0], first[2])
    words(["royalty", "charge"])
    assert encode.asked == [["fee", "royalty"], ["charge"]]


def test_soft_coverage_lowers_the_chance_of_a_passage_in_other_words(tmp_path):
    abstainer = Abstainer(["text"], Settings(root=tmp_path), document_names=set())
    lacking = Signals(evidence=0.55, coverage=0.2, query="Do I owe a fee?", document_coverage=0.5)
    other_words = abstainer.decide(dataclasses.replace(lacking, soft_coverage=0.9))
    assert other_words.chance < abstainer.decide(lacking).chance
    assert (
        "90% counting words close in meaning"
        in abstainer.decide(
            dataclasses.replace(lacking, soft_coverage=0.9, agreement=0.0, evidence=0.4, own_evidence=0.4)
        ).reason
    )


def test_six_weights_leave_soft_coverage_out(tmp_path):
    six = Settings(root=tmp_path, abstain_weights=(-1.0, -2.0, -3.0, 0.5, -2.0, -1.5), abstain_bias=5.0)
    signals = Signals(evidence=0.6, coverage=0.2, query="q")
    assert unanswerable_chance(signals, six) == unanswerable_chance(
        dataclasses.replace(signals, soft_coverage=1.0), six
    )
    with pytest.raises(ConfigError, match="seven"):
        Settings(root=tmp_path, abstain_weights=(1.0,) * 9)  # eight weigh token alignment too


def test_the_retriever_measures_soft_coverage_on_its_top_passage(project, fake_embedder):
    (project.seeds_dir / "licence.md").write_text(
        "# Licence\n\nYou may copy the work. A royalty is owed for each copy sold.\n", encoding="utf-8"
    )
    retriever = Retriever(ensure_index(project, fake_embedder).index, fake_embedder, project)
    question = "Is a fee owed for each copy sold?"
    [(answer, signals)] = retriever.explain_many([question])
    known = retriever.abstainer.known_terms(retriever.fusion.query_terms(question))
    expected = retriever.soft_coverage(answer.passages[0].text, question, known)
    assert signals.soft_coverage == pytest.approx(expected)
    assert signals.coverage <= signals.soft_coverage <= 1.0
    lexical = dataclasses.replace(project, mode="lexical")
    [(_, plain)] = Retriever(retriever.index, fake_embedder, lexical).explain_many([question])
    assert plain.soft_coverage is None, "no model is asked in lexical mode"
