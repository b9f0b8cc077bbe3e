"""The README's examples work: its sample output is a real run, its commands and snippets run.

``QA_UPDATE_README=1 python -m pytest tests/test_readme.py`` rewrites the sample ``qa ask``
output from a real run (after retrieval changes), instead of failing on it.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess

import pytest

from qa.cli import main
from qa.cli.entry import build_parser
from tests.conftest import REPO

README = REPO / "README.md"
SAMPLE = re.compile(r"<!-- qa-ask-sample -->\n```text\n\$ (qa ask [^\n]+)\n(.*?)```", re.DOTALL)
FENCE = re.compile(r"```(\w+)\n(.*?)```", re.DOTALL)
DEFAULT_URL = "http://127.0.0.1:7860"
COMMANDS = ("index", "ask", "eval", "compare", "feedback", "serve", "export", "lti")


def _readme() -> str:
    return README.read_text(encoding="utf-8")


def _blocks(language: str) -> list[str]:
    return [body for lang, body in FENCE.findall(_readme()) if lang == language]


def _commands(language: str) -> list[str]:
    """Shell commands of the README's ``language`` blocks, continuation lines joined."""
    out = []
    for body in _blocks(language):
        for command in body.replace("\\\n", " ").splitlines():
            command = command.split("  #")[0].strip()
            if command and not command.startswith("#"):
                out.append(command)
    return out


def _options_of(path: list[str]) -> set[str]:
    """Option strings of ``qa PATH...`` (e.g. ``["feedback", "export"]``)."""
    parser = build_parser()
    for name in path:
        sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
        parser = sub.choices[name]
    return {s for action in parser._actions for s in action.option_strings}


@pytest.mark.slow
def test_the_qa_ask_sample_is_the_output_of_a_real_run(seed_settings, capsys):
    text = _readme()
    match = SAMPLE.search(text)
    assert match, "README: the qa ask sample block is missing"
    argv = shlex.split(match.group(1))[1:]
    assert main([*argv, "--root", str(seed_settings.root), "--index-dir", str(seed_settings.index_dir)]) == 0
    out = capsys.readouterr().out
    if os.environ.get("QA_UPDATE_README"):
        start, end = match.span(2)
        README.write_text(text[:start] + out + text[end:], encoding="utf-8")
        return
    assert match.group(2) == out, "README's qa ask sample differs; rerun with QA_UPDATE_README=1"


def test_every_option_the_readme_shows_exists():
    lines = [line for body in _blocks("text") for line in body.splitlines() if line.startswith("qa ")]
    lines += [c for c in _commands("bash") if c.startswith("qa ")]
    assert len(lines) >= 8
    for line in lines:
        words = [w.strip("[]") for w in line.split("  ")[0].split()]
        path = [w for w in words[1:3] if w in COMMANDS]
        options = _options_of(path)
        for word in words:
            if word.startswith("-"):
                assert word.split("=")[0] in options, f"README: `{line}` shows {word}, which qa {path} lacks"


def test_readme_commands_parse_and_its_files_exist():
    parser = build_parser()
    for command in _commands("bash"):
        words = shlex.split(command)
        if words[0] == "qa":
            _, extras = parser.parse_known_args(words[1:])
            assert not extras, f"README: `{command}` has options qa does not know: {extras}"
        for word in words:
            if word.startswith("benchmarks/") or word == "app.py":
                assert (REPO / word).exists(), f"README: `{command}` names {word}, which does not exist"
    assert "shared/eval" not in _readme(), "a clone has no shared/eval"
    assert "pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu" in _readme()


@pytest.mark.slow
def test_readme_curl_examples_run(live_server):
    url, _ = live_server
    curls = [c for c in _commands("bash") if c.startswith("curl ")]
    assert len(curls) >= 4
    for command in curls:
        done = subprocess.run(
            ["bash", "-c", command.replace(DEFAULT_URL, url)],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "QA_API_KEY": "unused-here"},
        )
        assert done.returncode == 0, f"README: `{command}` failed: {done.stderr}"
        data = json.loads(done.stdout)
        assert "error" not in data, f"README: `{command}` answered {data}"
        if "/ask" in command:
            assert data["passages"] and {"text", "source", "citation"} <= set(data["passages"][0])


@pytest.mark.slow
def test_readme_gradio_client_snippet_runs(live_server, capsys):
    url, _ = live_server
    snippets = [b for b in _blocks("python") if "gradio_client" in b]
    assert len(snippets) == 1
    scope: dict = {}
    exec(snippets[0].replace(DEFAULT_URL, url), scope)  # the snippet as a reader would paste it
    assert scope["notice"] == "" and scope["box"] == "" and scope["chat"][-1]["role"] == "assistant"
    printed = capsys.readouterr().out.strip().splitlines()[-1]  # after gradio_client's "Loaded as API"
    assert printed.startswith("<div class='qa-answer'>") and len(printed) == 60  # the HTML, cut as asked
