"""A PDF citation's link opens the original at its page: the API gives ``#page=N``, the app serves
the file as application/pdf, and Chromium lands on that URL (its PDF viewer reads the fragment).
A slide's speaker notes and a Word footnote read well in the highlighted view."""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager

import httpx
import pytest

from tests.conftest import FakeEmbedder, free_port
from tests.office_files import make_slides, make_word
from tests.test_formats import make_pdf

pytestmark = pytest.mark.browser


@contextmanager
def _serving(project, fake_embedder, **changes):
    """The chat app over the project's seeds (lexical search, fake model) on a free port;
    ``changes`` to its settings (``api_key=...``)."""
    import uvicorn

    from qa.index.build import ensure_index
    from qa.retrieval.retriever import Retriever
    from qa.web.server import create_app

    settings = project.replace(mode="lexical", port=free_port(), **changes)
    retriever = Retriever(ensure_index(settings, fake_embedder).index, FakeEmbedder(), settings)
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings, retriever), host="127.0.0.1", port=settings.port, log_level="error"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{settings.port}"
    deadline = time.monotonic() + 60
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.1)
    try:
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def pdf_server(project, fake_embedder):
    make_pdf(project.seeds_dir / "manual.pdf")
    (project.seeds_dir / "other.txt").write_text("Unrelated notes about cooking pasta.", encoding="utf-8")
    with _serving(project, fake_embedder) as url:
        yield url


@pytest.fixture
def office_server(project, fake_embedder):
    make_slides(project.seeds_dir / "lesson.pptx")
    make_word(project.seeds_dir / "policy.docx")
    with _serving(project, fake_embedder) as url:
        yield url


def test_pdf_citation_link_opens_the_page(pdf_server, browser, artifacts):
    from playwright.sync_api import expect

    answer = httpx.post(pdf_server + "/api/v1/ask", json={"question": "How do pools limit linking jobs?"})
    citation = answer.json()["passages"][0]["citation"]
    assert (citation["source"], citation["page"]) == ("seeds/manual.pdf", 3)
    assert citation["section"] == "Advanced use \u203a Pools"
    assert citation["original_url"] == "/originals/seeds/manual.pdf#page=3"
    page = browser.new_page()
    try:
        page.goto(pdf_server + "/api/v1/health")
        page.set_content(f'<a id="open" href="{pdf_server}{citation["original_url"]}">p. 3 · Pools</a>')
        with page.expect_response(lambda r: "/originals/" in r.url) as served:
            page.click("#open")
        response = served.value
        assert response.status == 200 and response.headers["content-type"] == "application/pdf"
        assert page.url == pdf_server + "/originals/seeds/manual.pdf#page=3"
        viewer = _pdf_viewer(page)
        if viewer is not None:  # Chromium's viewer, when it renders headless, shows page 3 of 3
            expect(viewer.locator("#pageSelector")).to_have_value("3", timeout=20_000)
        page.screenshot(path=str(artifacts / "pdf-original-at-page.png"))
    finally:
        page.close()


def _pdf_viewer(page, timeout: float = 20.0):
    """The frame of Chromium's built-in PDF viewer, or None if it does not appear."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for frame in page.frames:
            if frame.url.startswith("chrome-extension://"):
                return frame
        page.wait_for_timeout(250)
    return None


def test_chat_answer_cites_the_pdf_page_and_section(pdf_server, browser, artifacts):
    """On the chat page, an answer from a PDF names its page and heading path, and its link to the
    original opens the PDF at that page."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        page.goto(pdf_server + "/")
        page.wait_for_selector("#question textarea")
        page.fill("#question textarea", "How do pools limit linking jobs?")
        page.press("#question textarea", "Enter")
        page.wait_for_function("document.querySelectorAll('#chat .qa-answer').length > 0")
        answer = page.locator("#chat .qa-answer").last
        text = answer.inner_text()
        assert "p. 3" in text and "Advanced use \u203a Pools" in text
        link = answer.locator('a[href*="/originals/seeds/manual.pdf#page=3"]').first
        assert link.count() == 1
        page.screenshot(path=str(artifacts / "chat-pdf-citation.png"))
    finally:
        context.close()


NOTE = "Ask the class why ninja refuses a cycle."


@pytest.mark.parametrize(
    ("question", "label", "lines", "marked", "shot"),
    [
        (
            "Why does ninja refuse a cycle? Ask the class",
            "lesson \u00b7 slide 1 \u00b7 Dependency graphs \u203a Notes",  # slide 1: no title slide
            ["Each edge joins an input to an output file.", "Notes", NOTE],
            NOTE,
            "chat-slide-notes.png",
        ),
        (
            "When does online enrolment open in August?",
            "Course policy 2026 \u00b7 1. Enrolment",
            [
                "Students enrol online through the student portal before week one.",
                "Footnote 1: Online enrolment opens in August.",
            ],
            "Online enrolment opens in August.",
            "chat-word-footnote.png",
        ),
    ],
    ids=["slide-notes", "word-footnote"],
)
def test_slide_notes_and_a_word_footnote_read_well_in_context(
    office_server, browser, artifacts, question, label, lines, marked, shot
):
    """The citation names the slide and its "Notes" section (or the footnote's section); the
    passage and its context show the notes (or footnote) as lines of their own, the answer marked."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        page.goto(office_server + "/")
        page.wait_for_selector("#question textarea")
        page.fill("#question textarea", question)
        page.press("#question textarea", "Enter")
        page.wait_for_function("document.querySelectorAll('#chat .qa-answer').length > 0")
        answer = page.locator("#chat .qa-answer").last
        cite = answer.locator(".qa-cite").first.inner_text()
        assert label in cite, cite
        passage = answer.locator(".qa-passage .qa-text").first
        shown = passage.inner_text().split("\n")
        assert all(line in shown for line in lines), shown
        assert marked in passage.locator("mark").inner_text()
        answer.locator(".qa-fold[open] .qa-context summary").first.click()
        window = answer.locator(".qa-context .qa-window").first
        window.wait_for()
        assert marked in window.locator(".qa-in mark").inner_text()
        assert all(line in window.inner_text().split("\n") for line in lines)
        window.scroll_into_view_if_needed()
        page.screenshot(path=str(artifacts / shot))
    finally:
        context.close()
