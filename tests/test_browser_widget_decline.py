"""A declined answer in the widget says so where a learner looks first: the notice stands out
(the page's own colour, bold, boxed, as on the chat page) above the closest text, instead of the
small muted print of the intro and the "closest text" label, which reads like a footnote."""

from __future__ import annotations

import pytest

from qa.render import CLOSEST, DECLINE
from tests.test_browser_document_page import _word
from tests.test_browser_document_page_closest import _declining

pytestmark = pytest.mark.browser

STYLE = "el => { const s = getComputedStyle(el); return [s.color, s.fontWeight, s.borderTopStyle]; }"


def test_the_widgets_decline_notice_stands_out(browser, project, fake_embedder, artifacts):
    _word(project.seeds_dir / "library.docx")
    with _declining(project, fake_embedder) as url:
        page = browser.new_page(viewport={"width": 900, "height": 800})
        try:
            page.goto(url + "/embed")
            widget = page.locator("[data-qa-widget]")
            widget.locator("input").fill("When do borrowed books go back to the front desk?")
            widget.locator("input").press("Enter")
            notice = widget.locator("[data-role=answer] [data-role=notice]")
            notice.wait_for()
            assert notice.inner_text().startswith(DECLINE)
            label = widget.locator("[data-role=answer] p", has_text=CLOSEST)
            color, weight, border = notice.evaluate(STYLE)
            label_color, label_weight, _ = label.evaluate(STYLE)
            question_color = widget.locator("input").evaluate("el => getComputedStyle(el).color")
            assert int(weight) >= 600 and int(label_weight) < 600 and border == "solid"
            assert color == question_color and color != label_color  # the text colour, not the muted one
            box, label_box = notice.bounding_box(), label.bounding_box()
            assert box["y"] < label_box["y"]
            page.screenshot(path=str(artifacts / "widget-decline-notice.png"))
        finally:
            page.close()
