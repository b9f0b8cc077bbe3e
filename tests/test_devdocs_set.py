"""The project's own dev set over benchmarks/devdocs/docs is well formed: ten answerable questions
per document, each phrase verbatim and once in its document's indexed text (and in no other), and
unanswerable questions without phrases or a document."""

import json
from collections import Counter
from pathlib import Path

from conftest import load_benchmark

REPO = Path(__file__).resolve().parents[1]
DEVDOCS = REPO / "benchmarks" / "devdocs"


def test_the_set_has_ten_answerable_questions_per_document_and_twelve_unanswerable():
    items = [json.loads(line) for line in (DEVDOCS / "devdocs.jsonl").read_text().splitlines() if line]
    assert [i["id"] for i in items] == [f"devdocs-{n:03d}" for n in range(1, 53)]
    assert Counter(i["kind"] for i in items) == {"factual": 40, "unanswerable": 12}
    documents = sorted(p.name for p in (DEVDOCS / "docs").iterdir())
    assert Counter(i["doc"] for i in items if i["doc"]) == {name: 10 for name in documents}
    for item in items:
        assert 1 <= len(item["answer_phrases"]) <= 2 or item["kind"] == "unanswerable", item["id"]


def test_every_phrase_occurs_once_in_its_document_and_nowhere_else(monkeypatch, capsys):
    check = load_benchmark(monkeypatch, "heldout/check")
    assert check.main([str(DEVDOCS / "devdocs.jsonl"), str(DEVDOCS / "docs")]) == 0
    assert "52 items" in capsys.readouterr().out
