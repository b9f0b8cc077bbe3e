"""Append-only JSON-lines files: bounded records, concurrent writers, torn lines skipped."""

import json
import threading

import pytest

from qa.errors import RecordFileError
from qa.records import MAX_RECORD_BYTES, append_json_line, read_json_lines


def test_a_record_per_line_read_back_in_order(tmp_path):
    path = tmp_path / "sub" / "log.jsonl"
    append_json_line(path, {"n": 1, "q": "é"}, what="question log")
    append_json_line(path, {"n": 2}, what="question log")
    assert list(read_json_lines(path)) == [{"n": 1, "q": "é"}, {"n": 2}]


def test_torn_and_non_object_lines_are_skipped(tmp_path):
    path = tmp_path / "log.jsonl"
    path.write_text('{"n": 1}\n5\n["x"]\nnot json\n{"n": 2}\n{"n": 3, "tor', encoding="utf-8")
    assert list(read_json_lines(path)) == [{"n": 1}, {"n": 2}]
    assert list(read_json_lines(tmp_path / "missing.jsonl")) == []


def test_records_and_files_are_capped_with_a_message_naming_the_file(tmp_path):
    path = tmp_path / "log.jsonl"
    with pytest.raises(RecordFileError, match="a question log record is at most"):
        append_json_line(path, {"q": "x" * MAX_RECORD_BYTES}, what="question log")
    append_json_line(path, {"q": "x" * 100}, what="question log", max_bytes=200)
    with pytest.raises(RecordFileError, match=r"the question log file is full \(0 MiB\); move it"):
        append_json_line(path, {"q": "x" * 100}, what="question log", max_bytes=200, when_full="; move it")
    assert len(list(read_json_lines(path))) == 1


def test_concurrent_writers_never_interleave(tmp_path):
    path = tmp_path / "log.jsonl"

    def write(i: int) -> None:
        for j in range(50):
            append_json_line(path, {"writer": i, "j": j, "pad": "y" * 3000}, what="test")

    threads = [threading.Thread(target=write, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 200 and all(json.loads(line)["pad"] == "y" * 3000 for line in lines)
