"""What a learner sees opening *in the document* from a declined answer: the closest text shaded
and called the closest text, nothing marked as if it were the answer's key sentence (the chat
page shows it unmarked too)."""

from __future__ import annotations

import contextlib
import threading
import time

import pytest

from qa.render import CLOSEST, IN_DOCUMENT
from tests.conftest import FakeEmbedder, free_port
from tests.test_browser_document_page import FILLER, _word

pytestmark = pytest.mark.browser


@contextlib.contextmanager
def _declining(project, fake_embedder):
    """The chat app over the project's seeds (fake model), declining every question."""
    import uvicorn

    from qa.index.build import ensure_index
    from qa.retrieval.retriever import Retriever
    from qa.web.server import create_app

    settings = project.replace(abstain_threshold=1.0, port=free_port())
    retriever = Retriever(ensure_index(settings, fake_embedder).index, FakeEmbedder(), settings)
    app = create_app(settings, retriever)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=settings.port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.1)
    try:
        yield f"http://127.0.0.1:{settings.port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_a_declined_answers_document_page_marks_nothing(browser, project, fake_embedder, artifacts):
    from playwright.sync_api import expect

    _word(project.seeds_dir / "library.docx")
    with _declining(project, fake_embedder) as url:
        context = browser.new_context(viewport={"width": 1100, "height": 800})
        page = context.new_page()
        try:
            page.goto(url + "/")
            page.fill("#question textarea", "When do borrowed books go back to the front desk?")
            page.press("#question textarea", "Enter")
            page.wait_for_selector("#chat .qa-answer .qa-closest-label")
            assert CLOSEST in page.locator("#chat .qa-answer").inner_text()
            page.locator("#chat .qa-answer summary").first.click()  # the closest text is folded
            link = page.locator(f"#chat .qa-answer a:has-text('{IN_DOCUMENT} ↗')").first
            assert "closest=1" in link.get_attribute("href") and "hs=" not in link.get_attribute("href")
            with context.expect_page() as opened:
                link.click()
            document = opened.value
            document.wait_for_load_state()
            expect(document.locator("#cited")).to_be_visible()
            legend = document.locator("p.legend").inner_text()
            assert legend.startswith("The text closest to your question is shaded") and "cited" not in legend
            assert document.locator("main mark").count() == 0
            assert FILLER in document.locator("main").inner_text()
            document.screenshot(path=str(artifacts / "document-page-closest.png"))
        finally:
            context.close()
