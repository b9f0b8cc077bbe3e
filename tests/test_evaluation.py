"""Question files, metrics, the regression gate and feedback export (fast parts without a model)."""

import csv
import importlib.util
import json
import sys
from pathlib import Path

import pytest

from qa.cli import main
from qa.cli.evaluation import GATE_EXIT
from qa.eval import (
    Question,
    QuestionFileError,
    compare_runs,
    format_metrics,
    read_questions,
    review_rows,
    score,
    write_results_csv,
)
from qa.feedback import FeedbackRecord, append_feedback

SCORE_PY = next(
    (d / "shared" / "eval" / "score.py" for d in Path(__file__).resolve().parents if (d / "shared").is_dir()),
    Path("shared/eval/score.py"),
)


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
    assert [p.line for p in problems] == [2, 4, 5, 6]
    assert "not valid JSON" in problems[0].reason and "duplicate id" in problems[3].reason
    assert str(problems[1]) == f"{f}:4: missing or empty 'question'"  # how the CLI prints it


def test_csv_with_expected_phrases_and_extra_columns(tmp_path):
    f = tmp_path / "q.csv"
    f.write_text(
        "id,question,expected,module,kind,needs_all\n"
        "c1,What is debt bondage?,debt bondage|bonded labour,2,,\n"
        ",Where is it common?,,3,unanswerable,no\n"
        'c3,"Quoted, with comma",x,4,,,extra-cell\n'
        "c4,,y,5,,\n"
        "c5,Both?,alpha | beta,6,multi,TRUE\n"
        "c6,Both again?,alpha,7,,maybe\n",
        encoding="utf-8",
    )
    questions, problems = read_questions(f)
    assert [(q.id, q.answer_phrases) for q in questions] == [
        ("c1", ("debt bondage", "bonded labour")),
        ("q3", ()),
        ("c5", ("alpha", "beta")),
    ]
    assert questions[0].extra == {"module": "2"} and not questions[0].needs_all
    assert questions[1].unanswerable and questions[1].has_expectation
    assert questions[2].needs_all and questions[2].kind == "multi"
    assert [p.line for p in problems] == [4, 5, 7]
    assert "more cells than columns" in problems[0].reason and "needs_all" in problems[2].reason


def test_csv_with_a_utf8_bom_and_only_a_question_column(tmp_path):
    f = tmp_path / "q.csv"
    f.write_bytes("question\nQu'est-ce que la servitude pour dettes ?\n".encode("utf-8-sig"))
    questions, problems = read_questions(f)
    assert [(q.id, q.question, q.has_expectation) for q in questions] == [
        ("q2", "Qu'est-ce que la servitude pour dettes ?", False)
    ]
    assert not problems


def test_a_tsv_as_google_sheets_saves_it_is_read_as_a_table(tmp_path):
    """Google Sheets' "Tab-separated values" download is a .tsv, refused as 'questions must be a
    .jsonl file ... or a .csv file' though the tab-separated CSV it holds is read."""
    f = tmp_path / "questions.tsv"
    f.write_bytes(b"Question\tExpected\r\nWhat is debt bondage?\tdebt|loan\r\n")
    questions, problems = read_questions(f)
    assert not problems
    assert [(q.id, q.question, q.answer_phrases) for q in questions] == [
        ("q2", "What is debt bondage?", ("debt", "loan"))
    ]


@pytest.mark.parametrize("sep", [",", ";", "\t"])
def test_csv_from_a_spreadsheet_with_its_separator_and_capitalised_headings(tmp_path, sep):
    """A spreadsheet saves "Question;Expected" (semicolons where the comma is the decimal mark),
    and its headings as typed; both were refused with "the CSV needs a 'question' column". Its
    empty rows were each reported as skipped ("missing or empty 'question'")."""
    f = tmp_path / "q.csv"
    rows = [
        ["ID", "Question", "Expected", "Kind", "Topic"],
        ["d1", "What is debt bondage?", "debt|loan", "", "trade"],
    ]
    rows.append(["w1", "Who won the world cup?", "", "Unanswerable", "sport"])
    rows += [["", "", "", "", ""]] * 2  # the empty rows below the table a spreadsheet saves too
    f.write_bytes("\r\n".join(sep.join(r) for r in rows).encode("utf-8-sig") + b"\r\n")
    questions, problems = read_questions(f)
    assert not problems
    assert [(q.id, q.question, q.answer_phrases, q.kind) for q in questions] == [
        ("d1", "What is debt bondage?", ("debt", "loan"), ""),
        ("w1", "Who won the world cup?", (), "unanswerable"),
    ]
    assert questions[1].unanswerable  # "Unanswerable" as typed: not left unscored
    assert questions[0].extra == {"Topic": "trade"}  # other columns keep their own names


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("q.txt", b"question", "a .jsonl file .* or a .csv file"),
        ("q.csv", b"text,other\nhello,1\n", "'question' column"),
        ("q.jsonl", b"\xff\xfe\x00bad", "not UTF-8"),
        ("q.csv", "question\nd\xe9j\xe0 vu\n".encode("latin-1"), "not UTF-8"),
        ("q.json", b'[{"question": "a"}]', "JSON array"),
    ],
)
def test_unusable_question_files_are_clear_errors(tmp_path, name, content, message):
    f = tmp_path / name
    f.write_bytes(content)
    with pytest.raises(QuestionFileError, match=message):
        read_questions(f)


def test_a_missing_question_file_is_a_one_line_error(tmp_path, capsys):
    assert main(["eval", str(tmp_path / "nope.jsonl"), "--root", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("qa: error: cannot read") and "Traceback" not in err


def test_eval_refuses_an_output_folder_that_does_not_exist_before_loading(tmp_path, capsys):
    q = tmp_path / "q.jsonl"
    q.write_text('{"question": "a"}\n')
    out = tmp_path / "no" / "run.jsonl"
    assert main(["eval", str(q), "--out", str(out), "--root", str(tmp_path)]) == 1
    assert "does not exist" in capsys.readouterr().err


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
    assert m["mrr@5"] == round((1 + 1 / 3 + 1 / 2) / 4, 3) == 0.458
    assert (m["unanswerable"], m["abstain_ok"], m["false_abstain"], m["too_long"]) == (2, 0.5, 0.25, 1)
    # passages: a 2 (3 words), b 3 (3), c 2 (2), d 1 (130), u 1 (1), v 0 -> 139 words / 9
    assert m["avg_words"] == 15.4 and m["bad_citations"] == 0  # not checked without sources
    k1 = score(QUESTIONS, RUN, k=1)[0].as_dict()
    assert (k1["hit@1"], k1["mrr@1"]) == (0.25, 0.25)


def test_a_long_passage_never_answers_and_a_missing_answer_is_a_miss():
    q = [Question("a", "qa", ("alpha",)), Question("z", "qz", ("zeta",))]
    run = {"a": {"abstained": False, "passages": [_p("alpha " * 121), _p("alpha")]}}
    metrics, ranks = score(q, run, k=5)
    assert ranks == {"a": 2, "z": None} and metrics.too_long == 1 and metrics.hitk == 0.5


def test_bad_citations_are_counted_as_score_py_does():
    texts = {"s.txt": "alpha here"}
    metrics, ranks = score(QUESTIONS[:1], RUN, k=5, source_text=texts.get)
    assert metrics.bad_citations == 1 and ranks == {"a": 1}  # "x" is not s.txt[0:1]
    wrong = {"a": {"abstained": False, "passages": [_p("alpha", start=3), _p("alpha", source="gone")]}}
    metrics, ranks = score(QUESTIONS[:1], wrong, k=5, source_text=texts.get)
    assert metrics.bad_citations == 2 and ranks == {"a": 1}  # counted, and (as in score.py) still scored


def _reference(args, capsys) -> dict:
    spec = importlib.util.spec_from_file_location("reference_score", SCORE_PY)
    reference = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(reference)
    argv = sys.argv
    sys.argv = ["score.py", *map(str, args), "--json"]
    try:
        reference.main()
    finally:
        sys.argv = argv
    return json.loads(capsys.readouterr().out)


@pytest.mark.skipif(not SCORE_PY.exists(), reason="shared/eval/score.py is not next to the repository")
def test_metrics_equal_the_reference_scorer(tmp_path, capsys):
    qfile, rfile = tmp_path / "q.jsonl", tmp_path / "run.jsonl"
    questions = [*QUESTIONS, Question("m", "missing from the run", ("mu",))]
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
            for q in questions
        )
    )
    rfile.write_text("".join(json.dumps({"id": i, **r}) + "\n" for i, r in RUN.items()))
    (tmp_path / "s.txt").write_text("alpha here and Beta! then gamma", encoding="utf-8")
    sources = {"s.txt": (tmp_path / "s.txt").read_text(encoding="utf-8")}
    for k in (5, 3, 1):
        theirs = _reference([qfile, rfile, "--root", tmp_path, "--k", k], capsys)
        ours = score(questions, RUN, k=k, source_text=sources.get)[0].as_dict()
        assert ours == {key: theirs[key] for key in ours}, k
        assert ours["bad_citations"] > 0


def _row(qid, rank, abstained=False, expected=("x",)):
    return {
        "id": qid,
        "question": f"q {qid}",
        "rank": rank,
        "abstained": abstained,
        "expected": expected if isinstance(expected, str) else list(expected),
    }


def _write_rows(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return str(path)


def test_compare_lists_changes_and_the_gate_exits_2_on_a_drop(tmp_path, capsys):
    a = {r["id"]: r for r in [_row("1", 1), _row("2", 2), _row("3", None), _row("4", 1)]}
    b = {r["id"]: r for r in [_row("1", 1), _row("2", None), _row("3", 1), _row("4", None)]}
    c = compare_runs(a, b, k=5)
    assert (c.hit_a, c.hit_b, c.drop, c.compared) == (0.75, 0.5, 0.25, 4)
    assert [x[0] for x in c.better] == ["3"] and [x[0] for x in c.worse] == ["2", "4"]
    assert c.worse[0][2] == "rank 2 -> no hit"

    fa, fb = _write_rows(tmp_path / "a.jsonl", a.values()), _write_rows(tmp_path / "b.jsonl", b.values())
    assert main(["compare", fa, fb]) == GATE_EXIT
    captured = capsys.readouterr()
    assert "hit@5 0.75 -> 0.5" in captured.out and "worse: 2" in captured.out
    assert "regression: hit@5 dropped by 0.25 (tolerance 0.0)" in captured.err
    assert main(["compare", fa, fb, "--tolerance", "0.25"]) == 0  # a drop equal to the tolerance passes
    assert main(["compare", fa, fb, "--tolerance", "0.2"]) == GATE_EXIT
    assert main(["compare", fb, fa]) == 0
    assert main(["compare", fa, fa]) == 0
    Path(fb).write_text("{broken\n")
    assert main(["compare", fa, fb]) == 1
    assert "b.jsonl:1: not a run row" in capsys.readouterr().err


def test_compare_counts_abstention_changes_and_questions_in_one_run_only():
    a = {r["id"]: r for r in [_row("u", None, True, "unanswerable"), _row("1", 1), _row("2", 1)]}
    b = {r["id"]: r for r in [_row("u", None, False, "unanswerable"), _row("1", 1, abstained=True)]}
    b["3"] = _row("3", 1)
    c = compare_runs(a, b, k=5)
    assert [x[0] for x in c.worse] == ["1", "u"] and not c.better
    assert (c.compared, c.only_a, c.only_b, c.drop) == (1, ("2",), ("3",), 0.0)


def test_the_gate_fails_when_the_bot_declines_what_it_answered_with_hit_at_5_unchanged(tmp_path, capsys):
    """A run declining answerable questions it used to answer (and answering unanswerable ones)
    kept its hit@5, as the closest passages are still ranked, so the gate passed with exit 0
    while listing every question as worse."""
    a = [_row("1", 1), _row("2", 1), _row("3", 2), _row("4", 1), _row("u", None, True, "unanswerable")]
    b = [_row("1", 1, True), _row("2", 1), _row("3", 2), _row("4", 1), _row("u", None, False, "unanswerable")]
    c = compare_runs({r["id"]: r for r in a}, {r["id"]: r for r in b})
    assert (c.drop, c.false_abstain_a, c.false_abstain_b, c.unanswerable) == (0.0, 0.0, 0.25, 1)
    assert (c.abstain_ok_a, c.abstain_ok_b) == (1.0, 0.0)
    fa, fb = _write_rows(tmp_path / "a.jsonl", a), _write_rows(tmp_path / "b.jsonl", b)
    assert main(["compare", fa, fb]) == GATE_EXIT
    captured = capsys.readouterr()
    assert "hit@5 1.0 -> 1.0, false_abstain 0.0 -> 0.25" in captured.out
    assert "and 1 unanswerable: abstain_ok 1.0 -> 0.0" in captured.out
    assert captured.err.strip() == (
        "qa: regression: false_abstain (answerable questions declined) rose by 0.25: 0.0 -> 0.25; "
        "abstain_ok (unanswerable questions declined) fell by 1.0: 1.0 -> 0.0 (tolerance 0.0)"
    )
    assert main(["compare", fa, fb, "--tolerance", "0.25"]) == GATE_EXIT  # abstain_ok fell by 1
    assert main(["compare", fb, fa]) == 0  # declining less and right is better
    only_answerable = _write_rows(tmp_path / "c.jsonl", b[:4])
    assert (
        main(["compare", _write_rows(tmp_path / "d.jsonl", a[:4]), only_answerable, "--tolerance", "0.25"])
        == 0
    )


def test_compare_refuses_runs_with_nothing_to_compare(tmp_path, capsys):
    plain = _write_rows(tmp_path / "a.jsonl", [{"id": "1", "abstained": False, "passages": []}])
    assert main(["compare", plain, plain]) == 1
    assert "no question with expected answers" in capsys.readouterr().err


WHY = "evidence 0.20; an answer needs 0.35"


def test_results_csv_has_one_row_per_question_with_the_input_columns(tmp_path):
    rows = [
        {
            **_row("a", 2),
            "expected": ["debt bondage", "bonded"],
            "fields": {"module": "2", "tags": ["x"]},
            "passages": [
                {
                    **_p("first passage", start=5),
                    "words": {"start": 1140, "end": 1240, "total": 5345},
                    "score": 0.9,
                }
            ],
        },
        {**_row("u", None, True, "unanswerable"), "passages": [], "reason": WHY},
    ]
    path = tmp_path / "r.csv"
    write_results_csv(path, rows, k=5)
    out = list(csv.DictReader(path.open(encoding="utf-8-sig")))
    assert list(out[0]) == [
        "id",
        "question",
        "expected",
        "outcome",
        "first_correct_rank",
        "abstained",
        "score",
        "citation",
        "top_passage",
        "reason",
        "module",
        "tags",
    ]
    assert out[0]["expected"] == "debt bondage | bonded" and out[0]["outcome"] == "correct"
    # word numbers as the page and the chat write them: 1-based, thousands separated, of the total
    assert out[0]["citation"] == "s.txt \u00b7 words 1,141\u20131,240 of 5,345 \u00b7 characters 5\u201318"
    assert (out[0]["first_correct_rank"], out[0]["score"], out[0]["top_passage"]) == (
        "2",
        "0.9",
        "first passage",
    )
    assert (out[0]["module"], out[0]["tags"]) == ("2", '["x"]')
    assert (out[1]["outcome"], out[1]["abstained"], out[1]["citation"]) == ("abstained (right)", "yes", "")
    assert (out[0]["reason"], out[1]["reason"]) == ("", WHY)  # why it declined, in the authors' words


def test_format_metrics_is_an_aligned_table():
    text = format_metrics(score(QUESTIONS, RUN, k=5)[0])
    lines = text.splitlines()
    assert lines[0] == "metrics (top 5 passages)"
    assert any(line.split()[:2] == ["hit@5", "0.75"] for line in lines)
    assert len({line.index(line.split()[1]) + len(line.split()[1]) for line in lines[1:]}) == 1


def test_review_rows_keep_thumbs_down_once_per_question():
    records = [
        FeedbackRecord("down", "What is debt bondage?", query="q", passages=(_p("t"),), comment="wrong"),
        FeedbackRecord("up", "Liked question"),
        FeedbackRecord("down", "what is  DEBT bondage? ", comment="still wrong"),
        FeedbackRecord("down", "Who wrote it?", abstained=True),
    ]
    rows = review_rows(records)
    assert [(r["question"], r["thumbs_down"]) for r in rows] == [
        ("What is debt bondage?", 2),
        ("Who wrote it?", 1),
    ]
    assert rows[0]["comments"] == ["wrong", "still wrong"] and rows[0]["answer_phrases"] == []
    assert rows[0]["context"] == [{"source": "s.txt", "start": 0, "end": 1, "text": "t"}]
    assert rows[1]["query"] == "Who wrote it?" and rows[1]["abstained"]
    assert rows[0]["id"] == review_rows(records[2:3])[0]["id"]  # the id depends on the question only


def test_feedback_export_writes_question_files(tmp_path, capsys, monkeypatch):
    path = tmp_path / "feedback.jsonl"
    append_feedback(path, FeedbackRecord("down", "What is debt bondage?", query="q", passages=(_p("t"),)))
    append_feedback(path, FeedbackRecord("up", "Liked question"))
    append_feedback(path, FeedbackRecord("down", "what is  DEBT bondage?"))
    (tmp_path / "seeds").mkdir()
    monkeypatch.setenv("QA_FEEDBACK_PATH", str(path))
    root = ["--root", str(tmp_path)]
    out, out_jsonl = tmp_path / "review.csv", tmp_path / "review.jsonl"
    assert main(["feedback", "export", "--out", str(out), *root]) == 0
    assert main(["feedback", "export", "--out", str(out_jsonl), *root]) == 0
    assert main(["feedback", "export", *root]) == 0
    rows = list(csv.DictReader(out.open(encoding="utf-8-sig")))
    assert [r["question"] for r in rows] == ["What is debt bondage?"]
    assert rows[0]["context"] == "[s.txt 0\u20131] t" and rows[0]["id"].startswith("fb-")
    assert rows[0]["expected"] == "" and rows[0]["thumbs_down"] == "2"
    printed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(printed) == 1 and printed[0]["question"] == "What is debt bondage?"
    for f in (out, out_jsonl):  # the exports are valid question files, to complete with expectations
        questions, problems = read_questions(f)
        assert [q.id for q in questions] == [printed[0]["id"]] and not problems
        assert "query" in questions[0].extra
    assert main(["feedback", "export", "--out", str(tmp_path / "r.txt"), *root]) == 1
    assert "a .jsonl or .csv file" in capsys.readouterr().err
    monkeypatch.setenv("QA_FEEDBACK_PATH", str(tmp_path / "none.jsonl"))
    assert main(["feedback", "export", *root]) == 0
    assert "no feedback yet" in capsys.readouterr().err


def test_feedback_export_of_one_collection(tmp_path, capsys, monkeypatch):
    """Every course's thumbs down came out mixed, to be run with qa eval --collection NAME; the
    count said '1 thumbs-down questions'."""
    from qa.config import Settings
    from qa.index.collections import CollectionConfig, create_collection

    path = tmp_path / "feedback.jsonl"
    append_feedback(path, FeedbackRecord("down", "What is debt bondage?"))
    append_feedback(path, FeedbackRecord("down", "What is a ribosome?", collection="biology"))
    (tmp_path / "seeds").mkdir()
    create_collection(Settings(root=tmp_path), "biology", CollectionConfig(title="Biology"))
    monkeypatch.setenv("QA_FEEDBACK_PATH", str(path))
    root = ["--root", str(tmp_path)]
    assert main(["feedback", "export", "--collection", "biology", *root]) == 0
    out, err = capsys.readouterr()
    assert [json.loads(line)["question"] for line in out.splitlines()] == ["What is a ribosome?"]
    assert err.strip().endswith("1 thumbs-down question to review")
    assert main(["feedback", "export", *root]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 2  # without it, every collection's
    assert main(["feedback", "export", "--collection", "chemistry", *root]) == 1
    assert "no collection 'chemistry'" in capsys.readouterr().err


def test_compare_warns_when_the_runs_are_of_two_collections(tmp_path, capsys):
    rows = [_row("1", 1), _row("2", 2)]
    fa, fb = _write_rows(tmp_path / "a.jsonl", rows), _write_rows(tmp_path / "b.jsonl", rows)
    for path, collection in ((fa, "default"), (fb, "bio-101")):
        Path(path + ".meta.json").write_text(json.dumps({"collection": collection}))
    assert main(["compare", fa, fb]) == 0
    err = capsys.readouterr().err
    assert f"warning: the baseline {fa} was run on the collection 'default', {fb} on 'bio-101'" in err
    assert main(["compare", fa, fa]) == 0
    assert "warning" not in capsys.readouterr().err
