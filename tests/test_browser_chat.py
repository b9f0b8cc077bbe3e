"""The chat page in real Chromium: ask, follow up, see in context, rate, stay safe, fit a phone."""

import json
import statistics
import time

import pytest

from tests.conftest import SEED

pytestmark = [pytest.mark.browser, pytest.mark.slow]

QUESTIONS = [
    "What is human trafficking?",
    "What is debt bondage?",
    "How many people are victims of trafficking?",
    "What does the Palermo Protocol require?",
    "Which industries use forced labour?",
    "How are victims recruited?",
    "What is sex trafficking?",
    "What is organ trafficking?",
    "How does trafficking differ from smuggling?",
    "What are the consequences for victims?",
]


@pytest.fixture
def page(browser, live_server):
    url, _ = live_server
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.dialogs = []
    page.on("dialog", lambda d: (page.dialogs.append(d.message), d.dismiss()))
    page.goto(url + "/")
    page.wait_for_selector("#question textarea")
    yield page
    context.close()


def ask(page, question: str) -> float:
    """Type ``question``, press Enter, wait for its answer; seconds from Enter to the answer."""
    before = page.locator("#chat .qa-answer").count()
    page.fill("#question textarea", question)
    start = time.perf_counter()
    page.press("#question textarea", "Enter")
    page.wait_for_function(f"document.querySelectorAll('#chat .qa-answer').length > {before}")
    return time.perf_counter() - start


def _lines(feedback) -> int:
    return len(feedback.read_text().splitlines()) if feedback.exists() else 0


def _next_record(feedback, before: int, *, timeout: float = 10.0) -> dict:
    """The newest feedback record once the file has more than ``before`` lines."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        lines = feedback.read_text().splitlines() if feedback.exists() else []
        if len(lines) > before:
            return json.loads(lines[-1])
        time.sleep(0.2)
    raise AssertionError("no feedback record was written")


def test_question_follow_up_context_and_feedback(page, live_server, artifacts):
    _, feedback = live_server
    ask(page, "What is debt bondage?")
    first = page.locator("#chat .qa-answer").last
    assert first.locator(".qa-passage").count() == 3
    cite = first.locator(".qa-cite").first.inner_text()
    assert "[1]" in cite and "Human trafficking" in cite and "words " in cite and " of 5,345" in cite
    passage = " ".join(first.locator(".qa-passage > p").first.inner_text().split())
    assert passage and passage in SEED.read_text(encoding="utf-8")
    assert first.locator(".qa-span").inner_text().strip()
    assert first.locator(".qa-passage a[href^='https://en.wikipedia.org/']").count() == 3

    ask(page, "and what about children?")
    second = page.locator("#chat .qa-answer").last
    assert second.locator(".qa-passage").count() >= 1
    assert page.locator("#chat .qa-answer").count() == 2

    second.locator(".qa-context summary").first.click()
    context = second.locator(".qa-context").first
    assert context.locator(".qa-in").is_visible()
    assert context.locator(".qa-in mark").count() == 1
    page.screenshot(path=str(artifacts / "chat-1280.png"), full_page=True)

    before = _lines(feedback)
    page.locator("#chat button[aria-label='Like']").first.click()
    record = _next_record(feedback, before)
    assert record["rating"] == "up" and record["question"] == "What is debt bondage?"
    before = _lines(feedback)
    page.locator("#chat button[aria-label='Dislike']").last.click()
    record = _next_record(feedback, before)
    assert record["rating"] == "down" and record["question"] == "and what about children?"
    assert record["passages"] and record["time"]

    page.click("#clear")
    page.wait_for_function("document.querySelectorAll('#chat .qa-answer').length === 0")


def test_markup_in_questions_shows_as_text(page):
    question = "<script>alert(1)</script><img src=x onerror=alert(2)> **bold** [link](http://x.test)"
    ask(page, question)
    user = page.locator("#chat .user").last.inner_text()
    assert "<script>alert(1)</script>" in user and "**bold**" in user and "[link](http://x.test)" in user
    assert page.locator("#chat img[src='x']").count() == 0
    assert page.locator("#chat a[href='http://x.test']").count() == 0
    page.wait_for_timeout(300)
    assert page.dialogs == []


def test_empty_question_is_refused_politely(page):
    page.fill("#question textarea", "   ")
    page.press("#question textarea", "Enter")
    page.get_by_text("Please type a question").first.wait_for(timeout=10_000)
    assert page.locator("#chat .qa-answer").count() == 0


def test_phone_width_has_no_horizontal_scroll(browser, live_server, artifacts):
    url, _ = live_server
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.goto(url + "/")
    page.wait_for_selector("#question textarea")
    ask(page, "What is debt bondage?")
    page.screenshot(path=str(artifacts / "chat-390.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390 + 2
    context.close()


def test_time_from_enter_to_answer(page, artifacts):
    times = [ask(page, q) for q in QUESTIONS]
    median = statistics.median(times)
    report = (
        f"Enter-to-answer in Chromium, {len(times)} questions: median {median * 1000:.0f} ms, "
        f"max {max(times) * 1000:.0f} ms"
    )
    print(report)
    (artifacts / "chat-latency.txt").write_text(report + "\n", encoding="utf-8")
    assert len(times) == 10
