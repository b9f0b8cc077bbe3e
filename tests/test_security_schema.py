"""Schemathesis against ``/openapi.json`` with every check: what the API answers, the guard's
refusals included, is what the schema says. A bounded run (a few hundred cases) on loopback,
over a small project with the fake embedder."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_security import corpus, make_app, served  # noqa: F401 - corpus is a fixture

pytest.importorskip("schemathesis")

CONFIG = Path(__file__).with_name("schemathesis.toml")
EXAMPLES = 60


def test_schemathesis_all_checks_pass(corpus, tmp_path):  # noqa: F811 - the fixture
    settings = corpus.replace(rate_limit=1_000_000)
    schemathesis = Path(sys.executable).with_name("schemathesis")
    command = [str(schemathesis)] if schemathesis.exists() else [sys.executable, "-m", "schemathesis.cli"]
    with served(make_app(settings), settings) as (url, _):
        run = subprocess.run(
            [
                *command,
                "--config-file",
                str(CONFIG),
                "--no-color",
                "run",
                f"{url}/openapi.json",
                "--checks",
                "all",
                "--max-examples",
                str(EXAMPLES),
                "--seed",
                "14",
                "--generation-database",
                "none",
                "--workers",
                "1",
                "--request-timeout",
                "30",
            ],
            capture_output=True,
            text=True,
            timeout=600,
            cwd=tmp_path,  # schemathesis keeps a cache in the working folder
        )
    summary = run.stdout[run.stdout.rfind("SUMMARY") :]
    print(summary)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    cases = re.search(r"(\d+) generated, (\d+) passed", summary)
    assert cases and int(cases.group(1)) >= 100 and cases.group(1) == cases.group(2), summary
