"""With ``QA_API_KEY`` set, the widget on a portal (``data-api-key``) answers, and a citation's
"original" link opens the PDF at its page in a new tab, which carries neither the key nor a
session cookie: the API signs the link."""

from __future__ import annotations

import functools
import http.server
import threading

import pytest

from qa.render import ORIGINAL
from tests.conftest import free_port
from tests.test_browser_originals import _serving
from tests.test_formats import make_pdf

pytestmark = pytest.mark.browser

KEY = "portal-key-123"
PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>Course</title></head><body>
<h1>Module 3</h1>
<script src="{app}/widget.js" data-api-key="{key}" data-k="2" defer></script>
</body></html>"""


@pytest.fixture
def keyed_portal(project, fake_embedder, tmp_path):
    make_pdf(project.seeds_dir / "manual.pdf")
    port = free_port()
    origin = f"http://127.0.0.1:{port}"
    with _serving(project, fake_embedder, api_key=KEY, allowed_origins=(origin,)) as app_url:
        folder = tmp_path / "portal"
        folder.mkdir()
        (folder / "index.html").write_text(PAGE.format(app=app_url, key=KEY), encoding="utf-8")
        handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
        handler.log_message = lambda *args: None
        portal = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
        threading.Thread(target=portal.serve_forever, daemon=True).start()
        try:
            yield origin, app_url
        finally:
            portal.shutdown()


def test_widget_original_link_opens_with_a_key_set(browser, keyed_portal, artifacts, project, tmp_path):
    origin, app_url = keyed_portal
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        page.goto(origin + "/index.html")
        page.click("[data-qa-widget] .bubble")
        page.fill("[data-qa-widget] input", "How do pools limit linking jobs?")
        page.press("[data-qa-widget] input", "Enter")
        page.wait_for_selector("[data-qa-widget] [data-role=passage]")
        first = page.locator("[data-qa-widget] [data-role=passage]").first
        assert "p. 3" in first.inner_text()
        link = first.locator(f"a:has-text('{ORIGINAL} ↗')")
        href = link.get_attribute("href")
        assert href.startswith(app_url + "/originals/seeds/manual.pdf?") and href.endswith("#page=3")
        originals = context.expect_event("response", lambda r: "/originals/" in r.url)
        with context.expect_page() as opened, originals as served:
            link.click()
        response = served.value
        assert response.status == 200 and response.headers["content-type"] == "application/pdf"
        assert opened.value.url == href
        page.screenshot(path=str(artifacts / "widget-key-original.png"))
    finally:
        context.close()
    bare = browser.new_page()  # the file itself still needs the key
    try:
        assert bare.goto(app_url + "/originals/seeds/manual.pdf").status == 401
    finally:
        bare.close()
    _another_courses_key_is_explained(browser, keyed_portal, project, tmp_path / "portal")


def _another_courses_key_is_explained(browser, keyed_portal, project, folder):
    """A portal that set the key of one course on a page of another: a line a learner understands
    (who can fix it), not the API's "this key is for another course"."""
    from qa.index.collections import CollectionConfig, create_collection
    from qa.index.course_keys import make_key
    from qa.web.course_scope import OTHER_COURSE

    origin, app_url = keyed_portal
    create_collection(project, "biology", CollectionConfig(title="Biology"))
    course_key, _ = make_key(project, "biology", "Moodle")
    page_html = PAGE.format(app=app_url, key=course_key).replace(" defer", ' data-collection="default" defer')
    (folder / "other.html").write_text(page_html, encoding="utf-8")
    page = browser.new_page()
    try:
        page.goto(origin + "/other.html")
        page.click("[data-qa-widget] .bubble")
        page.fill("[data-qa-widget] input", "How do pools limit linking jobs?")
        page.press("[data-qa-widget] input", "Enter")
        page.wait_for_selector("[data-qa-widget] .err")
        shown = page.inner_text("[data-qa-widget] .log")
        assert "not set up for this course" in shown and "administrator" in shown
        assert OTHER_COURSE not in shown
    finally:
        page.close()
