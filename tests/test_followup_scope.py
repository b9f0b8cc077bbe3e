"""A follow-up ranked by what it asks within its topic's candidates (fast, fake embedder)."""

import numpy as np
import pytest

from qa.index.build import ensure_index
from qa.retrieval import scope as scope_module
from qa.retrieval.retriever import Retriever
from qa.retrieval.scope import Scope

TOPIC = "How does a task in the console pool get the terminal?"


def _section(title: str, sentences: list[str], n: int = 14) -> str:
    return f"## {title}\n\n" + " ".join(sentences[i % len(sentences)] for i in range(n)) + "\n\n"


CONSOLE = [
    "The console pool is a predefined pool of depth one.",
    "A task in the console pool gets direct access to the terminal.",
    "Only one task of the console pool runs at a time.",
    "The console pool needs no declaration in the build file.",
    "The console pool suits long interactive tasks such as test suites.",
]
DECLARING = [
    "A pool is declared with a depth in the build file.",
    "Every rule or build statement that names the pool shares the pool.",
    "The pool depth caps the jobs of the pool that run together.",
    "A pool of depth four runs four jobs of the pool at most.",
    "The pool queues the other jobs of the pool until a slot of the pool is free.",
]
BUFFERING = [
    "While such a task runs, the regular output of everything else is buffered.",
    "The buffered output is printed only after the task finishes.",
    "Nothing else interleaves with what the task writes meanwhile.",
    "Output from the other jobs is collected in memory during that time.",
    "It is flushed in the order the jobs finished once the terminal is free.",
]
POOLS = (
    "# Pools\n\n"
    + _section("The console pool", CONSOLE)
    + _section("Declaring pools", DECLARING)
    + _section("Buffering", BUFFERING)
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


def test_the_scope_looks_where_the_topic_found(retriever, unscoped):
    """The topic chooses where to look, the question what to pick and where its passages end:
    every passage shown holds a window found with the topic; in the document the topic leads to
    the passages are grown again on the question's ranking, elsewhere they are the passages grown
    with the topic."""
    answer = retriever.ask("and the output?", history=[TOPIC], k=8)
    query_terms = retriever.fusion.query_terms(answer.query)
    found = retriever.fusion.candidates(retriever.embedder.encode([answer.query])[0], query_terms)
    windows = retriever.index.windows
    sources = [document.source for document in retriever.index.documents]
    for passage in answer.passages:
        ids = found.ids[windows.doc[found.ids] == sources.index(passage.source)]
        starts, ends = windows.word_start[ids], windows.word_end[ids]
        assert ((starts < passage.citation.word_end) & (ends > passage.citation.word_start)).any()
    unscoped()
    before = retriever.ask("and the output?", history=[TOPIC], k=8)
    lead = before.passages[0].source
    assert lead.endswith("pools.md")
    elsewhere = {p.text for p in answer.passages if p.source != lead}
    assert elsewhere and elsewhere <= {p.text for p in before.passages}


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


def test_the_scope_splits_the_query_into_the_questions_terms_and_the_topics():
    with_topic = np.array([1.0, 0.0, 0.0], np.float32)
    own = np.array([0.0, 1.0, 0.0], np.float32)
    scope = Scope.of(with_topic, own, ["consol", "pool", "output", "pool"], ["output"])
    assert scope is not None
    assert scope.own_terms == ("output",)
    assert scope.topic_terms == ("consol", "pool", "pool")
    assert np.linalg.norm(scope.vector) == pytest.approx(1.0)
    share = scope_module.OWN_SHARE
    assert scope.vector[1] / scope.vector[0] == pytest.approx(share / (1 - share))


def test_a_question_with_no_terms_of_its_own_keeps_its_topics_ranking():
    """ "and why?" has nothing of its own to rank by: its topic is all it has."""
    vector = np.array([1.0, 0.0], np.float32)
    assert Scope.of(vector, vector, ["consol", "pool"], []) is None


def test_the_topics_terms_still_count(retriever):
    """The BM25 side mixes the question's own terms and the topic's, each scaled to its best
    candidate: a window holding both outranks one holding only the question's words."""
    scope = Scope.of(
        np.ones(64, np.float32), np.ones(64, np.float32), ["consol", "pool", "output"], ["output"]
    )
    candidates = retriever.fusion.candidates(None, ["consol", "pool", "output"])
    ranked = scope.rank(retriever.fusion, candidates)
    assert ranked.lexical.max() <= 1.0 + 1e-6
    own = retriever.fusion.lexical.scores_for(["output"], candidates.ids) > 0
    topic = retriever.fusion.lexical.scores_for(["consol", "pool"], candidates.ids) > 0
    assert (own & topic).any() and (own & ~topic).any()
    assert ranked.lexical[own & topic].max() > ranked.lexical[own & ~topic].max()


def test_a_follow_ups_highlight_marks_its_own_words(retriever):
    """The sentence marked in a follow-up's passage is the one holding what it asks about."""
    passage = retriever.ask("and the output?", history=[TOPIC]).passages[0]
    offset = passage.citation.start
    marked = passage.text[passage.highlight.start - offset : passage.highlight.end - offset]
    assert "output" in marked.lower()


WHY_NOT = ["And why not? Why not?", "A task in a pool: why not?", "And why not the console pool?"]


@pytest.fixture
def asked_why(project, fake_embedder):
    """The pools document with a section of questions that repeat "why not"."""
    questions = _section("Questions people ask", WHY_NOT)
    (project.seeds_dir / "pools.md").write_text(POOLS + questions, encoding="utf-8")
    (project.seeds_dir / "rules.md").write_text(RULES, encoding="utf-8")
    return Retriever(ensure_index(project, fake_embedder).index, fake_embedder, project)


def test_a_follow_up_with_no_words_of_its_own_asks_about_the_previous_answer(asked_why, monkeypatch):
    """ "And why not?" has no terms of its own: what it asks about is the passage its topic found
    first, which comes first again, not the passages its two words pull elsewhere."""
    previous = asked_why.ask(TOPIC).passages[0]
    answer = asked_why.ask("And why not?", history=[TOPIC])
    assert answer.query == f"{TOPIC} And why not?"
    assert answer.passages[0].text == previous.text
    monkeypatch.setattr(scope_module, "PREVIOUS_ANSWER_BONUS", 0.0)
    before = asked_why.ask("And why not?", history=[TOPIC])
    assert before.passages[0].citation.section == "Pools › Questions people ask"


def test_the_previous_answer_leaves_the_verdict_alone(asked_why, monkeypatch):
    """The prior changes the order shown, not the verdict nor the figures it was read on."""
    now = asked_why.explain_many(["And why not?"], histories=[[TOPIC]])[0]
    monkeypatch.setattr(scope_module, "PREVIOUS_ANSWER_BONUS", 0.0)
    before = asked_why.explain_many(["And why not?"], histories=[[TOPIC]])[0]
    assert now[0].abstained == before[0].abstained
    assert now[1] == before[1]


def test_a_follow_up_with_words_of_its_own_is_not_sent_to_the_previous_answer(retriever, monkeypatch):
    """Only a question with nothing of its own is ranked by the previous answer: "and the
    output?" is ranked by what it asks, with or without the prior."""
    now = retriever.ask("and the output?", history=[TOPIC])
    monkeypatch.setattr(scope_module, "PREVIOUS_ANSWER_BONUS", 0.0)
    before = retriever.ask("and the output?", history=[TOPIC])
    assert [p.text for p in now.passages] == [p.text for p in before.passages]
