"""A rate over no questions is shown as "–", not 0.0: a question set without unanswerable
questions (most authors' first sets) does not read as the bot failing every one of them."""

from __future__ import annotations

from qa.eval.metrics import NOT_APPLICABLE, Metrics, format_metrics, shown_value
from qa.eval.report import _cards


def _metrics(answerable: int, unanswerable: int) -> Metrics:
    return Metrics(answerable, 0.5, 0.75, 1.0, 0.7, unanswerable, 0.0, 0.0, 90.0, 0, 5)


def test_no_unanswerable_questions_shows_abstain_ok_as_not_applicable():
    table = format_metrics(_metrics(4, 0))
    line = next(x for x in table.splitlines() if x.strip().startswith("abstain_ok"))
    assert NOT_APPLICABLE in line and "0.0" not in line
    assert "0.5" in next(x for x in table.splitlines() if x.strip().startswith("hit@1"))
    assert dict((name, value) for value, name, _ in _cards(_metrics(4, 0).as_dict()))["abstain_ok"] == "–"


def test_no_answerable_questions_shows_the_hit_rates_as_not_applicable():
    values = _metrics(0, 3).as_dict()
    shown = {key: shown_value(values, key) for key in values}
    assert shown["hit@1"] == shown["mrr@5"] == shown["false_abstain"] == NOT_APPLICABLE
    assert shown["abstain_ok"] == "0.0" and shown["answerable"] == "0"


def test_rates_over_some_questions_are_numbers():
    values = _metrics(4, 2).as_dict()
    assert [shown_value(values, k) for k in ("hit@1", "abstain_ok", "avg_words")] == ["0.5", "0.0", "90.0"]
