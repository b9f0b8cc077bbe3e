"""The course's title where learners look for it: the sign-in page, the chat page's heading and
its browser tab (for the collection used), and an LTI launch's page."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from qa.index.collections import CollectionConfig, collection_settings, create_collection, save_document
from tests.conftest import FakeEmbedder
from tests.test_browser_originals import _serving
from tests.test_collections import CELLS, ROME
from tests.test_lti import courses, lms  # noqa: F401 (fixtures)

KEY = "learner-key-123"


@pytest.fixture
def biology(project, fake_embedder):
    from qa.index.build import ensure_index

    (project.seeds_dir / "rome.md").write_text(ROME, encoding="utf-8")
    create_collection(project, "biology", CollectionConfig(title="Biology 101 <intro>"))
    save_document(project, "biology", "cells.md", CELLS.encode())
    ensure_index(collection_settings(project, "biology"), fake_embedder)
    ensure_index(project, fake_embedder)
    return project


def _client(settings, **changes) -> TestClient:
    from qa.retrieval.retriever import Retriever
    from qa.web.server import create_app

    settings = settings.replace(**changes)
    return TestClient(
        create_app(settings, Retriever.open(settings, FakeEmbedder())), raise_server_exceptions=False
    )


def test_the_sign_in_page_names_the_course_it_opens(biology):
    client = _client(biology, api_key=KEY)
    page = client.get("/session?collection=biology").text
    assert (
        "<title>Biology 101 &lt;intro&gt;: sign in</title>" in page
        and "<h1>Biology 101 &lt;intro&gt;</h1>" in page
    )
    wrong = client.post("/session", data={"key": "nope", "collection": "biology"})
    assert wrong.status_code == 401 and "<h1>Biology 101 &lt;intro&gt;</h1>" in wrong.text
    plain = client.get("/session").text  # the default collection has no title of its own
    assert "<h1>Course documents</h1>" in plain
    unknown = client.get("/session?collection=chemistry").text
    assert "<h1>Course documents</h1>" in unknown


def test_the_default_collections_title_names_its_sign_in_page(biology):
    (biology.seeds_dir / "collection.json").write_text('{"title": "History of Rome"}', encoding="utf-8")
    client = _client(biology, api_key=KEY)
    assert "<h1>History of Rome</h1>" in client.get("/session").text


def test_an_lti_launch_names_its_course_in_the_tab(courses, fake_embedder, lms, monkeypatch):  # noqa: F811
    from tests.test_lti import chat_path, make_client

    client = make_client(courses, fake_embedder, lms, monkeypatch, courses={"course-1": "biology"})
    page = client.get(chat_path(lms.launch(client))).text
    assert "<title>Biology 101</title>" in page and 'data-title="Biology 101"' in page


@pytest.mark.browser
def test_the_chat_tab_and_heading_name_the_course_after_signing_in(
    biology, fake_embedder, browser, artifacts
):
    with _serving(biology, fake_embedder, api_key=KEY) as url:
        context = browser.new_context(viewport={"width": 1100, "height": 800})
        page = context.new_page()
        try:
            page.goto(url + "/?collection=biology")
            assert page.title() == "Biology 101 <intro>: sign in"
            # the page it opens, named as the refused pages name it ("Open the chat page and sign in")
            assert page.inner_text("button[type=submit]") == "Open the chat page"
            page.fill("#key", KEY)
            page.click("button[type=submit]")
            page.wait_for_function("document.title === 'Biology 101 <intro>'")
            heading = page.locator("#qa-title h1")
            assert heading.inner_text() == "Biology 101 <intro>"
            page.screenshot(path=str(artifacts / "chat-course-title.png"))
            page.goto(url + "/")  # the default collection: the generic title
            page.wait_for_function("document.title === 'Course documents'")
        finally:
            context.close()
