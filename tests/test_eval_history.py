"""`qa eval` reads each question's conversation: JSONL `history` lists, CSV `history` cells."""

import json

from qa.eval import read_questions, run_rows


def test_jsonl_history_is_read_oldest_first(tmp_path):
    path = tmp_path / "q.jsonl"
    rows = [
        {"id": "a", "question": "How common is it?", "history": ["What is debt bondage?", "Who uses it?"]},
        {"id": "b", "question": "What is debt bondage?"},
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    questions, problems = read_questions(path)
    assert problems == []
    assert questions[0].history == ("What is debt bondage?", "Who uses it?")
    assert questions[1].history == ()
    assert "history" not in questions[0].extra


def test_csv_history_turns_are_split_by_bars(tmp_path):
    path = tmp_path / "q.csv"
    path.write_text(
        "id,question,history\nx,And children?,What is forced labour? | Where is it common?\ny,Why?,\n",
        encoding="utf-8",
    )
    questions, _ = read_questions(path)
    assert questions[0].history == ("What is forced labour?", "Where is it common?")
    assert questions[1].history == ()


def test_history_that_is_not_a_list_of_text_is_reported(tmp_path):
    path = tmp_path / "q.jsonl"
    path.write_text(json.dumps({"question": "Why?", "history": [1, 2]}) + "\n", encoding="utf-8")
    questions, problems = read_questions(path)
    assert questions == [] and "history" in problems[0].reason


def test_run_rows_keep_the_history_and_the_query_as_searched(tmp_path, fake_embedder):
    from qa.config import Settings
    from qa.index.build import ensure_index
    from qa.retrieval.retriever import Retriever

    (tmp_path / "seeds").mkdir()
    (tmp_path / "seeds" / "a.txt").write_text(
        "debt bondage is a form of forced labour where a person works to repay a loan", encoding="utf-8"
    )
    settings = Settings(root=tmp_path, model="fake-model")
    index = ensure_index(settings, fake_embedder).index
    path = tmp_path / "q.jsonl"
    path.write_text(
        json.dumps({"id": "f", "question": "and children?", "history": ["What is debt bondage?"]}) + "\n",
        encoding="utf-8",
    )
    questions, _ = read_questions(path)
    retriever = Retriever(index, fake_embedder, settings)
    answers = retriever.ask_many([q.question for q in questions], histories=[q.history for q in questions])
    row = run_rows(questions, answers, 5)[0]
    assert row["history"] == ["What is debt bondage?"]
    assert row["query"] == "What is debt bondage? and children?"
