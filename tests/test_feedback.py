import json
import multiprocessing
from pathlib import Path

import pytest

from qa.feedback import FeedbackError, FeedbackRecord, append_feedback, read_feedback


def _writer(path: str, n: int, tag: str) -> None:
    for i in range(n):
        append_feedback(Path(path), FeedbackRecord("down", f"{tag}-{i} " + "x" * 5000))


def test_round_trip(tmp_path):
    path = tmp_path / "fb" / "feedback.jsonl"
    record = FeedbackRecord("up", "What is debt bondage?", passages=({"text": "t", "start": 1},))
    append_feedback(path, record)
    assert list(read_feedback(path)) == [record]


def test_concurrent_writers_lose_nothing(tmp_path):
    path = tmp_path / "feedback.jsonl"
    procs = [
        multiprocessing.get_context("spawn").Process(target=_writer, args=(str(path), 40, f"p{p}"))
        for p in range(4)
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 160
    questions = {json.loads(line)["question"].split()[0] for line in lines}
    assert len(questions) == 160


def test_torn_or_foreign_lines_are_skipped(tmp_path):
    path = tmp_path / "feedback.jsonl"
    append_feedback(path, FeedbackRecord("up", "q1"))
    with path.open("a") as f:
        f.write('{"rating": "meh", "question": "x"}\n[1, 2]\n{"rating": "do')
    assert [r.question for r in read_feedback(path)] == ["q1"]


@pytest.mark.parametrize("rating", ["", "UP", "maybe"])
def test_bad_rating_is_refused(rating):
    with pytest.raises(FeedbackError):
        FeedbackRecord(rating, "q")
