"""Question files, metrics, the regression gate and feedback export (fast parts without a model)."""

import csv
import importlib.util
import json
from pathlib import Path

import pytest

from qa.cli import GATE_EXIT, main
from qa.evaluation import Question, QuestionFileError, compare_runs, read_questions, score
from qa.feedback import FeedbackRecord, append_feedback

SCORE_PY = Path(__file__).resolve().parents[2] / "shared" / "eval" / "score.py"


def test_jsonl_with_bad_rows_reports_line_numbers(tmp_path):
    f = tmp_path / "q.jsonl"
    f.write_text(
        '{"id": "a", "question": "What is debt bondage?", "answer_phrases": ["debt"], "topic": "law"}\n'
        "not json\n"
        "\n"
        '{"id": "b"}\n'
        '["a list"]\n'
        '{"id": "a", "question": "duplicate"}\n'
        '{"question": "no id here", "kind": "unanswerable"}\n',
        encoding="utf-8",
    )
    questions, problems = read_questions(f)
    assert [q.id for q in questions] == ["a", "q7"]
    assert questions[0].extra == {"topic": "law"} and questions[1].unanswerable
    assert [p.split(":")[1] for p in problems] == ["2", "4", "5", "6"]
    assert "not valid JSON" in problems[0] and "duplicate id" in problems[3]


def test_csv_with_expected_phrases_and_extra_columns(tmp_path):
    f = tmp_path / "q.csv"
    f.write_text(
        "id,question,expected,module\n"
        "c1,What is debt bondage?,debt bondage|bonded labour,2\n"
        ",Where is it common?,,3\n"
        'c3,"Quoted, with comma",x,4,extra-cell\n'
        "c4,,y,5\n",
        encoding="utf-8",
    )
    questions, problems = read_questions(f)
    assert [(q.id, q.answer_phrases) for q in questions] == [
        ("c1", ("debt bondage", "bonded labour")),
        ("q3", ()),
    ]
    assert questions[0].extra == {"module": "2"}
    assert len(problems) == 2 and ":4:" in problems[0] and ":5:" in problems[1]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("q.txt", b"question", ".jsonl or .csv"),
        ("q.csv", b"text,other\nhello,1\n", "'question' column"),
        ("q.jsonl", b"\xff\xfe\x00bad", "not UTF-8"),
    ],
)
def test_unusable_question_files_are_clear_errors(tmp_path, name, content, message):
    f = tmp_path / name
    f.write_bytes(content)
    with pytest.raises(QuestionFileError, match=message):
        read_questions(f)


def _p(text, start=0, source="s.txt", score=0.5):
    return {"text": text, "source": source, "start": start, "end": start + len(text), "score": score}


QUESTIONS = [
    Question("a", "qa", ("alpha",)),
    Question("b", "qb", ("beta",)),
    Question("c", "qc", ("gamma", "delta"), needs_all=True),
    Question("d", "qd", ("omega",)),
    Question("u", "qu", kind="unanswerable"),
    Question("v", "qv", kind="unanswerable"),
]
RUN = {
    "a": {"abstained": False, "passages": [_p("alpha here"), _p("x")]},  # rank 1
    "b": {"abstained": False, "passages": [_p("x"), _p("y"), _p("Beta!")]},  # rank 3
    "c": {"abstained": False, "passages": [_p("gamma"), _p("delta")]},  # needs_all: rank 2
    "d": {"abstained": True, "passages": [_p("nothing " * 130)]},  # miss, too long, false abstain
    "u": {"abstained": True, "passages": [_p("z")]},
    "v": {"abstained": False, "passages": []},
}


def test_metrics_match_hand_computed_values():
    metrics, ranks = score(QUESTIONS, RUN, k=5)
    assert ranks == {"a": 1, "b": 3, "c": 2, "d": None}
    m = metrics.as_dict()
    assert (m["answerable"], m["hit@1"], m["hit@3"], m["hit@5"]) == (4, 0.25, 0.75, 0.75)
    assert m["mrr@5"] == round((1 + 1 / 3 + 1 / 2) / 4, 3)
    assert (m["unanswerable"], m["abstain_ok"], m["false_abstain"], m["too_long"]) == (2, 0.5, 0.25, 1)


def test_bad_citations_are_counted_and_do_not_score():
    texts = {"s.txt": "alpha here"}
    metrics, ranks = score(QUESTIONS[:1], RUN, k=5, source_text=texts.get)
    assert metrics.bad_citations == 1 and ranks == {"a": 1}  # "x" is not s.txt[0:1]
    wrong = {"a": {"abstained": False, "passages": [_p("alpha", start=3)]}}
    metrics, ranks = score(QUESTIONS[:1], wrong, k=5, source_text=texts.get)
    assert metrics.bad_citations == 1 and ranks == {"a": None}


@pytest.mark.skipif(not SCORE_PY.exists(), reason="shared/eval/score.py is not next to the repository")
def test_metrics_equal_the_reference_scorer(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("reference_score", SCORE_PY)
    reference = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(reference)
    qfile, rfile = tmp_path / "q.jsonl", tmp_path / "run.jsonl"
    qfile.write_text(
        "".join(
            json.dumps(
                {
                    "id": q.id,
                    "question": q.question,
                    "answer_phrases": list(q.answer_phrases),
                    "kind": q.kind or "factoid",
                    "needs_all": q.needs_all,
                }
            )
            + "\n"
            for q in QUESTIONS
        )
    )
    rfile.write_text("".join(json.dumps({"id": i, **r}) + "\n" for i, r in RUN.items()))
    import sys

    argv = sys.argv
    sys.argv = ["score.py", str(qfile), str(rfile), "--json"]
    try:
        reference.main()
    finally:
        sys.argv = argv
    theirs = json.loads(capsys.readouterr().out)
    ours = score(QUESTIONS, RUN, k=5)[0].as_dict()
    for key in ("hit@1", "hit@3", "hit@5", "mrr@5", "abstain_ok", "false_abstain", "too_long"):
        assert ours[key] == theirs[key], key


def _row(qid, rank, abstained=False, expected=("x",)):
    return {
        "id": qid,
        "question": f"q {qid}",
        "rank": rank,
        "abstained": abstained,
        "expected": list(expected),
    }


def test_compare_lists_changes_and_the_gate_exits_2_on_a_drop(tmp_path, capsys):
    a = {r["id"]: r for r in [_row("1", 1), _row("2", 2), _row("3", None), _row("4", 1)]}
    b = {r["id"]: r for r in [_row("1", 1), _row("2", None), _row("3", 1), _row("4", None)]}
    c = compare_runs(a, b, k=5)
    assert (c.hit_a, c.hit_b, c.drop) == (0.75, 0.5, 0.25)
    assert [x[0] for x in c.better] == ["3"] and [x[0] for x in c.worse] == ["2", "4"]

    fa, fb = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    fa.write_text("".join(json.dumps(r) + "\n" for r in a.values()))
    fb.write_text("".join(json.dumps(r) + "\n" for r in b.values()))
    assert main(["compare", str(fa), str(fb)]) == GATE_EXIT
    assert "regression" in capsys.readouterr().err
    assert main(["compare", str(fa), str(fb), "--tolerance", "0.3"]) == 0
    assert main(["compare", str(fb), str(fa)]) == 0
    fb.write_text("{broken\n")
    assert main(["compare", str(fa), str(fb)]) == 1


def test_feedback_export_keeps_thumbs_down_once(tmp_path, capsys):
    path = tmp_path / "feedback.jsonl"
    append_feedback(path, FeedbackRecord("down", "What is debt bondage?", query="q", passages=(_p("t"),)))
    append_feedback(path, FeedbackRecord("up", "Liked question"))
    append_feedback(path, FeedbackRecord("down", "what is  DEBT bondage?"))
    (tmp_path / "seeds").mkdir()
    out = tmp_path / "review.csv"
    env_args = ["--root", str(tmp_path)]
    import os

    os.environ["QA_FEEDBACK_PATH"] = str(path)
    try:
        assert main(["feedback", "export", "--out", str(out), *env_args]) == 0
        assert main(["feedback", "export", *env_args]) == 0
    finally:
        del os.environ["QA_FEEDBACK_PATH"]
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert [r["question"] for r in rows] == ["What is debt bondage?"]
    assert rows[0]["shown"] == "s.txt:0-1" and rows[0]["id"].startswith("fb-")
    printed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(printed) == 1 and printed[0]["question"] == "What is debt bondage?"
    questions, problems = read_questions(out)
    assert len(questions) == 1 and not problems  # the export is a valid question file
