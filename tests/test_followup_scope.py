"""A follow-up ranked by what it asks within its topic's candidates (fast, fake embedder)."""

import numpy as np
import pytest

from qa.index.build import ensure_index
from qa.retrieval import scope as scope_module
from qa.retrieval.retriever import Retriever
from qa.retrieval.scope import Scope

TOPIC = "What is the console pool?"


def _section(title: str, sentences: list[str], n: int = 14) -> str:
    return f"## {title}\n\n" + " ".join(sentences[i % len(sentences)] for i in range(n)) + "\n\n"


POOLS = (
    "# Pools\n\n"
    + _section(
        "Declaring pools",
        [
            "A pool is declared with a depth in the build file.",
            "Every rule or build statement that names the pool shares the pool.",
            "The pool depth caps the jobs of the pool that run together.",
            "A pool of depth four runs four jobs of the pool at most.",
            "The pool queues the other jobs of the pool until a slot of the pool is free.",
        ],
    )
    + _section(
        "The console pool",
        [
            "The console pool is a predefined pool of depth one.",
            "A task in the console pool gets direct access to the terminal.",
            "Only one task of the console pool runs at a time.",
            "The console pool needs no declaration in the build file.",
            "The console pool suits long interactive tasks such as test suites.",
        ],
    )
    + _section(
        "Buffering",
        [
            "While such a task runs, the regular output of everything else is buffered.",
            "The buffered output is printed only after the task finishes.",
            "Nothing else interleaves with what the task writes meanwhile.",
            "Output from the other jobs is collected in memory during that time.",
            "It is flushed in the order the jobs finished once the terminal is free.",
        ],
    )
)
RULES = (
    "# Rules\n\nA rule names a command to run. Variables expand inside the command, and a rule may "
    "declare a description that is shown instead of the command line while the build runs. Rules "
    "are written once and used by many build statements.\n"
)


@pytest.fixture
def retriever(project, fake_embedder):
    (project.seeds_dir / "pools.md").write_text(POOLS, encoding="utf-8")
    (project.seeds_dir / "rules.md").write_text(RULES, encoding="utf-8")
    return Retriever(ensure_index(project, fake_embedder).index, fake_embedder, project)


@pytest.fixture
def unscoped(monkeypatch):
    """Follow-ups ranked as before: on the question with its topic."""

    def off() -> None:
        monkeypatch.setattr(Scope, "of", classmethod(lambda cls, *args: None))

    return off


def test_a_follow_up_is_ranked_by_its_own_words_within_its_topic(retriever, unscoped):
    """Searched with its topic, "and the output?" lands in the pools document; ranked on the topic's
    words too, the console pool's own section comes first. Ranked on what it asks, the section on
    the output does."""
    answer = retriever.ask("and the output?", history=[TOPIC])
    assert answer.query == f"{TOPIC} and the output?"
    assert answer.passages[0].citation.section == "Pools › Buffering"
    assert "output" in answer.passages[0].text
    unscoped()
    before = retriever.ask("and the output?", history=[TOPIC])
    assert before.passages[0].citation.section == "Pools › The console pool"


def test_abstention_is_decided_on_the_topics_ranking(retriever, unscoped):
    """The scope changes the passages shown, not the verdict nor the figures it was read on."""
    asked = [("and the output?", [TOPIC]), ("is anything printed while it runs?", [TOPIC])]
    now = [retriever.explain_many([q], histories=[h])[0] for q, h in asked]
    unscoped()
    before = [retriever.explain_many([q], histories=[h])[0] for q, h in asked]
    for (answer, signals), (answer_before, signals_before) in zip(now, before):
        assert answer.abstained == answer_before.abstained
        assert answer.evidence == answer_before.evidence
        assert signals == signals_before


def test_a_topic_switch_is_still_searched_alone(retriever):
    """A question that stands on its own is searched and ranked as if asked first."""
    question = "What is shown instead of the command line?"
    switched = retriever.ask(question, history=[TOPIC])
    alone = retriever.ask(question)
    assert switched.query == question
    assert [p.text for p in switched.passages] == [p.text for p in alone.passages]
    assert [p.score for p in switched.passages] == [p.score for p in alone.passages]


def test_a_question_without_history_is_not_scoped(retriever, monkeypatch):
    calls = []
    monkeypatch.setattr(Scope, "rank", lambda self, *args: calls.append(1))
    retriever.ask("What is the console pool?")
    retriever.ask("What is the console pool?", history=[])
    assert calls == []


def test_the_scope_weighs_only_the_questions_own_terms():
    with_topic = np.array([1.0, 0.0, 0.0], np.float32)
    own = np.array([0.0, 1.0, 0.0], np.float32)
    query_terms = ["consol", "pool", "output", "pool"]
    scope = Scope.of(with_topic, own, query_terms, ["output"])
    assert scope is not None
    assert scope.weights == {"consol": 0.0, "pool": 0.0, "output": 1.0}
    assert np.linalg.norm(scope.vector) == pytest.approx(1.0)
    share = scope_module.OWN_SHARE
    assert scope.vector[1] / scope.vector[0] == pytest.approx(share / (1 - share))


def test_a_question_with_no_terms_of_its_own_keeps_its_topics_ranking():
    """ "and why?" has nothing of its own to rank by: its topic is all it has."""
    vector = np.array([1.0, 0.0], np.float32)
    assert Scope.of(vector, vector, ["consol", "pool"], []) is None


def test_weighted_bm25_with_unit_weights_is_bm25(retriever):
    fusion = retriever.fusion
    ids = np.arange(len(retriever.index))
    terms = ["pool", "output"]
    assert np.allclose(
        fusion.weighted_lexical({t: 1.0 for t in terms}, ids), fusion.lexical.scores_for(terms, ids)
    )
    assert not fusion.weighted_lexical({"pool": 0.0}, ids).any()
