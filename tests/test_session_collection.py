"""Signing in keeps the collection a link named: ``/?collection=NAME`` without a session goes to
the sign-in form and, with the right key, back to that collection's chat page (not the default)."""

from __future__ import annotations

import pytest

from tests.test_browser_originals import _serving
from tests.test_security import KEY, client_for, corpus  # noqa: F401  (corpus is a fixture)


def test_the_collection_survives_the_sign_in(corpus):  # noqa: F811
    client = client_for(corpus, api_key=KEY)
    res = client.get("/?collection=biology-101", follow_redirects=False)
    assert res.status_code == 303 and res.headers["location"] == "session?collection=biology-101"
    form = client.get("/session?collection=biology-101")
    assert 'name="collection" value="biology-101"' in form.text
    wrong = client.post("/session", data={"key": "nope", "collection": "biology-101"}, follow_redirects=False)
    assert wrong.status_code == 401 and 'value="biology-101"' in wrong.text
    right = client.post("/session", data={"key": KEY, "collection": "biology-101"}, follow_redirects=False)
    assert right.status_code == 303 and right.headers["location"] == "./?collection=biology-101"
    link = client_for(corpus, api_key=KEY).get(
        f"/session?key={KEY}&collection=biology-101", follow_redirects=False
    )
    assert link.headers["location"] == "./?collection=biology-101"


@pytest.mark.parametrize("name", ["../admin", "//evil.example", "Bio", "a" * 40, "x&y=1", "-a"])
def test_only_a_well_formed_collection_name_is_carried(corpus, name):  # noqa: F811
    client = client_for(corpus, api_key=KEY)
    res = client.get("/", params={"collection": name}, follow_redirects=False)
    assert res.headers["location"] == "session"
    right = client.post("/session", data={"key": KEY, "collection": name}, follow_redirects=False)
    assert right.headers["location"] == "./"
    assert 'name="collection"' not in client.get("/session", params={"collection": name}).text


@pytest.mark.browser
def test_a_course_link_opens_that_course_after_signing_in(browser, project, fake_embedder):
    from qa.index.build import ensure_index
    from qa.index.collections import CollectionConfig, collection_settings, create_collection, save_document

    (project.seeds_dir / "guide.txt").write_text("The library opens at nine. " * 30, encoding="utf-8")
    create_collection(project, "bio-101", CollectionConfig(title="Biology 101"))
    save_document(project, "bio-101", "cells.txt", b"Cells divide by mitosis. " * 30)
    ensure_index(collection_settings(project, "bio-101"), fake_embedder)
    with _serving(project, fake_embedder, api_key=KEY) as url:
        page = browser.new_page()
        try:
            page.goto(url + "/?collection=bio-101")
            page.fill("#key", KEY)
            page.click("button[type=submit]")
            page.wait_for_selector("#question textarea")
            assert page.url == url + "/?collection=bio-101"
            page.wait_for_function("document.querySelector('#qa-title').innerText.includes('Biology 101')")
        finally:
            page.close()
