import itertools
from pathlib import Path

import numpy as np
import pytest

from qa.errors import QuestionError
from qa.retrieval.retriever import resolve_followup
from tests.conftest import SEED

pytestmark = pytest.mark.slow


def test_answer_passages_are_exact_cited_slices(retriever):
    answer = retriever.ask("What is debt bondage?", k=5)
    text = SEED.read_text(encoding="utf-8")
    assert len(answer.passages) == 5 and not answer.abstained
    assert "debt bondage" in answer.passages[0].text
    for p in answer.passages:
        c = p.citation
        assert text[c.start : c.end] == p.text
        assert c.source == "seeds/000_64fa240758fee0c1.txt" and c.title == "Human trafficking"
        assert len(p.text.split()) <= 120 and c.word_end - c.word_start == len(p.text.split())
        assert c.start <= p.highlight.start < p.highlight.end <= c.end
        assert 5 <= len(p.highlight_text.split()) <= 30


def test_passages_are_different_places(retriever):
    answer = retriever.ask("What are the consequences for trafficking victims?", k=8)
    spans = sorted((p.citation.word_start, p.citation.word_end) for p in answer.passages)
    for (s1, _), (s2, _) in itertools.pairwise(spans):
        assert s2 - s1 >= 50, "passages overlap too much"
    scores = [p.score for p in answer.passages]
    assert scores == sorted(scores, reverse=True)


def test_off_topic_question_abstains_but_keeps_closest_passages(retriever):
    answer = retriever.ask("What is the boiling point of water at sea level?")
    assert answer.abstained and answer.passages


def test_follow_up_uses_the_previous_question(retriever):
    first = "Which organ is most often sought in the organ trade?"
    assert resolve_followup("and which country reformed its donation system?", [first]).startswith(first)
    assert resolve_followup("What is debt bondage?", [first]) == "What is debt bondage?"
    follow = retriever.ask("And how common is it?", history=["What is debt bondage?"])
    assert "debt bondage" in follow.query
    assert "debt bondage" in " ".join(p.text for p in follow.passages[:2])
    alone = retriever.ask("And how common is it?")
    assert alone.query == "And how common is it?"


def test_follow_up_chain_keeps_the_topic(retriever):
    history = ["What happened to domestic workers during the war in Lebanon?", "who helped them?"]
    answer = retriever.ask("what about the Philippines?", history=history)
    assert "Lebanon" in answer.query
    assert any("lebanon" in p.text for p in answer.passages[:3])


@pytest.mark.parametrize("question", ["", "   ", "\x00\x01", "?!"])
def test_unusable_questions_are_refused(retriever, question):
    with pytest.raises(QuestionError):
        retriever.ask(question)


def test_huge_question_is_refused_with_the_limit(retriever):
    with pytest.raises(QuestionError, match="limit is 2,000"):
        retriever.ask("trafficking " * 100_000)


@pytest.mark.parametrize("k", [0, -1, 51, "3", 2.5, True])
def test_bad_k_is_refused(retriever, k):
    with pytest.raises(QuestionError, match="k must be"):
        retriever.ask("What is debt bondage?", k=k)


def test_huge_history_is_harmless(retriever):
    answer = retriever.ask("and children?", history=["What is forced labour?"] * 10_000)
    assert answer.passages


def test_batch_answers_match_single_answers(retriever):
    questions = ["What is debt bondage?", "Who funded the Memex program?"]
    batch = retriever.ask_many(questions)
    single = [retriever.ask(q) for q in questions]
    for a, b in zip(batch, single):
        assert [p.citation for p in a.passages] == [p.citation for p in b.passages]


def test_approximate_index_gives_the_same_answers(retriever, monkeypatch):
    """Above FLAT_LIMIT the dense side goes through FAISS (HNSW, 8-bit) plus exact rescoring."""
    import qa.retrieval.retriever as retrieval
    from qa.index.core import Index, make_faiss

    idx = retriever.index
    approx = Index(
        manifest=idx.manifest,
        documents=idx.documents,
        table=idx.table,
        vectors=idx.vectors,
        faiss_index=make_faiss(np.ascontiguousarray(idx.vectors), "HNSW32,SQ8"),
    )
    monkeypatch.setattr(retrieval, "FLAT_LIMIT", 0)
    other = retrieval.Retriever(approx, retriever.embedder, retriever.settings)
    for question in ["What is debt bondage?", "How many people are trafficked each year?"]:
        a, b = retriever.ask(question), other.ask(question)
        assert [(p.start, p.end) for p in a.passages] == [(p.start, p.end) for p in b.passages]
        assert a.abstained == b.abstained


DEV = Path(__file__).resolve().parents[2] / "shared" / "eval" / "dev.jsonl"


@pytest.mark.skipif(not DEV.exists(), reason="the dev questions are not next to the repository")
def test_onnx_and_torch_backends_answer_the_dev_set_alike(retriever):
    """The ONNX query path must not change results: same passages, same scores on the dev set."""
    from qa.embedders.base import OnnxEmbedder, SentenceTransformerEmbedder
    from qa.eval import read_questions, run_rows, score
    from qa.retrieval.retriever import Retriever

    questions, _ = read_questions(DEV)
    runs = {}
    for name, embedder in [
        ("onnx", OnnxEmbedder(retriever.settings.model, retriever.settings.index_dir)),
        ("torch", SentenceTransformerEmbedder(retriever.settings.model)),
    ]:
        other = Retriever(retriever.index, embedder, retriever.settings)
        answers = other.ask_many([q.question for q in questions])
        runs[name] = run_rows(questions, answers, 5)
    spans = {
        name: [[(p["start"], p["end"]) for p in r["passages"]] for r in rows] for name, rows in runs.items()
    }
    assert spans["onnx"] == spans["torch"]
    metrics = {name: score(questions, {r["id"]: r for r in rows})[0] for name, rows in runs.items()}
    assert metrics["onnx"] == metrics["torch"]
    assert metrics["onnx"].hitk >= 0.95
