import json
import logging
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from qa.cli import main
from qa.cli.entry import show_progress
from qa.render import DECLINE


@pytest.fixture
def args(seed_settings):
    return ["--root", str(seed_settings.root), "--index-dir", str(seed_settings.index_dir)]


@pytest.mark.slow
def test_index_is_up_to_date_on_second_run(args, capsys):
    assert main(["index", *args]) == 0
    assert "index is up to date" in capsys.readouterr().out


@pytest.mark.slow
def test_ask_prints_passages_with_citations(args, capsys):
    assert main(["ask", "What is debt bondage?", "-k", "3", *args]) == 0
    out = capsys.readouterr().out
    assert "[1] Human trafficking (score " in out and "    seeds/000_64fa240758fee0c1.txt · words " in out
    assert "original: https://en.wikipedia.org/wiki/Human_trafficking#:~:text=" in out


@pytest.mark.slow
def test_ask_json_has_the_run_format(args, capsys):
    assert main(["ask", "What is debt bondage?", "--json", *args]) == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data) >= {"question", "abstained", "passages"}
    p = data["passages"][0]
    assert set(p) >= {"text", "source", "start", "end", "score", "highlight", "citation", "context_url"}
    assert p["citation"]["label"] == "Human trafficking"


@pytest.mark.slow
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


@pytest.mark.slow
def test_user_mistakes_are_one_line_errors(args, tmp_path, capsys):
    assert main(["ask", "   ", *args]) == 1
    err = capsys.readouterr().err
    assert err.startswith("qa: error: the question is empty") and "Traceback" not in err
    assert main(["ask", "debt", "-k", "0", *args]) == 1
    assert "k must be" in capsys.readouterr().err


@pytest.mark.slow
def test_eval_csv_in_csv_and_report_out(args, tmp_path, capsys):
    questions = tmp_path / "q.csv"
    questions.write_text(
        "id,question,expected,module\n"
        "a,What is debt bondage?,debt bondage,2\n"
        "b,What is the capital of Australia?,,3\n"
        "c,,broken row,4\n",
        encoding="utf-8",
    )
    run, table, report = tmp_path / "run.jsonl", tmp_path / "r.csv", tmp_path / "r.html"
    code = main(
        ["eval", str(questions), "--out", str(run), "--csv", str(table), "--report", str(report), *args]
    )
    assert code == 0
    captured = capsys.readouterr()
    assert "q.csv:4" in captured.err and "questions/s" in captured.out and "hit@1" in captured.out
    rows = [json.loads(line) for line in run.read_text().splitlines()]
    assert [r["id"] for r in rows] == ["a", "b"] and rows[0]["rank"] == 1
    assert rows[0]["fields"] == {"module": "2"}
    meta = json.loads((tmp_path / "run.jsonl.meta.json").read_text())
    assert meta["settings"]["k"] == 5 and meta["index"]["sources"]
    assert meta["metrics"]["hit@1"] == 1.0 and meta["timing"]["questions_per_s"] > 0
    assert meta["index"]["built_at"] and meta["qa_version"]
    header = table.read_text(encoding="utf-8-sig").splitlines()[0]
    assert header.startswith("id,question,expected,outcome,first_correct_rank") and header.endswith("module")
    assert "<svg" in report.read_text()
    # the run is its own baseline: no regression
    assert main(["eval", str(questions), "--compare", str(run), "--quiet", *args]) == 0


@pytest.mark.slow
def test_eval_compare_is_a_regression_gate(args, tmp_path, capsys):
    questions = tmp_path / "q.jsonl"
    questions.write_text(
        json.dumps({"id": "a", "question": "What is debt bondage?", "answer_phrases": ["debt bondage"]})
        + "\n"
        + json.dumps({"id": "b", "question": "What is the Palermo protocol?", "answer_phrases": ["zzz qqq"]})
        + "\n"
    )
    baseline = tmp_path / "base.jsonl"
    assert main(["eval", str(questions), "--out", str(baseline), "--quiet", *args]) == 0
    rows = [json.loads(line) for line in baseline.read_text().splitlines()]
    assert [r["rank"] for r in rows] == [1, None]
    rows[1]["rank"] = 2  # pretend the baseline found b: the new run is worse on it
    baseline.write_text("".join(json.dumps(r) + "\n" for r in rows))
    capsys.readouterr()
    assert main(["eval", str(questions), "--compare", str(baseline), "--quiet", *args]) == 2
    captured = capsys.readouterr()
    assert "b: rank 2 -> no hit" in captured.out and "regression: hit@5 dropped by 0.5" in captured.err
    code = main(["eval", str(questions), "--compare", str(baseline), "--tolerance", "0.5", "--quiet", *args])
    assert code == 0


DEV = Path(__file__).resolve().parents[2] / "shared" / "eval" / "dev.jsonl"
SCORE_PY = DEV.with_name("score.py")


@pytest.mark.slow
@pytest.mark.skipif(not SCORE_PY.exists(), reason="shared/eval is not next to the repository")
def test_dev_set_metrics_equal_score_py(args, seed_settings, tmp_path, capsys):
    run = tmp_path / "run.jsonl"
    assert main(["eval", str(DEV), "--out", str(run), "--quiet", *args]) == 0
    ours = json.loads(run.with_name("run.jsonl.meta.json").read_text())["metrics"]
    done = subprocess.run(
        [sys.executable, str(SCORE_PY), str(DEV), str(run), "--root", str(seed_settings.root), "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    theirs = json.loads(done.stdout)
    assert ours == {key: theirs[key] for key in ours}
    assert theirs["missing"] == 0 and ours["bad_citations"] == 0


@pytest.mark.slow
def test_missing_model_path_is_a_one_line_error(tmp_path, capsys):
    (tmp_path / "seeds").mkdir()
    (tmp_path / "seeds" / "a.txt").write_text("some words to index here", encoding="utf-8")
    assert main(["index", "--root", str(tmp_path), "--model", str(tmp_path / "no-such-model")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("qa: error: model path") and "does not exist" in err and "Traceback" not in err


@pytest.mark.slow
def test_declined_answer_shows_the_evidence_not_confident_scores(args, capsys):
    assert main(["ask", "What is the population of Mars in 2020?", "-k", "2", *args]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{DECLINE} (evidence 0.")
    assert "Closest text in the documents (not an answer):" in out and "score" not in out


def test_serve_on_a_busy_port_is_one_line_and_status_1_before_claiming_to_serve(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "qa.cli", "serve", "--root", str(tmp_path), "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.splitlines() == [
        f"qa: error: cannot serve on http://127.0.0.1:{port}: address already in use; "
        "stop the other server or pick another port with --port or QA_PORT"
    ]
    assert not (tmp_path / "embeddings").exists()


def test_mistyped_option_shows_the_subcommand_usage_and_the_closest_option(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["ask", "What is debt bondage?", "--kk", "2"])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and err.startswith("usage: qa ask ")
    assert err.rstrip().endswith("qa ask: error: unrecognized arguments: --kk 2; did you mean -k?")
    with pytest.raises(SystemExit):
        main(["eval", "q.jsonl", "--reprot", "r.html"])
    assert "usage: qa eval " in (err := capsys.readouterr().err) and "did you mean --report?" in err


def test_outside_a_project_says_where_it_looked_and_leaves_nothing(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["ask", "What is debt bondage?"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"no index in {tmp_path}/embeddings" in err
    assert f"project root: {tmp_path}" in err and "--root" in err and "QA_ROOT" in err
    assert main(["index", "--model", "fake-model"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"documents in {tmp_path}/seeds" in err
    assert "--root" in err and "QA_ROOT" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # no empty embeddings/ left behind
    assert "the folder does not exist" in err  # not "no readable documents" in a folder that is not there
    (tmp_path / "seeds").mkdir()
    assert main(["index", "--model", "fake-model"]) == 1
    assert "no readable documents in" in capsys.readouterr().err


def test_index_and_serve_say_what_they_do_while_the_model_loads(capsys):
    logger = logging.getLogger("qa.embedders.base")
    saved = (logger.level, logger.handlers[:], logger.propagate)
    parent = logging.getLogger("qa.embedders")
    before = (parent.level, parent.handlers[:], parent.propagate)
    try:
        show_progress("serve")
        logger.info("exporting %s to ONNX in %s", "the-model", "embeddings/onnx")
        assert capsys.readouterr().err == "exporting the-model to ONNX in embeddings/onnx ...\n"
    finally:
        logger.setLevel(saved[0])
        parent.setLevel(before[0])
        parent.handlers[:] = before[1]
        parent.propagate = before[2]


def test_eval_warns_when_the_documents_changed_since_the_build(project, fake_embedder, monkeypatch, capsys):
    import qa.embedders.base
    import qa.retrieval.retriever

    for module in (qa.embedders.base, qa.retrieval.retriever):  # the retriever holds its own name
        monkeypatch.setattr(module, "make_embedder", lambda settings: fake_embedder)
    doc = project.seeds_dir / "a.txt"
    doc.write_text(
        "debt bondage is a form of forced labour where a person works to repay a loan", encoding="utf-8"
    )
    questions = project.root / "q.jsonl"
    questions.write_text(
        json.dumps({"id": "a", "question": "What is debt bondage?"}) + "\n", encoding="utf-8"
    )
    cli = ["--root", str(project.root), "--model", "fake-model"]
    assert main(["index", *cli]) == 0
    assert main(["eval", str(questions), "--quiet", *cli]) == 0
    assert "warning: the documents changed" not in capsys.readouterr().err
    doc.write_text("forced labour in agriculture, fishing and construction", encoding="utf-8")
    assert main(["eval", str(questions), "--quiet", *cli]) == 0
    err = capsys.readouterr().err
    assert "warning: the documents changed since the index was built (source changed: seeds/a.txt)" in err
    assert "run `qa index` first" in err


def test_serve_help_says_what_the_key_and_the_rate_limit_cover(capsys):
    """qa serve --help said the key guards 'the JSON API' and the limit counts 'API requests';
    both cover the chat page too (README, Security)."""
    with pytest.raises(SystemExit):
        main(["serve", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "access key the API and the chat page require" in text
    assert "questions per minute per client, API and chat page together" in text


def test_serve_help_names_the_settings_that_have_no_flag(capsys):
    """An operator reading qa serve --help never learnt that the admin page exists (QA_ADMIN_KEY
    has no flag) nor where the other settings are."""
    from qa.config import Settings

    with pytest.raises(SystemExit):
        main(["serve", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for variable in ("QA_ADMIN_KEY", "QA_LOG_QUESTIONS", "QA_PUBLIC_URL", "QA_LTI_DIR", "QA_TRUSTED_PROXIES"):
        assert variable in text
        assert variable[3:].lower() in Settings.__dataclass_fields__  # a real setting
    assert "/admin" in text and "README.md" in text


def test_python_dash_m_qa_runs_the_same_cli_as_qa_cli(tmp_path):
    """``python -m qa`` is the ``qa`` command, as ``python -m qa.cli`` is (help and errors alike)."""

    def run(module: str, *argv: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", module, *argv], capture_output=True, text=True, timeout=120, cwd=tmp_path
        )

    for argv in (["--help"], ["ask", "--help"], ["nonsense"]):
        short, full = run("qa", *argv), run("qa.cli", *argv)
        assert (short.returncode, short.stdout, short.stderr) == (full.returncode, full.stdout, full.stderr)
    assert run("qa", "--help").stdout.startswith("usage: qa ")
    assert run("qa", "nonsense").returncode == 2
