import json

import pytest

from qa.cli import main

pytestmark = pytest.mark.slow


@pytest.fixture
def args(seed_settings):
    return ["--root", str(seed_settings.root), "--index-dir", str(seed_settings.index_dir)]


def test_index_is_up_to_date_on_second_run(args, capsys):
    assert main(["index", *args]) == 0
    assert "index is up to date" in capsys.readouterr().out


def test_ask_prints_passages_with_citations(args, capsys):
    assert main(["ask", "What is debt bondage?", "-k", "3", *args]) == 0
    out = capsys.readouterr().out
    assert "[1] Human trafficking, words " in out
    assert "https://en.wikipedia.org/wiki/Human_trafficking" in out


def test_ask_json_has_the_run_format(args, capsys):
    assert main(["ask", "What is debt bondage?", "--json", *args]) == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data) >= {"question", "abstained", "passages"}
    p = data["passages"][0]
    assert set(p) >= {"text", "source", "start", "end", "score", "highlight"}


def test_eval_writes_a_run_file(args, tmp_path, capsys):
    questions = tmp_path / "q.jsonl"
    questions.write_text(
        json.dumps({"id": "a", "question": "What is debt bondage?", "answer_phrases": ["debt bondage"]})
        + "\n"
    )
    out = tmp_path / "run.jsonl"
    assert main(["eval", str(questions), "--out", str(out), *args]) == 0
    row = json.loads(out.read_text())
    assert row["id"] == "a" and row["passages"]


def test_user_mistakes_are_one_line_errors(args, tmp_path, capsys):
    assert main(["ask", "   ", *args]) == 1
    err = capsys.readouterr().err
    assert err.startswith("qa: error: the question is empty") and "Traceback" not in err
    assert main(["ask", "hi there", "--root", str(tmp_path)]) == 1
    assert "run `qa index`" in capsys.readouterr().err
    assert main(["ask", "debt", "-k", "0", *args]) == 1
    assert "k must be" in capsys.readouterr().err
