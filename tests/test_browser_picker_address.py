"""The course a learner picks on the chat page stays in the address bar (``?collection=NAME``),
so reloading the page, or sharing its link, opens that course rather than the first one."""

from __future__ import annotations

import pytest

from tests.test_browser_originals import _serving
from tests.test_browser_picker import courses  # noqa: F401 (fixture)

pytestmark = pytest.mark.browser


def test_the_picked_course_survives_a_reload(browser, courses, fake_embedder):  # noqa: F811
    with _serving(courses, fake_embedder) as url:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        try:
            page.goto(url + "/?collection=chem")
            page.wait_for_selector("#collection input")
            page.wait_for_function("document.querySelector('#collection input').value === 'chem'")
            page.click("#collection input")
            page.get_by_role("option", name="Biology 101 (bio-101)").click()
            page.wait_for_function("document.querySelector('#qa-title').innerText.includes('Biology 101')")
            page.wait_for_function("new URL(location.href).searchParams.get('collection') === 'bio-101'")
            page.reload()
            page.wait_for_selector("#qa-title")
            page.wait_for_function("document.querySelector('#qa-title').innerText.includes('Biology 101')")
            page.fill("#question textarea", "How do cells divide?")
            page.press("#question textarea", "Enter")
            page.wait_for_selector("#chat .qa-answer")
            assert "seeds/bio-101/cells.txt" in page.inner_text("#chat .qa-answer")
            page.click("#collection input")
            page.get_by_role("option", name="Course documents").click()
            page.wait_for_function("new URL(location.href).searchParams.get('collection') === null")
        finally:
            page.close()


def test_a_link_to_no_course_says_so_in_words_and_shows_no_markup_from_it(
    browser,
    courses,  # noqa: F811
    fake_embedder,
):
    """/?collection=NAME naming no course: the toast said "there is no collection 'NAME'" and
    rendered the name as HTML, so a link could put its own bold text, images or links there."""
    from urllib.parse import quote

    from qa.index.collections import DEFAULT_TITLE
    from qa.web.ui import UNKNOWN_LINK

    made_up = "<b id='injected'>Session expired</b><a id='phish' href='https://evil.example'>sign in</a>"
    with _serving(courses, fake_embedder) as url:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        try:
            page.goto(url + "/?collection=" + quote(made_up))
            toast = page.locator("[data-testid=toast-text]").first
            toast.wait_for()
            assert toast.inner_text() == UNKNOWN_LINK.format(title="Course documents")
            assert page.locator("#injected, #phish").count() == 0
            # the same name in the heading, the tab and the course picker (it was "Ask the course
            # documents" in the first two, "Course documents" in the third)
            assert page.inner_text("#qa-title h1") == page.title() == DEFAULT_TITLE == "Course documents"
            page.click("#collection input")
            assert page.get_by_role("option", name=DEFAULT_TITLE, exact=True).count() == 1
        finally:
            page.close()
