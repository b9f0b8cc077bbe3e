"""``qa eval`` exits with its own status, whatever the size of the question file: a short run
ended while the corpus's word vectors were still being embedded on a background thread, and the
process aborted at exit (status 134, "terminate called without an active exception"), which a CI
regression gate reads as a failure."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow


def test_a_short_eval_exits_0_without_an_abort(seed_settings, tmp_path):
    questions = tmp_path / "questions.jsonl"
    rows = [
        {"id": "q1", "question": "What is debt bondage?", "answer_phrases": ["debt bondage"]},
        {"id": "q2", "question": "What is the capital of Peru?", "answer_phrases": []},
    ]
    questions.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    env = {**os.environ, "QA_INDEX_DIR": str(seed_settings.index_dir)}
    command = [sys.executable, "-m", "qa.cli", "eval", str(questions), "--root", str(seed_settings.root)]
    for _ in range(2):
        done = subprocess.run(
            [*command, "--quiet"],
            capture_output=True,
            text=True,
            timeout=300,
            env=env,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        assert "terminate called" not in done.stderr and "hit@5" in done.stdout
