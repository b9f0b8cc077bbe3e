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
