"""On the admin page, a file the reader refuses says so, with the reason, instead of waiting
forever as "(not indexed yet) · pending"."""

from __future__ import annotations

import pytest

from tests.test_browser_originals import _serving

pytestmark = pytest.mark.browser

ADMIN = "browser-admin-key-0123456789"


def test_a_refused_file_shows_why_on_the_admin_page(browser, project, fake_embedder, artifacts):
    (project.seeds_dir / "guide.txt").write_text("The library opens at nine. " * 30, encoding="utf-8")
    (project.seeds_dir / "broken.pdf").write_bytes(b"%PDF-1.7\n1 0 obj <<")
    with _serving(project, fake_embedder, admin_key=ADMIN) as url:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        try:
            page.goto(url + "/admin")
            page.fill("#key", ADMIN)
            page.click("#key-form button")
            page.wait_for_selector("#documents tr[data-name='broken.pdf']")
            broken = page.inner_text("#documents tr[data-name='broken.pdf']")
            assert "(not indexed)" in broken and "never: see warnings" in broken and "PDF" in broken
            assert "pending" not in broken and "not indexed yet" not in broken
            good = page.inner_text("#documents tr[data-name='guide.txt']")
            assert "pending" not in good and "never" not in good
            page.screenshot(path=str(artifacts / "admin-refused-file.png"), full_page=True)
        finally:
            page.close()
