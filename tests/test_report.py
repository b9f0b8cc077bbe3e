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


def test_skipped_rows_are_listed_with_their_reasons_before_the_metrics():
    from qa.eval import SkippedRow

    skipped = [
        SkippedRow("q.csv", 4, "missing or empty 'question'"),
        SkippedRow("q.csv", 9, "bad <b>row</b>"),
    ]
    page = render_report(ROWS, {"hit@1": 0.5}, k=5, meta=META, skipped=skipped)
    assert "Skipped input rows (2)" in page and "2 input rows skipped" in page
    assert (
        "line 4: missing or empty &#39;question&#39;" in page and "line 9: bad &lt;b&gt;row&lt;/b&gt;" in page
    )
    assert page.index("Skipped input rows") < page.index("class='cards'") < page.index("Run settings")


def test_skipped_rows_come_from_the_run_metadata_old_and_new():
    new = {**META, "skipped_rows": [{"file": "q.jsonl", "line": 3, "reason": "not valid JSON (x)"}]}
    assert "line 3: not valid JSON (x)" in render_report(ROWS, None, k=5, meta=new)
    old = {**META, "skipped_rows": ["/tmp/a:b/q.jsonl:7: duplicate id 'a'"]}  # runs written before
    assert "line 7: duplicate id &#39;a&#39;" in render_report(ROWS, None, k=5, meta=old)
    assert "Skipped input rows" not in render_report(ROWS, None, k=5, meta=META)


def test_the_page_and_the_csv_cite_a_passage_in_the_same_words(tmp_path):
    import csv

    from qa.eval import write_results_csv

    big = {**PASSAGE, "words": {"start": 1140, "end": 1240, "total": 5345}}
    rows = [{**ROWS[0], "passages": [big]}]
    write_results_csv(tmp_path / "r.csv", rows, k=5)
    cited = next(csv.DictReader((tmp_path / "r.csv").open(encoding="utf-8-sig")))["citation"]
    assert cited == "T \u00b7 seeds/s.txt \u00b7 words 1,141\u20131,240 of 5,345 \u00b7 characters 10\u201364"
    assert cited in render_report(rows, None, k=5)


def test_chart_geometry():
    from qa.eval.charts import Series, columns, histogram

    chart = columns("ranks", [("1", 4), ("2", 0), ("none", 2)], "#000")
    assert [b.height for b in chart.bars] == [140, 0, 70] and all(
        b.x + b.width <= chart.width for b in chart.bars
    )
    assert histogram("empty", [Series("a", "#000", ())]) is None
    h = histogram("scores", [Series("a", "#000", (0.1, 0.12, 0.9))], marker=("threshold", 0.35))
    assert sum(1 for b in h.bars) == 2 and any(r.dashed for r in h.rules)
    assert any(t.text == "threshold" for t in h.labels)


def test_the_report_and_csv_label_a_citation_as_the_chat_does():
    """A section path opening with the document's title: the chat and the API said
    "Photosynthesis · Light reactions", the report and the CSV "Photosynthesis · Photosynthesis ›
    Light reactions" (a copy of the label function that had not learnt to drop it)."""
    from qa.eval.citations import citation_of, passage_citation
    from qa.render import citation_label

    passage = {
        "text": "x",
        "source": "seeds/bio/page.html",
        "start": 0,
        "end": 179,
        "citation": {
            "source": "seeds/bio/page.html",
            "title": "Photosynthesis",
            "section": "Photosynthesis \u203a Light reactions",
            "words": {"start": 0, "end": 25, "total": 25},
        },
    }
    cited = passage_citation(passage)
    assert cited.startswith(
        "Photosynthesis \u00b7 Light reactions \u00b7 seeds/bio/page.html \u00b7 words 1\u201325"
    )
    assert cited.startswith(citation_label(citation_of(passage)) + " \u00b7 ")


def test_passages_with_a_nested_citation_are_cited_alike():
    from qa.eval.citations import passage_citation

    nested = {
        "text": "x",
        "source": "docs/m.pdf",
        "start": 1200,
        "end": 1300,
        "citation": {
            "source": "docs/m.pdf",
            "title": "Manual",
            "page": 12,
            "section": "Intro",
            "words": {"start": 999, "end": 1010, "total": 20000, "label": "ignored"},
        },
    }
    assert passage_citation(nested) == (
        "Manual \u00b7 p. 12 \u00b7 Intro \u00b7 docs/m.pdf \u00b7 words 1,000\u20131,010 of 20,000 "
        "\u00b7 characters 1,200\u20131,300"
    )
    assert passage_citation({"source": "s.txt", "start": 1, "end": 2}) == "s.txt \u00b7 characters 1\u20132"
    assert passage_citation({}) == ""


def test_each_question_shows_the_evidence_and_whether_the_bot_declined():
    page = render_report(ROWS, None, k=5)
    assert "evidence 0.70" in page and "declined, evidence 0.20" in page
    assert "declined, evidence 0.70" not in page


def test_a_declined_question_says_why_in_the_authors_words():
    reason = "evidence 0.20; an answer needs 0.35"
    rows = [{**row, "reason": reason} if row["id"] == "u" else row for row in ROWS]
    page = render_report(rows, None, k=5)
    assert f"declined: {reason}" in page


def test_the_report_names_the_collection_its_questions_were_asked_of():
    page = render_report(ROWS, {"hit@1": 0.5}, k=5, meta={**META, "collection": "bio-101"})
    assert "collection: bio-101" in page
