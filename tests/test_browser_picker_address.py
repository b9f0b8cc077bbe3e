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
