"""run_eval() as the CLI and the benchmarks call it, over a small index with the fake embedder;
conversation histories in question files; spreadsheet-safe CSV exports."""

import csv
import json

import pytest

from qa.errors import ConfigError, EvaluationError
from qa.eval import (
    Question,
    compare_runs,
    gate,
    read_questions,
    run_eval,
    write_outputs,
    write_question_rows,
    write_results_csv,
)
from qa.eval.files import from_spreadsheet, spreadsheet_safe
from qa.feedback import FeedbackRecord
from qa.index.build import ensure_index
from qa.retrieval.retriever import Retriever

TEXT = (
    "Debt bondage is a form of forced labour in which a person pledges labour against a loan. "
    "Children are trafficked for begging, domestic work and armed conflict in many regions. "
    "The Palermo protocol defines trafficking in persons and asks states to criminalise it. "
) * 8


class RecordingRetriever(Retriever):
    """The real retriever, remembering each batch of questions and histories it was asked."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.batches = []

    def ask_many(self, questions, *, k=None, histories=None):
        self.batches.append((list(questions), [list(h) for h in histories or []]))
        return super().ask_many(questions, k=k, histories=histories)


@pytest.fixture
def retriever(project, fake_embedder):
    (project.seeds_dir / "a.txt").write_text(TEXT, encoding="utf-8")
    index = ensure_index(project, fake_embedder).index
    return RecordingRetriever(index, fake_embedder, project)


QUESTIONS = [
    Question("a", "What is debt bondage?", ("pledges labour against a loan",), kind="lexical"),
    Question(
        "b", "And children?", ("children are trafficked",), kind="followup", history=("Who is trafficked?",)
    ),
    Question("u", "What is the capital of Mars?", kind="unanswerable"),
]


def test_run_eval_answers_in_batches_with_the_histories_and_scores(retriever):
    done = []
    run = run_eval(retriever, QUESTIONS, k=2, batch=2, progress=done.append)
    assert done == [2, 1]
    assert [b[0] for b in retriever.batches] == [
        ["What is debt bondage?", "And children?"],
        ["What is the capital of Mars?"],
    ]
    assert retriever.batches[0][1] == [[], ["Who is trafficked?"]]
    assert [r["id"] for r in run.rows] == ["a", "b", "u"] and run.k == 2
    assert run.rows[1]["history"] == ["Who is trafficked?"] and "history" not in run.rows[0]
    assert all(len(r["passages"]) <= 2 for r in run.rows)
    assert run.metrics is not None and run.metrics.answerable == 2 and run.metrics.unanswerable == 1
    assert run.metrics.bad_citations == 0  # citations checked against the indexed text
    assert run.meta["metrics"] == run.metrics.as_dict()
    assert run.meta["settings"]["k"] == retriever.settings.k and run.meta["index"]["sources"]
    assert run.meta["timing"]["batch"] == 2 and run.timing.questions == 3
    assert run.by_id["u"]["expected"] == "unanswerable"


def test_run_eval_without_expectations_scores_nothing(retriever):
    run = run_eval(retriever, [Question("x", "What is debt bondage?")])
    assert run.metrics is None and run.meta["metrics"] is None and run.rows[0]["passages"]


def test_run_eval_refuses_a_bad_batch_or_no_questions_before_loading_the_model(retriever, fake_embedder):
    calls = fake_embedder.calls
    with pytest.raises(ConfigError, match="batch size must be at least 1"):
        run_eval(retriever, QUESTIONS, batch=0)
    with pytest.raises(EvaluationError, match=r"no usable questions in q\.csv"):
        run_eval(retriever, [], questions_file="q.csv")
    assert fake_embedder.calls == calls  # nothing was encoded, not even the warm-up


def test_write_outputs_writes_the_run_the_csv_and_a_report_listing_skipped_rows(retriever, tmp_path):
    qfile = tmp_path / "q.csv"
    qfile.write_text(
        "id,question,expected,kind,history\n"
        "a,What is debt bondage?,pledges labour against a loan,lexical,\n"
        "b,And children?,children are trafficked,followup,Who is trafficked? | Where?\n"
        "c,,no question here,lexical,\n",
        encoding="utf-8",
    )
    questions, skipped = read_questions(qfile)
    assert questions[1].history == ("Who is trafficked?", "Where?") and questions[0].history == ()
    run = run_eval(retriever, questions, questions_file=qfile, skipped=skipped)
    out, table, report = tmp_path / "run.jsonl", tmp_path / "r.csv", tmp_path / "r.html"
    write_outputs(run, out=out, csv=table, report=report, title="Small run")
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert rows == [json.loads(json.dumps(r)) for r in run.rows]
    meta = json.loads((tmp_path / "run.jsonl.meta.json").read_text(encoding="utf-8"))
    assert meta["skipped_rows"] == [{"file": str(qfile), "line": 4, "reason": "missing or empty 'question'"}]
    results = list(csv.DictReader(table.open(encoding="utf-8-sig")))
    assert results[1]["history"] == "Who is trafficked? | Where?"
    page = report.read_text(encoding="utf-8")
    assert "Skipped input rows (1)" in page and "line 4: missing or empty &#39;question&#39;" in page
    assert page.index("Skipped input rows") < page.index("<h2>Questions</h2>")
    assert "after: Who is trafficked? › Where?" in page
    for row in results:  # the CSV and the page cite the top passage in the same words
        assert row["citation"] and row["citation"] in page


def test_history_in_jsonl_must_be_a_list_of_questions(tmp_path):
    f = tmp_path / "q.jsonl"
    f.write_text(
        '{"id": "a", "question": "and then?", "history": ["first", "  ", "second"]}\n'
        '{"id": "b", "question": "why?", "history": "one earlier question"}\n'
        '{"id": "c", "question": "how?", "history": [1, 2]}\n',
        encoding="utf-8",
    )
    questions, skipped = read_questions(f)
    assert [(q.id, q.history) for q in questions] == [
        ("a", ("first", "second")),
        ("b", ("one earlier question",)),
    ]
    assert [(s.line, s.reason) for s in skipped] == [
        (3, "'history' must be a list of earlier questions (strings)")
    ]
    assert all("history" not in q.extra for q in questions)


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_csv_cells_that_a_spreadsheet_would_run_get_a_leading_quote(start):
    text = f'{start}HYPERLINK("http://evil.example", "click")'
    assert spreadsheet_safe(text) == "'" + text
    assert from_spreadsheet(spreadsheet_safe(text)) == text
    assert spreadsheet_safe("plain text") == "plain text" and from_spreadsheet("'quoted") == "'quoted"
    assert spreadsheet_safe(-0.5) == -0.5 and spreadsheet_safe(["=x"]) == '["=x"]'


def test_review_and_results_csv_neutralise_formulas_and_read_back_unchanged(tmp_path):
    question = '=HYPERLINK("http://evil.example","debt?")'
    records = [FeedbackRecord("down", question, comment="@SUM(A1:A9)", passages=({"text": "-1 x"},))]
    from qa.eval import review_rows

    path = tmp_path / "review.csv"
    write_question_rows(path, review_rows(records))
    raw = list(csv.reader(path.open(encoding="utf-8-sig")))[1]
    assert raw[1] == "'" + question and raw[7] == "'@SUM(A1:A9)"
    assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in raw)
    questions, skipped = read_questions(path)
    assert [q.question for q in questions] == [question] and not skipped

    results = tmp_path / "r.csv"
    row = {"id": "a", "question": question, "abstained": False, "fields": {"note": "+1"}, "passages": []}
    write_results_csv(results, [{**row, "passages": [{"text": "-5 degrees", "score": -0.25}]}], k=5)
    out = next(csv.DictReader(results.open(encoding="utf-8-sig")))
    assert (out["question"], out["top_passage"], out["note"]) == ("'" + question, "'-5 degrees", "'+1")
    assert out["score"] == "-0.25"  # numbers are not formulas


def test_the_gate_refuses_runs_with_nothing_in_common():
    a = {"1": {"id": "1", "expected": ["x"], "rank": 1}}
    b = {"2": {"id": "2", "expected": ["x"], "rank": 1}}
    assert compare_runs(a, b).empty
    with pytest.raises(EvaluationError, match="no question with expected answers is in both runs"):
        gate(a, b)
    assert gate(a, a).compared == 1 and not gate(a, a).regressed(0.0)


def test_questions_the_retriever_refuses_are_skipped_with_its_reason(retriever, tmp_path):
    f = tmp_path / "q.jsonl"
    long = "why " * 1000
    f.write_text(
        json.dumps({"id": "a", "question": "What is debt bondage?", "answer_phrases": ["debt bondage"]})
        + "\n"
        + json.dumps({"id": "b", "question": "???", "answer_phrases": ["x"]})
        + "\n"
        + json.dumps({"id": "c", "question": long})
        + "\n",
        encoding="utf-8",
    )
    questions, skipped = read_questions(f)
    assert [q.line for q in questions] == [1, 2, 3] and not skipped
    run = run_eval(retriever, questions, questions_file=f)
    assert [r["id"] for r in run.rows] == ["a"] and run.metrics.answerable == 1
    assert [(s.line, s.reason.split(":")[0]) for s in run.skipped] == [(2, "b"), (3, "c")]
    assert "no words to search for" in run.skipped[0].reason and "limit" in run.skipped[1].reason
    assert run.meta["skipped_rows"][0]["line"] == 2
    with pytest.raises(EvaluationError, match="no question could be asked: b: "):
        run_eval(retriever, questions[1:2])


def test_the_public_api_of_qa_eval_is_what_all_says():
    import types

    import qa.eval

    public = {n for n in dir(qa.eval) if not n.startswith("_")}
    modules = {n for n in public if isinstance(getattr(qa.eval, n), types.ModuleType)}
    assert set(qa.eval.__all__) == public - modules
    assert modules <= {
        "asked",
        "charts",
        "citations",
        "compare",
        "files",
        "metrics",
        "questions",
        "report",
        "results",
        "review",
        "runs",
    }


@pytest.mark.parametrize("umask", [0o022, 0o077])
def test_eval_outputs_follow_the_umask_like_any_file_a_user_writes(retriever, tmp_path, umask):
    import os
    import stat

    from qa.eval.review import write_question_rows

    run = run_eval(retriever, QUESTIONS[:1])
    outputs = [tmp_path / name for name in ("run.jsonl", "run.jsonl.meta.json", "r.csv", "r.html")]
    previous = os.umask(umask)
    try:
        write_outputs(run, out=outputs[0], csv=outputs[2], report=outputs[3], title="Modes")
        write_question_rows(tmp_path / "review.csv", [])
    finally:
        os.umask(previous)
    for path in [*outputs, tmp_path / "review.csv"]:
        assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask, path.name
    assert not list(tmp_path.glob(".*.tmp"))
