"""The chat page's course picker names each collection by its title, as learners know it, not
by its slug ("default", "bio-101"); picking one asks that collection."""

from __future__ import annotations

import pytest

from qa.index.build import ensure_index
from qa.index.collections import CollectionConfig, collection_settings, create_collection, save_document
from qa.web.chat import NO_DOCUMENTS
from qa.web.ui import _picker_choices
from tests.conftest import ARTIFACTS
from tests.test_browser_originals import _serving


@pytest.fixture
def courses(project, fake_embedder):
    (project.seeds_dir / "guide.txt").write_text("The library opens at nine. " * 30, encoding="utf-8")
    create_collection(project, "bio-101", CollectionConfig(title="Biology 101"))
    save_document(project, "bio-101", "cells.txt", b"Cells divide by mitosis. " * 30)
    ensure_index(collection_settings(project, "bio-101"), fake_embedder)
    create_collection(project, "bio-102", CollectionConfig(title="Biology 101"))
    create_collection(project, "chem", CollectionConfig())
    return project


def test_picker_entries_are_titles_with_names_as_values(courses):
    names = ["default", "bio-101", "bio-102", "chem"]
    assert _picker_choices(courses, names) == [
        ("Course documents", "default"),
        ("Biology 101 (bio-101)", "bio-101"),  # two courses with one title: the name tells them apart
        ("Biology 101 (bio-102)", "bio-102"),
        ("chem", "chem"),
    ]


@pytest.mark.browser
def test_the_picker_shows_titles_and_switches_course(browser, courses, fake_embedder):
    with _serving(courses, fake_embedder) as url:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        try:
            page.goto(url + "/")
            page.wait_for_selector("#collection input")
            page.wait_for_function("document.querySelector('#collection input').value === 'Course documents'")
            page.click("#collection input")
            options = page.locator("ul[role=listbox] li")
            options.first.wait_for()
            shown = [options.nth(i).inner_text().replace("✓", "").strip() for i in range(options.count())]
            assert shown == ["Course documents", "Biology 101 (bio-101)", "Biology 101 (bio-102)", "chem"]
            assert "default" not in shown
            page.get_by_role("option", name="Biology 101 (bio-101)").click()
            page.wait_for_function("document.querySelector('#qa-title').innerText.includes('Biology 101')")
            page.fill("#question textarea", "How do cells divide?")
            page.press("#question textarea", "Enter")
            page.wait_for_selector("#chat .qa-answer")
            assert "seeds/bio-101/cells.txt" in page.inner_text("#chat .qa-answer")
            assert page.inner_text("#qa-notice").strip() == ""
            # a course without documents says so when it opens, not only once a question is asked
            page.click("#collection input")
            page.get_by_role("option", name="chem").click()
            page.wait_for_function(
                "document.querySelector('#qa-notice').innerText.includes('This course has no documents')"
            )
            assert page.inner_text("#qa-notice").strip() == NO_DOCUMENTS
        finally:
            page.close()


@pytest.mark.browser
def test_switching_course_keeps_each_course_conversation(browser, courses, fake_embedder):
    """Picking another course loses no conversation: a toast says it is kept, and picking the
    course again brings it back (each course has its own)."""

    def pick(page, title: str) -> None:
        page.click("#collection input")
        page.get_by_role("option", name=title).click()
        page.wait_for_function("(t) => document.querySelector('#collection input').value === t", arg=title)

    def ask(page, question: str) -> None:
        answers = page.locator("#chat .qa-answer").count()
        page.fill("#question textarea", question)
        page.press("#question textarea", "Enter")
        page.wait_for_function("(n) => document.querySelectorAll('#chat .qa-answer').length > n", arg=answers)

    def shows(page, text: str) -> None:
        page.wait_for_function("(t) => document.querySelector('#chat').innerText.includes(t)", arg=text)

    def toast(page, text: str) -> None:
        page.locator("[data-testid=toast-text]", has_text=text).first.wait_for()

    with _serving(courses, fake_embedder) as url:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        try:
            page.goto(url + "/")
            page.wait_for_selector("#collection input")
            page.wait_for_function("document.querySelector('#collection input').value === 'Course documents'")
            ask(page, "When does the library open?")
            assert "seeds/guide.txt" in page.inner_text("#chat")
            pick(page, "Biology 101 (bio-101)")
            page.wait_for_function("!document.querySelector('#chat .qa-answer')")
            toast(
                page,
                "Your conversation in “Course documents” is kept: pick that course again to go back to it.",
            )
            ask(page, "How do cells divide?")
            assert "When does the library open?" not in page.inner_text("#chat")
            pick(page, "Course documents")
            shows(page, "When does the library open?")
            chat = page.inner_text("#chat")
            assert "seeds/guide.txt" in chat and "How do cells divide?" not in chat
            assert page.locator("#chat .qa-answer").count() == 1
            toast(page, "Your conversation in “Biology 101 (bio-101)” is kept")
            page.screenshot(path=str(ARTIFACTS / "picker-kept-conversation.png"))
            pick(page, "Biology 101 (bio-101)")
            shows(page, "How do cells divide?")
            assert "seeds/bio-101/cells.txt" in page.inner_text("#chat")
            assert "When does the library open?" not in page.inner_text("#chat")
        finally:
            page.close()


@pytest.mark.browser
def test_the_pickers_list_closes_when_tab_leaves_it(browser, courses, fake_embedder):
    """Tab from the open picker goes to the question box with the list closed, not left open
    over the conversation; the keyboard still opens the list."""

    def tab_leaves_it_closed(page) -> None:
        page.keyboard.press("Tab")
        page.wait_for_function("document.activeElement.matches('#question textarea')")
        page.wait_for_function("!document.querySelector('ul[role=listbox]')")
        page.wait_for_timeout(300)  # the dropdown's key handler runs a tick after the blur
        assert page.locator("ul[role=listbox]").count() == 0
        assert page.get_attribute("#collection input", "aria-expanded") == "false"

    with _serving(courses, fake_embedder) as url:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        try:
            page.goto(url + "/")
            page.wait_for_selector("#collection input")
            page.wait_for_function("document.querySelector('#collection input').value === 'Course documents'")
            page.click("#collection input")
            page.locator("ul[role=listbox]").wait_for()
            tab_leaves_it_closed(page)
            page.keyboard.press("Shift+Tab")
            page.wait_for_function("document.activeElement.matches('#collection input')")
            page.keyboard.press("ArrowDown")
            page.locator("ul[role=listbox]").wait_for()
            tab_leaves_it_closed(page)
        finally:
            page.close()
