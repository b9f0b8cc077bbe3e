"""Inside an LTI launch (the LMS's iframe, third-party cookies blocked, the server keyed), a
learner's *in the document* links open the course's Word, PowerPoint, Markdown and text files as
pages under the session's own folder: the cited passage shaded and scrolled to, the same words
marked as in the answer, the original downloadable; another course's document is refused with a
page saying so. The widget keeps a passage's own line breaks (a slide's code lines), as the chat
page does.

The real documents are the held-out Word, PowerPoint and text files of ``benchmarks/heldout``.
"""

from __future__ import annotations

import shutil
import threading
import time

import pytest

from qa.config import Settings
from tests.conftest import REPO, free_port, start_server, stop_server
from tests.lti_platform import TestPlatform, write_platforms
from tests.test_browser_lti import blocked_context, chat_frame, lms_app  # noqa: F401 (fixture)
from tests.test_collections import ROME

pytestmark = [pytest.mark.browser, pytest.mark.slow]

HELDOUT = REPO / "benchmarks" / "heldout" / "docs"
KEY = "learners-key-for-the-lti-document-test"
SAFETY = (
    "# Lab safety\n\n## Goggles\n\nWear safety goggles whenever a burner is lit or a solution is "
    "heated, and keep them on until the bench is cleared.\n\n## Spills\n\nReport every acid spill "
    "to the demonstrator before wiping it up.\n"
)
CASES = [  # question, the cited file, the format's download suffix
    ("What does the Apache license say about redistribution?", "apache-2.0.docx"),
    ("What is the rule about braces in the systemd coding style?", "systemd-coding-style.pptx"),
    ("When must safety goggles be worn in the lab?", "lab-safety.md"),
    ("What must I do when I cannot comply with the Mozilla licence because of a statute?", "mpl-2.0.txt"),
]


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    import uvicorn

    from qa.index.collections import CollectionConfig, create_collection

    root = tmp_path_factory.mktemp("lti-documents")
    (root / "seeds").mkdir()
    (root / "seeds" / "rome.md").write_text(ROME, encoding="utf-8")  # another course's
    settings = Settings(root=root)
    create_collection(settings, "licences", CollectionConfig(title="Licences and style"))
    folder = root / "seeds" / "licences"
    for name in ("apache-2.0.docx", "systemd-coding-style.pptx", "mpl-2.0.txt"):
        shutil.copy(HELDOUT / name, folder / name)
    (folder / "lab-safety.md").write_text(SAFETY, encoding="utf-8")

    lms_port = free_port()
    lms_base = f"http://127.0.0.1:{lms_port}"
    platform = TestPlatform(issuer=lms_base)
    server = uvicorn.Server(
        uvicorn.Config(lms_app(platform, {}), host="127.0.0.1", port=lms_port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    entry = platform.settings_entry(
        auth_login_url=f"{lms_base}/auth",
        auth_token_url=f"{lms_base}/token",
        key_set_url=f"{lms_base}/jwks",
        courses={"course-bio": "licences"},
    )
    write_platforms(root / "lti", entry)
    proc, url = start_server(settings, root, QA_ROOT=str(root), QA_API_KEY=KEY)
    platform.tool_base = url.replace("127.0.0.1", "localhost")
    yield lms_base, platform.tool_base, folder
    stop_server(proc)
    server.should_exit = True
    thread.join(timeout=10)


def _ask(frame, question: str):
    before = frame.locator("[data-qa-widget] [data-role=answer]").count()
    frame.fill("[data-qa-widget] input", question)
    frame.press("[data-qa-widget] input", "Enter")
    deadline = time.monotonic() + 90
    while frame.locator("[data-qa-widget] [data-role=answer]").count() <= before:
        assert time.monotonic() < deadline, "no answer within 90 s"
        time.sleep(0.2)
    return frame.locator("[data-qa-widget] [data-role=answer]").nth(before)


def _card(answer, name: str):
    """The first passage card citing ``name``, unfolded."""
    cards = answer.locator("[data-role=passage]")
    for i in range(cards.count()):
        card = cards.nth(i)
        if f"seeds/licences/{name}" in card.locator(".detail").text_content():
            if card.get_attribute("open") is None:
                card.locator("summary").click()
            return card
    raise AssertionError(f"no passage of {name}: {answer.inner_text()[:800]}")


def _words(text: str) -> str:
    return " ".join(text.split())


def test_in_the_document_opens_each_format_inside_the_lti_session(blocked_context, course, artifacts):  # noqa: F811
    lms_base, tool_base, folder = course
    page = blocked_context.new_page()
    page.goto(f"{lms_base}/course")
    frame = chat_frame(page)
    frame.wait_for_selector("[data-qa-widget] input")
    session = frame.url.rstrip("/")
    assert session.startswith(f"{tool_base}/lti/chat/")
    for question, name in CASES:
        card = _card(_ask(frame, question), name)
        marked = _words(card.locator(".text mark").text_content())
        link = card.locator("a[data-role=in-document]")
        href = link.get_attribute("href")
        assert href.startswith(f"{session}/context/seeds/licences/{name}?") and href.endswith("#cited")
        with blocked_context.expect_page() as opened:
            link.click()
        doc = opened.value
        doc.wait_for_load_state()
        assert doc.url.startswith(f"{session}/context/"), doc.url
        cited = doc.locator("#cited")
        assert cited.count() == 1 and cited.is_visible(), name
        box = cited.bounding_box()
        assert box is not None and 0 <= box["y"] < doc.viewport_size["height"], name  # scrolled to it
        page_marks = _words(" ".join(doc.locator("main mark").all_text_contents()))
        assert marked and marked in page_marks, (name, marked, page_marks)
        assert "The cited passage is shaded" in doc.locator("main").inner_text()
        with doc.expect_download() as got:
            doc.click("a.download")
        download = got.value
        assert download.suggested_filename == name
        assert open(download.path(), "rb").read() == (folder / name).read_bytes(), name
        doc.screenshot(path=str(artifacts / f"lti-document-{name}.png"))
        doc.close()

    # another course's document, asked for under this session, is refused with a page
    other = blocked_context.new_page()
    other.goto(f"{session}/context/seeds/rome.md?start=0&end=20#cited")
    assert "This document belongs to another course" in other.content()
    assert "Rubicon" not in other.content()
    other.close()


def test_the_widget_keeps_a_slides_line_breaks(blocked_context, course):  # noqa: F811
    lms_base, _, _ = course
    page = blocked_context.new_page()
    page.goto(f"{lms_base}/course")
    frame = chat_frame(page)
    frame.wait_for_selector("[data-qa-widget] input")
    card = _card(_ask(frame, CASES[1][0]), "systemd-coding-style.pptx")
    quoted = card.locator(".text").text_content()  # the passage as the answer quotes it
    shown = card.locator(".text").inner_text()  # as the learner sees it

    def lines(text: str) -> list[str]:
        return [" ".join(line.split()) for line in text.splitlines() if line.strip()]

    assert len(lines(quoted)) > 3 and lines(shown) == lines(quoted), (quoted, shown)


def test_an_ended_session_says_to_open_the_assistant_again(blocked_context, course):  # noqa: F811
    """A session past QA_LTI_SESSION_MINUTES (a tab left open overnight) answers 401; the learner
    is told to open the assistant again from the course, not that the page lacks an access key."""
    import json

    lms_base, _, _ = course
    page = blocked_context.new_page()
    page.goto(f"{lms_base}/course")
    frame = chat_frame(page)
    frame.wait_for_selector("[data-qa-widget] input")
    ended = {"error": "this session has expired; open the assistant again from your course"}
    page.route(
        "**/api/v1/ask",
        lambda route: route.fulfill(status=401, content_type="application/json", body=json.dumps(ended)),
    )
    frame.fill("[data-qa-widget] input", CASES[0][0])
    frame.press("[data-qa-widget] input", "Enter")
    error = frame.locator("[data-qa-widget] .log .err")
    error.wait_for()
    assert error.inner_text().startswith("This session has ended. Open the assistant again from your course")
    assert "access key" not in error.inner_text()
    assert frame.input_value("[data-qa-widget] input") == CASES[0][0]  # kept, to ask again
