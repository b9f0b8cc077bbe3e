"""The held-out conversations over the manuals are well formed: every phrase is verbatim and
unique in its document (and in no other), so a hit means the passage holds that answer."""

import json
from collections import Counter
from pathlib import Path

import pytest
from conftest import load_benchmark

from tests.test_followup_manuals import DOCS

REPO = Path(__file__).resolve().parents[1]
SET = REPO / "benchmarks" / "heldout" / "conversations-manuals.jsonl"


def _items() -> list[dict]:
    return [json.loads(line) for line in SET.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_the_set_has_followups_topic_switches_and_unanswerables_with_histories():
    items = _items()
    assert len({i["id"] for i in items}) == len(items) == 30
    assert Counter(i["kind"] for i in items) == {"followup": 12, "factual": 12, "unanswerable": 6}
    for item in items:
        assert 1 <= len(item["history"]) <= 3, item["id"]
        assert (item["doc"] is None) == (item["kind"] == "unanswerable") == (not item["answer_phrases"])
        if item["kind"] == "followup":
            assert item["standalone"], item["id"]


@pytest.mark.skipif(DOCS is None, reason="shared/eval/docs-md is not next to the repository")
def test_every_phrase_is_verbatim_and_unique_in_its_document_only(monkeypatch):
    _norm = load_benchmark(monkeypatch, "retrieval").norm  # as score.py compares
    texts = {path.name: path.read_text(encoding="utf-8") for path in DOCS.iterdir()}
    for item in _items():
        for phrase in item["answer_phrases"]:
            own = texts[item["doc"]]
            assert " ".join(own.split()).count(phrase) == 1, (item["id"], phrase)
            assert sum(_norm(t).count(_norm(phrase)) for t in texts.values()) == 1, (item["id"], phrase)
