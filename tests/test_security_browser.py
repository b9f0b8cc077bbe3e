"""With QA_API_KEY set, a person signs in once at /session and then uses the chat page as usual
(real Chromium, small project with the fake embedder)."""

from __future__ import annotations

import pytest

from tests.test_security import KEY, corpus, make_app, served  # noqa: F401 - corpus is a fixture

pytestmark = pytest.mark.browser


def test_sign_in_then_chat(browser, corpus):  # noqa: F811 - the fixture
    settings = corpus.replace(api_key=KEY)
    with served(make_app(settings), settings) as (url, _):
        context = browser.new_context()
        page = context.new_page()
        page.goto(url + "/")
        assert page.url.endswith("/session")  # sent to sign in first
        page.fill("#key", "not the key")
        page.click("button[type=submit]")
        assert "not right" in page.content()
        page.fill("#key", KEY)
        page.click("button[type=submit]")
        page.wait_for_selector("#question textarea")
        cookie = next(c for c in context.cookies() if c["name"] == "qa_session")
        assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
        assert page.evaluate("document.cookie") == ""  # scripts cannot read it
        page.fill("#question textarea", "alpha alphaword3")
        page.press("#question textarea", "Enter")
        page.wait_for_function("document.querySelectorAll('#chat .qa-answer').length > 0", timeout=60_000)
        # another browser without the cookie is kept out
        other = browser.new_context().new_page()
        other.goto(url + "/")
        assert other.url.endswith("/session")
        context.close()
