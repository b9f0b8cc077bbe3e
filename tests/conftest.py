"""Shared fixtures: a fake embedder for fast tests, one real index of the seed per session,
a live server on a free loopback port, and headless Chromium for browser tests."""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from qa.config import DEFAULT_MODEL, Settings
from tests.index_builds import IndexBuilds, set_session_base, share_onnx_export

REPO = Path(__file__).resolve().parents[1]
SEED = REPO / "seeds" / "000_64fa240758fee0c1.txt"
CHROMIUM = os.environ.get("QA_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = REPO / "test-artifacts"


class FakeEmbedder:
    """Deterministic bag-of-words vectors: equal texts give equal vectors, no model needed."""

    def __init__(self, name: str = "fake-model", dimension: int = 64) -> None:
        self.name = name
        self._dimension = dimension
        self.calls = 0
        self.encoded = 0

    @property
    def dimension(self) -> int:
        return self._dimension

    def encode(self, texts):
        self.calls += 1
        self.encoded += len(texts)
        out = np.zeros((len(texts), self._dimension), dtype=np.float32)
        for i, text in enumerate(texts):
            for word in text.lower().split():
                h = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=4).digest(), "little")
                out[i, h % self._dimension] += 1.0
            out[i, 0] += 1e-3
        return out / np.linalg.norm(out, axis=1, keepdims=True)


class ShiftedFake(FakeEmbedder):
    """The fake's vectors moved slightly along one axis: another arithmetic of the same model
    (an int8 or bf16 form) as a test sees it."""

    def __init__(self, axis: int) -> None:
        super().__init__()
        self.axis = axis

    def encode(self, texts):
        out = super().encode(texts)
        out[:, self.axis] += 0.01
        return out / np.linalg.norm(out, axis=1, keepdims=True)


@pytest.fixture(autouse=True)
def _no_qa_environment(monkeypatch):
    """Tests start from the defaults: ``QA_*`` variables of the shell running them are cleared
    (``QA_CHROMIUM``, which only says where the browser is, and ``QA_UPDATE_README``, which asks
    tests/test_readme.py to rewrite its sample, stay)."""
    kept = ("QA_CHROMIUM", "QA_UPDATE_README")
    for name in [n for n in os.environ if n.startswith("QA_") and n not in kept]:
        monkeypatch.delenv(name)


@pytest.fixture
def fake_embedder() -> FakeEmbedder:
    return FakeEmbedder()


@pytest.fixture
def project(tmp_path: Path) -> Settings:
    """An empty project in a temp dir: seeds/ and embeddings/ inside it; fast fake-model tests."""
    (tmp_path / "seeds").mkdir()
    return Settings(root=tmp_path, model="fake-model")


@pytest.fixture(scope="session")
def real_embedder():
    """The real model (sentence-transformers), loaded once per test session for the builds."""
    from qa.embedders.base import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder(Settings().model)


@pytest.fixture(scope="session")
def index_builds(tmp_path_factory, real_embedder):
    """Real indexes built once per session per corpus and settings (``tests/index_builds.py``):
    ``index_builds.build(files)`` to read, ``index_builds.copy(files, root)`` to change."""
    return IndexBuilds(tmp_path_factory.mktemp("builds"), real_embedder)


@pytest.fixture(scope="session")
def seed_settings(tmp_path_factory, real_embedder) -> Settings:
    """Settings over the real seeds/ with the index in a session temp dir (built once)."""
    from qa.index.build import ensure_index

    settings = Settings(root=REPO, index_dir=tmp_path_factory.mktemp("index") / "embeddings")
    ensure_index(settings, real_embedder)
    return settings


@pytest.fixture(scope="session")
def retriever(seed_settings):
    """The real retriever over the seed, model loaded once per test session."""
    from qa.retrieval.retriever import Retriever

    r = Retriever.open(seed_settings)
    r.warm_up()
    return r


def load_benchmark(monkeypatch, name: str):
    """The module ``benchmarks/<name>.py``, loaded as its own script would be (its folder on the path)."""
    import importlib.util

    folder = REPO / "benchmarks"
    monkeypatch.syspath_prepend(str(folder))
    spec = importlib.util.spec_from_file_location(f"bench_{name}", folder / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def resident_bytes(path: Path) -> int:
    """Resident bytes of this process's mappings of ``path`` (from /proc/self/smaps)."""
    target, total, inside = str(path.resolve()), 0, False
    with open("/proc/self/smaps", encoding="utf-8") as f:
        for line in f:
            fields = line.split()
            if "-" in fields[0] and len(fields) >= 5 and ":" in fields[3]:
                inside = len(fields) == 6 and fields[5] == target
            elif inside and fields[0] == "Rss:":
                total += int(fields[1]) * 1024
    return total


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session", autouse=True)
def _session_base(tmp_path_factory) -> None:
    """Where :func:`share_onnx_export` keeps the session's export."""
    set_session_base(tmp_path_factory.getbasetemp())


def start_server(
    settings: Settings, tmp: Path, *, port: int | None = None, **env: str
) -> tuple[subprocess.Popen, str]:
    """Run ``app.py`` on ``port`` (a free loopback port by default) over ``settings``' index; wait
    until it answers. The server finds the session's ONNX export in the index folder
    (:func:`share_onnx_export`) when ``env`` leaves it the default backend and model."""
    import httpx

    if env.get("QA_BACKEND", "onnx") == "onnx" and "QA_MODEL" not in env:
        share_onnx_export(settings.index_dir, DEFAULT_MODEL)
    port = port or free_port()
    environ = {
        **os.environ,
        "QA_INDEX_DIR": str(settings.index_dir),
        "QA_FEEDBACK_PATH": str(tmp / "feedback.jsonl"),
        "QA_PORT": str(port),
        "QA_HOST": "127.0.0.1",
        **env,
    }
    log = open(tmp / f"server-{port}.log", "w")
    proc = subprocess.Popen(
        [sys.executable, str(REPO / "app.py")], cwd=REPO, env=environ, stdout=log, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {(tmp / f'server-{port}.log').read_text()[-2000:]}")
        try:
            if httpx.get(url + "/api/v1/health", timeout=2).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    proc.kill()
    raise RuntimeError("server did not start within 180 s")


def run_coroutine(coroutine):
    """Run ``coroutine`` to the end on its own thread and return its result: an earlier test
    (Playwright's sync API) may leave an event loop running on this one, where ``asyncio.run``
    refuses to start."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def stop_server(proc, timeout: float = 10) -> None:
    """Stop a server :func:`start_server` started: terminate, then kill if it lingers (and reap
    it either way)."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=timeout)


@pytest.fixture(scope="session")
def live_server(seed_settings, tmp_path_factory):
    """The app running on a free loopback port: yields (base_url, feedback_path)."""
    tmp = tmp_path_factory.mktemp("server")
    proc, url = start_server(seed_settings, tmp)
    yield url, tmp / "feedback.jsonl"
    stop_server(proc)


def _chromium_missing_reason() -> str | None:
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        return f"Chromium not found at {CHROMIUM} (apt-get install chromium)"
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install -e '.[browser]')"
    return None


@pytest.fixture(scope="session")
def browser():
    """Headless Debian Chromium through Playwright; skipped locally if missing, fails under CI."""
    reason = _chromium_missing_reason()
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(f"browser tests must run in CI: {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium"),
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield b
        b.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="module")
def lite_server(tmp_path_factory):
    """``milvus-lite server`` on loopback for one test module, reached by URL (the gRPC path a
    Milvus cluster uses); stopped when the module's tests are done."""
    from milvus_servers import start_lite_server, stop

    process, url = start_lite_server(tmp_path_factory.mktemp("milvus-server"))
    yield url
    stop(process)


def regex_word_spans(text: str) -> list[tuple[int, int]]:
    """Words as a plain loop finds them: runs of ``\\S+``, split before each Chinese or Japanese
    letter and before the first other non-punctuation character after one or its punctuation."""
    import re

    from qa.ingest.chunking import _CJK_PUNCTUATION
    from qa.ingest.normalize import CJK_LETTERS

    letter = re.compile(f"[{CJK_LETTERS}]")
    spans = []
    for m in re.finditer(r"\S+", text):
        start = m.start()
        for i in range(m.start() + 1, m.end()):
            here, before = text[i], text[i - 1]
            after_unspaced = letter.match(before) or _CJK_PUNCTUATION.match(before)
            if letter.match(here) or (after_unspaced and not _CJK_PUNCTUATION.match(here)):
                spans.append((start, i))
                start = i
        spans.append((start, m.end()))
    return spans
