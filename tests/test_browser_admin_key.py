"""The admin page before and after the key: nothing of a collection shows until the key is
accepted, and a wrong key is told in words (the page's grid showed the empty panels, the drop
zone and "Delete this collection" to whoever opened /admin, and kept them after a wrong key)."""

from __future__ import annotations

import pytest

from tests.test_browser_originals import _serving

pytestmark = pytest.mark.browser

ADMIN = "browser-admin-key-0123456789"


def _shown(page, selector: str) -> bool:
    return page.locator(selector).is_visible()


def test_the_collections_show_only_once_the_key_is_accepted(browser, project, fake_embedder, artifacts):
    (project.seeds_dir / "guide.txt").write_text("The library opens at nine. " * 30, encoding="utf-8")
    with _serving(project, fake_embedder, admin_key=ADMIN) as url:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        try:
            page.goto(url + "/admin")
            page.wait_for_function("document.querySelector('#message').innerText.includes('admin key')")
            assert page.inner_text("#message") == "Enter the admin key to manage the collections."
            for part in ("#main", "#drop", "#delete-collection", "#documents", "#create-form"):
                assert not _shown(page, part), part

            page.fill("#key", "not-the-admin-key-at-all")
            page.click("#key-form button")
            page.wait_for_function("document.querySelector('#message').className === 'error'")
            message = page.inner_text("#message")
            assert message == "That is not the admin key (the server's QA_ADMIN_KEY). Type it again."
            assert "Bearer" not in message
            assert not _shown(page, "#main") and not _shown(page, "#drop")
            assert page.evaluate("sessionStorage.getItem('qa-admin-key')") is None  # not kept
            page.screenshot(path=str(artifacts / "admin-wrong-key.png"), full_page=True)

            page.fill("#key", ADMIN)
            page.click("#key-form button")
            page.wait_for_selector("#documents tr[data-name='guide.txt']")
            assert _shown(page, "#main") and _shown(page, "#drop")
            assert page.inner_text("#message") == ""
            assert not _shown(page, "#delete-collection")  # the default collection stays
        finally:
            page.close()


def test_on_a_phone_the_page_keeps_the_screen_width(browser, project, fake_embedder, artifacts):
    """The documents and questions tables scroll inside their box: at 390 px the whole admin page
    was 715 px wide, scrolled sideways, its controls half off the screen."""
    (project.seeds_dir / "a-rather-long-document-name.txt").write_text(
        "The library opens at nine. " * 30, encoding="utf-8"
    )
    with _serving(project, fake_embedder, admin_key=ADMIN) as url:
        page = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True)
        try:
            page.goto(url + "/admin")
            page.fill("#key", ADMIN)
            page.click("#key-form button")
            page.wait_for_selector("#documents tr[data-name='a-rather-long-document-name.txt']")
            assert page.evaluate("document.documentElement.scrollWidth") <= 390
            wide = page.evaluate("document.querySelector('#documents').scrollWidth")
            box = page.evaluate("document.querySelector('#documents').parentElement.clientWidth")
            assert box <= 390 and wide >= box  # the table scrolls in its box when it must
            page.screenshot(path=str(artifacts / "admin-phone.png"), full_page=True)
        finally:
            page.close()
