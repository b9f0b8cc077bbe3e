"""What a learner sees when a citation of a Word file or a Markdown file is opened: the document
as a page, its headings as headings, the cited passage shaded and its sentence marked, scrolled
into view, with a link to download the original (from the chat page and from the widget)."""

from __future__ import annotations

import pytest

from qa.render import IN_DOCUMENT
from tests.test_browser_originals import _serving

pytestmark = pytest.mark.browser

ANSWER = "Borrowed books go back to the front desk within three weeks of the loan date."
FILLER = "The reading room is quiet and the chairs are comfortable for long afternoons."


def _word(path) -> None:
    import docx

    document = docx.Document()
    document.core_properties.title = "Library handbook"
    for chapter in range(1, 7):
        document.add_heading(f"Chapter {chapter}", level=1)
        for _ in range(12):
            document.add_paragraph(FILLER)
        if chapter == 5:
            document.add_heading("Returning books", level=2)
            document.add_paragraph(ANSWER)
    document.save(path)


def _check_opened(page, artifacts, name: str) -> None:
    from playwright.sync_api import expect

    page.wait_for_load_state()
    mark = page.locator("#cited mark")
    expect(mark).to_be_visible()
    expect(mark).to_contain_text("front desk")
    assert page.evaluate("window.scrollY") > 500  # scrolled down to the passage
    box = mark.bounding_box()
    assert box is not None and 0 <= box["y"] < page.viewport_size["height"]  # in view on open
    expect(
        page.locator("h2", has_text="Returning books").or_(page.locator("h3", has_text="Returning books"))
    ).to_have_count(1)
    expect(page.locator("a.download")).to_contain_text("Download the original")
    page.screenshot(path=str(artifacts / f"document-page-{name}.png"))


def test_a_word_citation_opens_the_document_page_at_the_passage(browser, project, fake_embedder, artifacts):
    _word(project.seeds_dir / "library.docx")
    with _serving(project, fake_embedder) as url:
        context = browser.new_context(viewport={"width": 1100, "height": 800})
        page = context.new_page()
        try:
            page.goto(url + "/")
            page.fill("#question textarea", "When do borrowed books go back to the front desk?")
            page.press("#question textarea", "Enter")
            page.wait_for_selector("#chat .qa-answer")
            link = page.locator(f"#chat .qa-answer a:has-text('{IN_DOCUMENT} ↗')").first
            assert "/context/seeds/library.docx?" in link.get_attribute("href")
            with context.expect_page() as opened:
                link.click()
            document = opened.value
            _check_opened(document, artifacts, "docx-chat")
            with document.expect_download() as download:
                document.click("a.download")
            assert download.value.suggested_filename == "library.docx"
        finally:
            context.close()


def test_a_markdown_citation_opens_the_document_page_from_the_widget(
    browser, project, fake_embedder, artifacts
):
    chapters = "".join(f"## Chapter {i}\n\n" + (FILLER + "\n\n") * 12 for i in range(1, 6))
    text = f"# Library handbook\n\n{chapters}### Returning books\n\n**{ANSWER}**\n\n" + (FILLER + "\n\n") * 20
    (project.seeds_dir / "library.md").write_text(text, encoding="utf-8")
    (project.seeds_dir / "arabic.md").write_text(ARABIC, encoding="utf-8")
    with _serving(project, fake_embedder) as url:
        context = browser.new_context(viewport={"width": 1100, "height": 800})
        page = context.new_page()
        try:
            page.goto(url + "/embed")
            widget = page.locator("[data-qa-widget]")
            widget.locator("input").fill("When do borrowed books go back to the front desk?")
            widget.locator("input").press("Enter")
            link = widget.locator("[data-role=answer] a[data-role=in-document]").first
            link.wait_for()
            assert link.text_content() == f"{IN_DOCUMENT} ↗"
            assert (
                widget.locator("[data-role=answer] a[data-role=original]").count() == 0
            )  # one link, not two
            with context.expect_page() as opened:
                link.click()
            document = opened.value
            _check_opened(document, artifacts, "md-widget")
            assert "**" not in document.locator("main").inner_text()
            _check_right_to_left(page, widget, document, url, artifacts)
        finally:
            context.close()


ARABIC = "# التمثيل الضوئي\n\nالكلوروفيل هو الصبغة الخضراء.\n"
"""A short Arabic document: every line of it fits one line of the widget, the chat and its page."""

_GAPS = """el => { const r = document.createRange(); r.selectNodeContents(el);
  const t = r.getBoundingClientRect(), b = el.getBoundingClientRect();
  return [t.left - b.left, b.right - t.right]; }"""
"""The space left of an element's text and right of it: a right-to-left text sits at the right."""


def _reads_right_to_left(locator) -> None:
    left, right = locator.evaluate(_GAPS)
    assert left > right + 50, (left, right)


def _check_right_to_left(page, widget, document, url, artifacts) -> None:
    """Arabic passages read right to left (aligned right, the full stop at the left end) in the
    widget, on the chat page and on the document's page, though those pages are in English."""
    from playwright.sync_api import expect

    question = "ما هو الكلوروفيل؟"
    answers = widget.locator("[data-role=answer]")
    before = answers.count()
    widget.locator("input").fill(question)
    widget.locator("input").press("Enter")
    expect(answers).to_have_count(before + 1)
    passage = answers.last.locator(".text").first
    passage.wait_for()
    assert "الكلوروفيل" in passage.inner_text()
    _reads_right_to_left(passage)
    # the citation's number stays before its title: "[1] التمثيل الضوئي", not "التمثيل الضوئي [1]"
    number, title = (
        widget.locator("[data-role=answer]")
        .last.locator(".cite strong")
        .first.evaluate(
            """s => { const r = document.createRange(); r.selectNodeContents(s.firstChild);
        return [r.getBoundingClientRect().left, s.querySelector('.label').getBoundingClientRect().left]; }"""
        )
    )
    assert number < title
    page.goto(url + "/")
    page.fill("#question textarea", question)
    page.press("#question textarea", "Enter")
    text = page.locator("#chat .qa-answer .qa-text").first
    text.wait_for()
    assert "الكلوروفيل" in text.inner_text()
    _reads_right_to_left(text)
    page.screenshot(path=str(artifacts / "chat-arabic.png"))
    document.goto(url + "/context/seeds/arabic.md")
    _reads_right_to_left(document.locator("main p", has_text="الكلوروفيل"))
    _reads_right_to_left(document.locator("main h1, main h2").first)
    document.screenshot(path=str(artifacts / "document-page-arabic.png"))
