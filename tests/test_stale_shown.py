"""A passage whose file changed on disk since it was indexed says so where learners read it (the
chat page and the widget), as the API's ``stale`` does: the quote is what was indexed, the
original may now differ."""

from __future__ import annotations

import pytest

from qa.answer import Answer, Citation, Passage, Span
from qa.render import STALE
from qa.web.chat_render import render_answer
from tests.test_browser_originals import _serving


def _answer() -> Answer:
    citation = Citation("seeds/a.txt", "A", "", 0, 22, 0, 4, 4)
    other = Citation("seeds/b.txt", "B", "", 0, 22, 0, 4, 4)
    passages = (
        Passage("alpha beta gamma delta", citation, 0.9, Span(6, 16)),
        Passage("alpha beta gamma delta", other, 0.8, Span(6, 16)),
    )
    return Answer("q", passages, False, 0.7, query="q")


def test_stale_sources_are_marked_in_the_chat_html():
    assert STALE not in render_answer(_answer())
    html = render_answer(_answer(), stale={"seeds/b.txt"})
    assert html.count(STALE) == 1 and html.index(STALE) > html.index("seeds/b.txt")


def test_the_widget_says_it_in_the_same_words():
    from tests.test_render import STATIC

    assert f'var STALE = "{STALE}";' in (STATIC / "widget.js").read_text(encoding="utf-8")


@pytest.mark.browser
def test_chat_and_widget_say_a_changed_file_changed(browser, project, fake_embedder):
    doc = project.seeds_dir / "rules.txt"
    doc.write_text("Borrowed books go back to the front desk within three weeks. " * 5, encoding="utf-8")
    with _serving(project, fake_embedder) as url:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        try:
            page.goto(url + "/")
            for n, question in enumerate(["When do borrowed books go back?", "Where do books go back?"]):
                if n == 1:
                    doc.write_text("The rules changed: books go back within two weeks.", encoding="utf-8")
                page.fill("#question textarea", question)
                page.press("#question textarea", "Enter")
                page.wait_for_function(f"document.querySelectorAll('#chat .qa-answer').length > {n}")
            answers = page.locator("#chat .qa-answer")
            assert STALE not in answers.nth(0).inner_text() and STALE in answers.nth(1).inner_text()
            page.goto(url + "/embed")
            page.fill("[data-qa-widget] input", "Where do books go back?")
            page.press("[data-qa-widget] input", "Enter")
            page.wait_for_selector("[data-qa-widget] [data-role=passage]")
            assert STALE in page.inner_text("[data-qa-widget] [data-role=passage] >> nth=0")
        finally:
            page.close()
