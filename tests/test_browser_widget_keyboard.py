"""The open widget with the keyboard: Tab goes round the question, Ask, the answer's links and
Close, never out to the portal page behind; Escape closes it and gives focus back to the bubble."""

from __future__ import annotations

import pytest

from qa.render import IN_DOCUMENT, NEW_TAB, ORIGINAL
from tests.conftest import free_port
from tests.test_browser_originals import _serving
from tests.test_browser_widget import serve_portal

pytestmark = pytest.mark.browser

FOCUSED = """() => {
  const root = document.querySelector('[data-qa-widget]').shadowRoot;
  const a = root.activeElement;
  if (!a) return 'page:' + document.activeElement.tagName;
  return a.getAttribute('aria-label') || a.getAttribute('data-role')
    || (a.tagName === 'SUMMARY' ? 'summary' : a.tagName + ':' + a.textContent.trim());
}"""


def test_tab_stays_in_the_open_widget_in_reading_order_and_escape_returns_to_the_bubble(
    browser, project, fake_embedder, tmp_path
):
    (project.seeds_dir / "guide.txt").write_text(
        "The library opens at nine. " * 40 + "\n\nBooks are due back in three weeks. " * 40, encoding="utf-8"
    )
    port = free_port()
    with _serving(project, fake_embedder, allowed_origins=(f"http://127.0.0.1:{port}",)) as app_url:
        portal, portal_url = serve_portal(tmp_path / "portal", app_url, port)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        try:
            page.goto(portal_url + "/index.html")
            page.click("[data-qa-widget] .bubble")
            assert page.evaluate(FOCUSED) == "Your question"
            page.keyboard.type("When does the library open?")
            page.keyboard.press("Enter")
            page.wait_for_selector("[data-qa-widget] [data-role=passage]")
            page.wait_for_function(
                "document.querySelector('[data-qa-widget]').shadowRoot.activeElement?.tagName === 'INPUT'"
            )
            seen = []
            for _ in range(30):
                page.keyboard.press("Tab")
                seen.append(page.evaluate(FOCUSED))
                if seen[-1] == "Your question":
                    break
            assert seen[0] == "BUTTON:Ask" and seen[-2:] == ["Close", "Your question"], repr(seen)
            links = seen[1:-2]
            in_document, original = (f"{IN_DOCUMENT} ({NEW_TAB})", f"{ORIGINAL} ({NEW_TAB})")  # their names
            assert links[:4] == ["summary", in_document, "context", "summary"], links  # [1] open
            assert set(links) <= {"summary", in_document, original, "context"}
            assert links.count("summary") == page.locator("[data-qa-widget] [data-role=passage]").count()
            page.keyboard.press("Shift+Tab")
            assert page.evaluate(FOCUSED) == "Close"
            page.keyboard.press("Shift+Tab")
            assert page.evaluate(FOCUSED) == seen[-3]  # backwards: the last of the answer's controls
            page.keyboard.press("Escape")
            assert page.locator("[data-qa-widget] .panel").is_hidden()
            assert page.evaluate(FOCUSED) == "Ask the course"  # the bubble, named by the title
        finally:
            page.close()
            portal.shutdown()
