"""``qa eval`` on questions without expected answers says there is nothing to score and, when
no output was asked for, how to keep the answers (it used to say "answers written" either way)."""

from __future__ import annotations

import json

from qa.cli import main


def test_unscored_eval_says_where_the_answers_are(project, fake_embedder, monkeypatch, capsys, tmp_path):
    import qa.embedders.base
    import qa.retrieval.retriever

    for module in (qa.embedders.base, qa.retrieval.retriever):
        monkeypatch.setattr(module, "make_embedder", lambda settings: fake_embedder)
    (project.seeds_dir / "a.txt").write_text("debt bondage is a form of forced labour", encoding="utf-8")
    questions = tmp_path / "asked.jsonl"
    row = {"id": "a", "question": "What is debt bondage?"}
    questions.write_text(json.dumps(row) + "\n", encoding="utf-8")
    cli = ["--root", str(project.root), "--model", "fake-model", "--quiet"]
    assert main(["index", *cli[:-1]]) == 0
    capsys.readouterr()
    assert main(["eval", str(questions), *cli]) == 0
    out = capsys.readouterr().out
    assert "nothing to score; pass --out RUN.jsonl, --csv or --report to keep the answers" in out
    assert "answers written" not in out and "wrote" not in out
    run = tmp_path / "run.jsonl"
    assert main(["eval", str(questions), "--out", str(run), *cli]) == 0
    out = capsys.readouterr().out
    assert "nothing to score; the answers are in the files below" in out and f"wrote {run}" in out
    assert json.loads(run.read_text(encoding="utf-8").splitlines()[0])["id"] == "a"


def test_questions_whose_phrases_no_document_holds_are_named(
    project, fake_embedder, monkeypatch, capsys, tmp_path
):
    """A question file naming a document no longer in the course (or a mistyped phrase) ran
    without a word: those questions were simply misses, as if the bot had ranked badly."""
    import qa.embedders.base
    import qa.retrieval.retriever

    for module in (qa.embedders.base, qa.retrieval.retriever):
        monkeypatch.setattr(module, "make_embedder", lambda settings: fake_embedder)
    (project.seeds_dir / "a.txt").write_text("Debt bondage is a form of forced labour.", encoding="utf-8")
    questions = tmp_path / "q.jsonl"
    rows = [
        {"id": "kept", "question": "What is debt bondage?", "answer_phrases": ["debt-bondage"]},
        {
            "id": "gone",
            "question": "What is osmosis?",
            "answer_phrases": ["movement of water"],
            "doc": "osmosis.md",
        },
        {
            "id": "half",
            "question": "Both?",
            "answer_phrases": ["forced labour", "osmosis"],
            "needs_all": True,
        },
        {"id": "either", "question": "Either?", "answer_phrases": ["osmosis", "forced labour"]},
        {"id": "none", "question": "What is the capital of Peru?", "kind": "unanswerable"},
    ]
    questions.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    cli = ["--root", str(project.root), "--model", "fake-model", "--quiet"]
    assert main(["index", *cli[:-1]]) == 0
    capsys.readouterr()
    assert main(["eval", str(questions), *cli]) == 0
    err = capsys.readouterr().err
    assert (
        "warning: the expected phrases of 2 questions occur in no indexed document, so they can never "
        "count as found (a document removed or renamed, or a phrase mistyped): gone, half"
    ) in err
