"""The HTML report is one self-contained, escaped file."""

import re

from qa.report import outcome, render_report

ROWS = [
    {
        "id": "a",
        "question": "What is <b>debt</b> bondage?",
        "expected": ["debt bondage"],
        "rank": 1,
        "abstained": False,
        "passages": [
            {
                "text": "debt bondage <img src=x>",
                "source": "seeds/s.txt",
                "title": "T",
                "start": 10,
                "end": 34,
                "score": 0.8,
                "words": {"start": 2, "end": 6, "total": 9},
                "highlight": {"start": 10, "end": 22},
            },
        ],
    },
    {"id": "b", "question": "q", "expected": ["x"], "rank": None, "abstained": False, "passages": []},
    {"id": "u", "question": "u", "expected": "unanswerable", "abstained": True, "passages": []},
    {"id": "n", "question": "no expectation", "abstained": False, "passages": []},
]


def test_outcomes():
    assert [outcome(r, 5) for r in ROWS] == ["correct", "wrong", "abstained_ok", "unscored"]


def test_report_is_self_contained_and_escaped():
    page = render_report(ROWS, {"hit@1": 0.5}, k=5, meta={"model": "m"})
    assert page.startswith("<!doctype html>")
    # nothing is fetched: no scripts, no external styles, images or fonts
    assert not re.search(r"<script|<link|<img|<iframe|@import|url\(", page)
    assert not re.search(r"(src|href)\s*=\s*['\"]?(https?:)?//", page)
    assert "http" not in page
    assert "&lt;b&gt;debt&lt;/b&gt;" in page and "&lt;img src=x&gt;" in page
    assert "<mark>debt bondage</mark>" in page and "<svg" in page
    assert "correct @1" in page and "abstained (right)" in page
