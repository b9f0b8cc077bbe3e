"""``qa index/ask --collection``: each collection indexed and answered on its own (fake model)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from qa.cli import main
from qa.index.collections import CollectionConfig, create_collection
from tests.conftest import FakeEmbedder
from tests.test_collections import CELLS, ROME


@pytest.fixture
def cli_project(project, monkeypatch):
    import qa.embedders.base
    import qa.retrieval.retriever

    fake = FakeEmbedder()
    monkeypatch.setattr(qa.embedders.base, "make_embedder", lambda settings: fake)
    monkeypatch.setattr(qa.retrieval.retriever, "make_embedder", lambda settings: fake)
    monkeypatch.setenv("QA_MODEL", "fake-model")
    (project.seeds_dir / "rome.md").write_text(ROME, encoding="utf-8")
    create_collection(project, "biology", CollectionConfig(title="Biology"))
    (project.seeds_dir / "biology" / "cells.md").write_text(CELLS, encoding="utf-8")
    return ["--root", str(project.root)]


def test_each_collection_is_indexed_and_answered_on_its_own(cli_project, capsys):
    assert main(["index", *cli_project]) == 0
    assert "index built: 1 document, " in capsys.readouterr().out
    assert main(["index", "--collection", "biology", *cli_project]) == 0
    assert "index built: 1 document, " in capsys.readouterr().out
    assert main(["ask", "what do ribosomes build", "--json", "--collection", "biology", *cli_project]) == 0
    bio = json.loads(capsys.readouterr().out)
    assert {p["source"] for p in bio["passages"]} == {"seeds/biology/cells.md"}
    assert main(["ask", "who crossed the rubicon", "--json", *cli_project]) == 0
    rome = json.loads(capsys.readouterr().out)
    assert {p["source"] for p in rome["passages"]} == {"seeds/rome.md"}


def test_unknown_or_malformed_collection_is_a_one_line_error(cli_project, capsys):
    assert main(["ask", "what is a cell", "--collection", "chemistry", *cli_project]) == 1
    err = capsys.readouterr().err
    assert "no collection 'chemistry'" in err and "Traceback" not in err
    assert "the collections are: default, biology" in err and len(err.strip().splitlines()) == 1
    assert main(["index", "--collection", "../etc", *cli_project]) == 1
    assert "not a collection name" in capsys.readouterr().err


def test_eval_on_a_collection(cli_project, tmp_path, capsys):
    assert main(["index", "--collection", "biology", *cli_project]) == 0
    questions = tmp_path / "q.jsonl"
    row = {"id": "r", "question": "what do ribosomes build", "answer_phrases": ["amino acids"]}
    questions.write_text(json.dumps(row) + "\n", encoding="utf-8")
    out = tmp_path / "run.jsonl"
    assert (
        main(["eval", str(questions), "--out", str(out), "--quiet", "--collection", "biology", *cli_project])
        == 0
    )
    run = json.loads(out.read_text(encoding="utf-8").splitlines()[0])
    assert {p["source"] for p in run["passages"]} == {"seeds/biology/cells.md"}


def test_exported_learner_questions_run_through_qa_eval(cli_project, project, tmp_path, capsys):
    from qa.eval.asked import (
        AskedRecord,
        eval_rows,
        log_question,
        read_asked,
        rows_csv,
        rows_jsonl,
        summarise,
    )

    path = tmp_path / "questions.jsonl"
    for question, abstained in [("what is photosynthesis", True), ("What is photosynthesis?", True)]:
        log_question(path, AskedRecord("biology", question, abstained=abstained))
    declined = summarise("declined", read_asked(path), [], collection="biology")
    assert [(q.question, q.declined) for q in declined] == [("what is photosynthesis", 2)]
    rows = eval_rows(declined, view="declined", collection="biology")
    assert main(["index", "--collection", "biology", *cli_project]) == 0
    for name, text in [("rows.jsonl", rows_jsonl(rows)), ("rows.csv", rows_csv(rows))]:
        (tmp_path / name).write_text(text, encoding="utf-8")
        out = tmp_path / f"{name}.run.jsonl"
        args = ["eval", str(tmp_path / name), "--out", str(out), "--quiet", "--collection", "biology"]
        assert main([*args, *cli_project]) == 0
        assert json.loads(out.read_text(encoding="utf-8"))["id"] == rows[0]["id"]


def test_the_build_line_counts_with_thousands_separators(cli_project, capsys):
    """'index built: 1 document, 1,085 windows (1085 embedded, 0 reused)' mixed two styles."""
    words = " ".join(f"word{i}" for i in range(6000))
    (Path(cli_project[1]) / "seeds" / "long.txt").write_text(words + ".\n", encoding="utf-8")
    assert main(["index", *cli_project]) == 0
    line = capsys.readouterr().out.strip().splitlines()[-1]
    pattern = r"index built: 2 documents, \d,\d{3} windows \(\d,\d{3} embedded, 0 reused\) in .*s"
    assert re.fullmatch(pattern, line), line


def test_a_collection_without_an_index_is_told_the_command_that_builds_it(cli_project, capsys, project):
    """qa ask / qa eval --collection NAME on a course with no index said 'no index in
    embeddings/NAME; run `qa index` to build it', and `qa index` alone builds the default
    collection's index, not this one."""
    create_collection(project, "chemistry", CollectionConfig(title="Chemistry"))
    assert main(["ask", "what is an anode", "--collection", "chemistry", *cli_project]) == 1
    err = capsys.readouterr().err.strip()
    assert err == (
        f"qa: error: the collection 'chemistry' has no index yet: add documents to "
        f"{project.seeds_dir / 'chemistry'} (or upload them on the admin page) and run "
        "`qa index --collection chemistry`"
    )
    assert not (project.index_dir / "chemistry").exists()  # nothing left behind
