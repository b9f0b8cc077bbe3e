"""The dev conversations over the four documents of benchmarks/devdocs are well formed: every
phrase is verbatim and unique in its document's text as the index holds it (and in no other),
so a hit means the passage holds that answer."""

import json
from collections import Counter
from pathlib import Path

from conftest import load_benchmark

from qa.ingest.sources import scan_sources

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "benchmarks" / "devdocs" / "docs"
SET = REPO / "benchmarks" / "devdocs" / "conversations-devdocs.jsonl"


def _items() -> list[dict]:
    return [json.loads(line) for line in SET.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_the_set_has_followups_topic_switches_and_unanswerables_with_histories():
    items = _items()
    assert [i["id"] for i in items] == [f"conv-devdocs-{n:03d}" for n in range(1, 33)]
    assert Counter(i["kind"] for i in items) == {"followup": 12, "factual": 12, "unanswerable": 8}
    names = {path.name for path in DOCS.iterdir()}
    for item in items:
        assert 1 <= len(item["history"]) <= 3, item["id"]
        assert (item["doc"] is None) == (item["kind"] == "unanswerable") == (not item["answer_phrases"])
        assert item["doc"] is None or item["doc"] in names, item["id"]
        if item["kind"] == "followup":
            assert item["standalone"], item["id"]


def test_every_phrase_is_verbatim_and_unique_in_its_document_only(monkeypatch):
    _norm = load_benchmark(monkeypatch, "retrieval").norm  # as score.py compares
    documents, errors = scan_sources(DOCS, DOCS)
    assert not errors
    texts = {d.source: d.text for d in documents}
    for item in _items():
        for phrase in item["answer_phrases"]:
            assert 4 <= len(phrase.split()) <= 12, (item["id"], phrase)
            own = texts[item["doc"]]
            assert " ".join(own.split()).count(phrase) == 1, (item["id"], phrase)
            assert sum(_norm(t).count(_norm(phrase)) for t in texts.values()) == 1, (item["id"], phrase)
