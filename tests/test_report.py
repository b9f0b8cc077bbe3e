"""The HTML report is one self-contained, escaped file."""

import re

import pytest

from qa.errors import QAError
from qa.eval import outcome
from qa.eval.report import render_report, write_report

PASSAGE = {
    "text": "debt bondage <img src=x> see https://example.org/x.png",
    "source": "seeds/s.txt",
    "title": "T",
    "start": 10,
    "end": 64,
    "score": 0.8,
    "words": {"start": 2, "end": 8, "total": 9},
    "highlight": {"start": 10, "end": 22},
}
ROWS = [
    {
        "id": "a",
        "question": "What is <b>debt</b> bondage?",
        "kind": "lexical",
        "fields": {"module": "<i>2</i>"},
        "expected": ["debt bondage"],
        "rank": 1,
        "abstained": False,
        "evidence": 0.7,
        "passages": [PASSAGE],
    },
    {
        "id": "b",
        "question": "q",
        "kind": "lexical",
        "expected": ["x"],
        "rank": 3,
        "abstained": False,
        "evidence": 0.5,
        "passages": [{**PASSAGE, "score": 0.6}] * 3,
    },
    {
        "id": "c",
        "question": "c",
        "kind": "multi",
        "expected": ["y"],
        "rank": None,
        "abstained": False,
        "evidence": 0.4,
        "passages": [{**PASSAGE, "score": 0.5}],
    },
    {
        "id": "u",
        "question": "u",
        "kind": "unanswerable",
        "expected": "unanswerable",
        "abstained": True,
        "evidence": 0.2,
        "passages": [],
    },
    {"id": "n", "question": "no expectation", "abstained": False, "passages": []},
]
META = {"model": "m", "settings": {"abstain_threshold": 0.35}, "timing": {"questions_per_s": 150.0}}


def test_outcomes():
    assert [outcome(r, 5) for r in ROWS] == ["correct", "correct", "wrong", "abstained_ok", "unscored"]
    assert outcome(ROWS[1], 2) == "wrong"
    assert outcome({**ROWS[0], "abstained": True}, 5) == "false_abstain"
    assert outcome({**ROWS[3], "abstained": False}, 5) == "answered_unanswerable"


def test_report_is_self_contained_and_escaped():
    page = render_report(ROWS, {"hit@1": 0.5, "hit@5": 0.667}, k=5, meta=META)
    assert page.startswith("<!doctype html>")
    # nothing is fetched: no scripts, no external styles, images, frames or fonts
    assert not re.search(r"<script|<link|<img|<iframe|<object|<embed|@import|url\(", page)
    assert not re.search(r"(src|href|xlink:href)\s*=\s*['\"]?\s*(https?:|//)", page)
    assert re.findall(r"href='([^']*)'", page) == ["#q-c"]  # only in-page links
    assert "&lt;b&gt;debt&lt;/b&gt;" in page and "&lt;img src=x&gt;" in page
    assert "&lt;i&gt;2&lt;/i&gt;" in page and "<i>2" not in page
    assert "<mark>debt bondage</mark>" in page


def test_report_shows_outcomes_charts_and_what_to_look_at():
    page = render_report(ROWS, {"hit@1": 0.5}, k=5, meta=META)
    assert "correct @1" in page and "correct @3" in page and "abstained (right)" in page
    assert page.count("<svg") == 4  # ranks, outcomes, top score, evidence with the threshold
    assert "threshold" in page and "150.0 questions/s" in page
    assert "To look at (1)" in page and "<a href='#q-c'>c</a>" in page
    assert "By kind of question" in page and "<td>multi</td>" in page
    assert "2 more (first correct: [3])" in page and "first correct</span>" in page
    assert "Run settings" in page and "abstain_threshold" in page


def test_a_report_without_expectations_says_nothing_was_scored():
    page = render_report(ROWS[-1:], None, k=5)
    assert "nothing was scored" in page and "To look at" not in page


def test_write_report_errors_are_one_line(tmp_path):
    write_report(tmp_path / "r.html", ROWS, None, k=5)
    assert (tmp_path / "r.html").read_text(encoding="utf-8").startswith("<!doctype html>")
    with pytest.raises(QAError, match="cannot write the report"):
        write_report(tmp_path / "missing" / "r.html", ROWS, None, k=5)
