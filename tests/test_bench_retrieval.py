"""benchmarks/retrieval.py counts a hit as score.py does and lists what ranked above a miss."""

import pytest
from conftest import load_benchmark


@pytest.fixture
def bench(monkeypatch):
    return load_benchmark(monkeypatch, "retrieval")


def _passage(text, start=0, section=""):
    return {
        "text": text,
        "source": "guide.md",
        "score": 0.5,
        "citation": {"section": section, "words": {"start": start, "end": start + len(text.split())}},
    }


def test_first_hit_any_phrase_in_one_passage(bench):
    item = {"answer_phrases": ["Pools allow you", "finite number"], "kind": "factual"}
    texts = ["Build edges run in parallel.", "Pools, allow you to limit jobs.", "A finite number."]
    assert bench.first_hit(item, texts) == 1
    assert bench.first_hit(item, ["nothing here"]) is None


def test_first_hit_needs_all_counts_the_passages_above(bench):
    item = {"answer_phrases": ["kidneys", "iran"], "kind": "multi", "needs_all": True}
    assert bench.first_hit(item, ["kidneys are sought", "nothing", "iran reformed"]) == 2
    assert bench.first_hit(item, ["kidneys and iran"]) == 0


def test_an_over_long_passage_does_not_count(bench):
    item = {"answer_phrases": ["the answer"], "kind": "factual"}
    long_text = "the answer " + "word " * 130
    assert bench.first_hit(item, [long_text, "the answer"]) == 1


def test_misses_show_what_ranked_above_the_answer(bench):
    items = [
        {"id": "q1", "question": "How do pools work?", "answer_phrases": ["pools allow"], "kind": "factual"},
        {"id": "q2", "question": "What is a rule?", "answer_phrases": ["a rule declares"], "kind": "factual"},
        {"id": "q3", "question": "Who wrote it?", "answer_phrases": [], "kind": "unanswerable"},
    ]
    answers = [
        {
            "query": "How do pools work?",
            "passages": [
                _passage("No more than 4 links at a time.", 40, "Pools"),
                _passage("Pools allow you to restrict jobs.", 10, "Pools"),
            ],
        },
        {"query": "What is a rule?", "passages": [_passage("A rule declares a command.")]},
        {"query": "Who wrote it?", "passages": [_passage("Nobody.")]},
    ]
    found = bench.misses(items, answers)
    assert len(found) == 1
    lines = found[0].splitlines()
    assert lines[0] == "q1 (rank 2): How do pools work?"
    assert lines[1].startswith("  1. 0.500 guide.md words 40-48 [Pools]: No more than 4 links")
    assert lines[2].startswith(" *2. ")
    assert bench.hit1_by_kind(items, answers) == {"factual": 0.5}
