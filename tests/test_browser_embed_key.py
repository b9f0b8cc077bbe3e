"""The embed page (``/embed``) as a learner sees it: the collection's own title, and with
``QA_API_KEY`` set (an iframe cannot send the key) a message saying what is wrong and who can
fix it, instead of the API's "Authorization: Bearer <key>"."""

from __future__ import annotations

import pytest

from qa.index.build import ensure_index
from qa.index.collections import CollectionConfig, collection_settings, create_collection, save_document
from tests.test_browser_originals import _serving

pytestmark = pytest.mark.browser


@pytest.fixture
def course(project, fake_embedder):
    (project.seeds_dir / "guide.txt").write_text("The library opens at nine. " * 30, encoding="utf-8")
    create_collection(project, "biology", CollectionConfig(title="Biology <101>"))
    save_document(project, "biology", "cells.txt", b"Cells divide by mitosis. " * 30)
    ensure_index(collection_settings(project, "biology"), fake_embedder)
    return project


def _ask(page, url: str, question: str) -> str:
    page.goto(url)
    page.fill("[data-qa-widget] input", question)
    page.press("[data-qa-widget] input", "Enter")
    page.wait_for_selector("[data-qa-widget] [data-role=answer], [data-qa-widget] .err")
    return page.inner_text("[data-qa-widget] header") + "\n" + page.inner_text("[data-qa-widget] .log")


def test_embed_shows_the_collection_title_and_answers(browser, course, fake_embedder):
    with _serving(course, fake_embedder) as url:
        page = browser.new_page()
        try:
            shown = _ask(page, url + "/embed?collection=biology", "How do cells divide?")
            assert "Biology <101>" in shown and "seeds/biology/cells.txt" in shown
            assert page.title() == "Biology <101>"
            # the default collection: named as on the chat page, and answers described in its words
            from qa.index.collections import DEFAULT_TITLE
            from qa.web.ui import ANSWERS_ARE

            assert DEFAULT_TITLE in _ask(page, url + "/embed", "When does the library open?")
            assert page.title() == page.inner_text("[data-qa-widget] header") == DEFAULT_TITLE
            assert page.inner_text("[data-qa-widget] .log .note >> nth=0") == ANSWERS_ARE
        finally:
            page.close()


def test_embed_with_a_key_set_says_what_is_wrong(browser, course, fake_embedder, artifacts):
    with _serving(course, fake_embedder, api_key="learner-key-123") as url:
        page = browser.new_page()
        try:
            shown = _ask(page, url + "/embed", "When does the library open?")
            assert "needs an access key" in shown and "course staff" in shown
            assert "Bearer" not in shown
            page.screenshot(path=str(artifacts / "embed-needs-key.png"))
        finally:
            page.close()


def test_embed_of_a_course_without_documents_says_so_to_learners(browser, course, fake_embedder):
    """In the chat page's words, as soon as the widget opens (it said nothing before a question),
    and again for a question; a course with documents says nothing of the kind."""
    from qa.web.chat import NO_DOCUMENTS

    create_collection(course, "chemistry", CollectionConfig(title="Chemistry"))
    with _serving(course, fake_embedder) as url:
        page = browser.new_page()
        try:
            page.goto(url + "/embed?collection=chemistry")
            said = page.locator("[data-qa-widget] [data-role=no-documents]")
            said.wait_for()
            assert said.inner_text() == NO_DOCUMENTS
            page.fill("[data-qa-widget] input", "What is a mole?")
            page.press("[data-qa-widget] input", "Enter")
            page.wait_for_selector("[data-qa-widget] .err:not([data-role])")
            shown = (
                page.inner_text("[data-qa-widget] header") + "\n" + page.inner_text("[data-qa-widget] .log")
            )
            assert "Chemistry" in shown and shown.count(NO_DOCUMENTS) == 2
            assert "upload" not in shown
            with page.expect_response(lambda r: "/api/v1/health" in r.url) as health:
                page.goto(url + "/embed?collection=biology")
            assert health.value.status == 200
            page.evaluate("() => new Promise(requestAnimationFrame)")  # the reply handled
            assert page.locator("[data-qa-widget] [data-role=no-documents]").count() == 0
        finally:
            page.close()


def test_a_question_without_an_answer_goes_back_into_the_box(browser, course, fake_embedder):
    with _serving(course, fake_embedder, api_key="learner-key-123") as url:
        page = browser.new_page()
        try:
            _ask(page, url + "/embed", "When does the library open?")
            assert page.input_value("[data-qa-widget] input") == "When does the library open?"
        finally:
            page.close()


def test_a_page_naming_an_unknown_course_says_so_without_listing_the_others(browser, course, fake_embedder):
    with _serving(course, fake_embedder) as url:
        page = browser.new_page()
        try:
            shown = _ask(page, url + "/embed?collection=history", "Who was Caesar?")
            assert "asks for a course the assistant does not have" in shown
            assert "biology" not in shown and "default" not in shown
        finally:
            page.close()
