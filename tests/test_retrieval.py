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


def test_approximate_index_gives_the_same_answers(retriever):
    """An approximate store (HNSW, 8-bit) gives the same answers: its candidates are rescored exactly."""
    from qa.index.model import Index
    from qa.retrieval.retriever import Retriever
    from qa.store.faiss import make_faiss

    idx = retriever.index
    approx = Index(
        manifest=idx.manifest,
        documents=idx.documents,
        table=idx.table,
        vectors=idx.vectors,
        faiss_index=make_faiss(np.ascontiguousarray(idx.vectors), "HNSW32,SQ8"),
    )
    other = Retriever(approx, retriever.embedder, retriever.settings)
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


@pytest.mark.parametrize(
    ("earlier", "question"),
    [
        ("What is debt bondage?", "Why are people trafficked for their organs?"),
        ("What are fraud factories?", "Which EU law deals with the sexual exploitation of children?"),
        ("Who founded the Polaris Project?", "What is the Blue Heart Campaign?"),
        ("How do traffickers use social media?", "What is debt bondage?"),
        # the topic draws the search to the Super Bowl text, which the question alone hardly matches
        (
            "How did online sex ads in Dallas change around the Super Bowl?",
            "What did Amnesty say about the UK's new measures?",
        ),
    ],
)
def test_a_question_that_stands_alone_is_searched_alone(retriever, earlier, question):
    """A topic switch, even with a pronoun ("their organs"), is not glued to the earlier question."""
    answer = retriever.ask(question, history=[earlier])
    assert answer.query == question
    alone = retriever.ask(question)
    assert [(p.start, p.end) for p in answer.passages] == [(p.start, p.end) for p in alone.passages]


@pytest.mark.parametrize(
    ("earlier", "question", "expected"),
    [
        ("What is debt bondage?", "Is the work they put in usually worth more than what they owed?", "debt"),
        (
            "According to the ILO, how much profit does forced labour generate every year?",
            "How does that break down by sector?",
            "sector",
        ),
        (
            "Has the European Court of Human Rights ruled on trafficking?",
            "Which judgments were those?",
            "court",
        ),
        ("Which organ is most often sought in the organ trade?", "What role do brokers play in it?", "organ"),
    ],
)
def test_a_question_that_leans_on_the_conversation_is_searched_with_its_topic(
    retriever, earlier, question, expected
):
    answer = retriever.ask(question, history=[earlier])
    assert answer.query == f"{earlier} {question}"
    assert expected in " ".join(p.text for p in answer.passages[:3])


def test_abstains_on_a_corpus_other_than_the_seed(tmp_path):
    """Off-topic questions abstain on ordinary punctuated documents too, on-topic ones do not."""
    from qa.config import Settings
    from qa.embedders.base import SentenceTransformerEmbedder
    from qa.index.build import ensure_index
    from qa.retrieval.retriever import Retriever

    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "bread.md").write_text(
        "# Baking bread\n\n## Dough\n\nMix flour, water, salt and yeast, then knead the dough for ten "
        "minutes until it is smooth and elastic.\n\n## Rising\n\nLeave the dough covered in a warm place "
        "for about an hour, until it has doubled in size.\n\n## Baking\n\nBake the loaf at 220 degrees "
        "for thirty minutes; it is done when the bottom sounds hollow when tapped.\n",
        encoding="utf-8",
    )
    (seeds / "tea.md").write_text(
        "# Brewing tea\n\nGreen tea is brewed with water below boiling, about 80 degrees, for two "
        "minutes. Black tea takes boiling water and four to five minutes.\n",
        encoding="utf-8",
    )
    settings = Settings(root=tmp_path)
    embedder = SentenceTransformerEmbedder(settings.model)
    retriever = Retriever(ensure_index(settings, embedder).index, embedder, settings)
    assert not retriever.ask("How long should the dough rise?").abstained
    assert not retriever.ask("How hot should the water be for green tea?").abstained
    for question in ["Who won the football world cup in 1998?", "What is the capital of Australia?"]:
        assert retriever.ask(question).abstained, question


TRIGGERS = next(
    (
        d / "shared" / "eval" / "docs-md" / "dpkg-triggers.txt"
        for d in Path(__file__).resolve().parents
        if (d / "shared" / "eval" / "docs-md").is_dir()
    ),
    None,
)


@pytest.mark.skipif(TRIGGERS is None, reason="shared/eval/docs-md/ is not next to the repository")
def test_a_documents_name_does_not_pull_its_own_overviews_up(index_builds, real_embedder):
    """In the dpkg triggers spec "dpkg" and "triggers" are in nearly every section: they no longer
    lift the windows that say them most (the transition plan, error handling) above the answer."""
    from qa.retrieval.retriever import Retriever

    built = index_builds.build([TRIGGERS])  # alone, the spec's vectors from the manuals' build
    retriever = Retriever(built.index, real_embedder, built.settings)
    states = retriever.ask("Which new package states did triggers add to dpkg?", k=5)
    assert "There are two new dpkg status values" in states.passages[0].text
    problem = retriever.ask("What problem are dpkg triggers meant to solve?", k=5)
    assert any("caused by one package" in p.text for p in problem.passages[:2])
