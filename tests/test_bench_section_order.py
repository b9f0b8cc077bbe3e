"""benchmarks/section_order.py reorders only the first K passages, leaves passages without a
heading path in place, and reads abstention where it is told to."""

import pytest
from conftest import load_benchmark


@pytest.fixture
def bench(monkeypatch):
    return load_benchmark(monkeypatch, "section_order")


def _row(text, score, evidence, abstains=False):
    return {"text": text, "score": score, "with_text": evidence, "abstains": abstains}


def _question(rows, phrase="answer here"):
    item = {"answer_phrases": [phrase], "kind": "factual"}
    return {"item": item, "rows": rows, "spread": 0.2}


def test_only_the_first_k_move_and_passages_without_a_path_keep_their_places(bench):
    rows = [
        _row("plain", 1.3, None),
        _row("first", 1.2, 0.1),
        _row("second", 1.1, 0.9),
        _row("fourth", 1.0, 0.2),
        _row("below", 0.9, 1.0),
    ]
    order = [r["text"] for r in bench.reorder(_question(rows), "with_text", "minmax", 4, 0.5)]
    assert order == ["plain", "second", "first", "fourth", "below"]
    order = [r["text"] for r in bench.reorder(_question(rows), "with_text", "minmax", 3, 5.0)]
    assert order[3:] == ["fourth", "below"]


def test_rescaled_evidence_is_on_the_passage_score_scale(bench):
    assert bench.rescaled([0.2, 0.6, None], 0.2, "minmax") == pytest.approx([0.0, 0.6, 0.0])
    assert bench.rescaled([0.2, 0.6], 0.2, "spread") == pytest.approx([-1.2, 0.0])


def test_abstention_is_read_on_todays_first_passage_or_on_the_first_shown(bench):
    rows = [_row("other", 1.2, 0.1, abstains=False), _row("answer here", 1.1, 0.9, abstains=True)]
    question = _question(rows)
    today = bench.metrics([question], "with_text", "minmax", 3, 0.5, "today")
    shown = bench.metrics([question], "with_text", "minmax", 3, 0.5, "shown")
    assert today["hit1"] == shown["hit1"] == 1.0
    assert (today["false_abstain"], shown["false_abstain"]) == (0.0, 1.0)
