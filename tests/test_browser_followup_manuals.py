"""A two-turn chat over two real manuals in real Chromium: the follow-up is answered from the
section its topic is about, in the document the conversation is on."""

from __future__ import annotations

import pytest

from tests.conftest import start_server, stop_server
from tests.test_browser_chat import _open, ask
from tests.test_followup_manuals import manual_files

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def manuals_server(tmp_path_factory, index_builds):
    root = tmp_path_factory.mktemp("manuals")
    settings = index_builds.copy(manual_files(("ninja-manual.md", "dpkg-triggers.txt")), root)
    proc, url = start_server(settings, root, QA_ROOT=str(root))
    yield url
    stop_server(proc)


def test_a_follow_up_is_answered_from_the_section_of_its_topic(browser, manuals_server, artifacts):
    context, page = _open(browser, manuals_server, width=1280, height=900)
    try:
        ask(page, "What are file triggers in dpkg?")
        ask(page, "does the path have to be absolute?")
        answer = page.locator("#chat .qa-answer").last
        first = answer.locator(".qa-passage").first
        assert "The pathname must be absolute" in " ".join(first.inner_text().split())
        cite = answer.locator(".qa-cite").first.inner_text()
        assert cite.startswith("[1]") and "File triggers" in cite, cite
        page.screenshot(path=str(artifacts / "chat-followup-manuals-1280.png"), full_page=True)
    finally:
        context.close()
