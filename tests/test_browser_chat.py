"""The chat page in real Chromium: ask, follow up, see in context, copy, rate, stay safe, fit a phone."""

import json
import statistics
import time

import pytest

from qa.web.ui import EMPTY_QUESTION, NO_ANSWER
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


def _open(browser, url: str, *, width: int, height: int, **options):
    context = browser.new_context(viewport={"width": width, "height": height}, **options)
    page = context.new_page()
    page.dialogs = []
    page.on("dialog", lambda d: (page.dialogs.append(d.message), d.dismiss()))
    page.goto(url + "/")
    page.wait_for_selector("#question textarea")
    return context, page


@pytest.fixture
def page(browser, live_server):
    url, _ = live_server
    context, page = _open(browser, url, width=1280, height=900)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=url)
    yield page
    context.close()


def _answers(page) -> int:
    return page.locator("#chat .qa-answer").count()


def _wait_for_answer(page, before: int) -> None:
    page.wait_for_function(f"document.querySelectorAll('#chat .qa-answer').length > {before}")


def ask(page, question: str) -> float:
    """Type ``question``, press Enter, wait for its answer; seconds from Enter to the answer."""
    before = _answers(page)
    page.fill("#question textarea", question)
    start = time.perf_counter()
    page.press("#question textarea", "Enter")
    _wait_for_answer(page, before)
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
        time.sleep(0.1)
    raise AssertionError("no feedback record was written")


def test_question_follow_up_context_copy_and_feedback(page, live_server, artifacts):
    _, feedback = live_server
    ask(page, "What is debt bondage?")
    first = page.locator("#chat .qa-answer").last
    assert first.locator(".qa-span").inner_text().strip()
    assert first.locator(".qa-passage").count() == 3
    cite = first.locator(".qa-cite").first.inner_text()
    assert cite.startswith("[1]") and "Human trafficking" in cite and "words " in cite and " of 5,345" in cite
    seed = SEED.read_text(encoding="utf-8")
    for text in first.locator(".qa-passage .qa-text").all_inner_texts():
        assert " ".join(text.split()) in seed
    assert first.locator(".qa-passage a[href^='https://en.wikipedia.org/']").count() == 3

    ask(page, "and what about children?")
    second = page.locator("#chat .qa-answer").last
    assert second.locator(".qa-passage").count() == 3 and _answers(page) == 2
    assert "children" in second.inner_text().lower()
    page.screenshot(path=str(artifacts / "chat-1280.png"), full_page=True)

    second.locator(".qa-context summary").first.click()
    context = second.locator(".qa-context").first
    context.locator(".qa-window").wait_for()
    assert context.locator(".qa-window .qa-in").is_visible()
    assert context.locator(".qa-window .qa-in mark").count() == 1
    whole = " ".join(context.locator(".qa-window").inner_text().strip(" …").split())
    assert whole in seed and len(whole) > 3 * len(context.locator(".qa-in").inner_text())
    context.scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts / "chat-context-1280.png"))

    second.locator(".qa-copy").click()
    page.wait_for_function(
        "[...document.querySelectorAll('#chat .qa-copy')].some((b) => b.textContent === 'Copied')"
    )
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied.startswith("“") and "[1] Human trafficking, words " in copied and "<" not in copied

    before = _lines(feedback)
    page.locator("#chat button[aria-label='Like']").first.click()
    record = _next_record(feedback, before)
    assert record["rating"] == "up" and record["question"] == "What is debt bondage?"
    before = _lines(feedback)
    page.locator("#chat button[aria-label='Dislike']").last.click()
    record = _next_record(feedback, before)
    assert record["rating"] == "down" and record["question"] == "and what about children?"
    assert "debt bondage" in record["query"] and record["abstained"] is False and record["time"]
    assert len(record["passages"]) == 3 and all(
        seed[p["start"] : p["end"]] == p["text"] for p in record["passages"]
    )

    page.click("#clear")
    page.wait_for_function("document.querySelectorAll('#chat .qa-answer').length === 0")
    page.locator("#examples button", has_text="What is debt bondage?").click()
    _wait_for_answer(page, 0)
    assert "What is debt bondage?" in page.locator("#chat .qa-q").last.inner_text()
    before = _lines(feedback)
    page.locator("#chat button[aria-label='Dislike']").last.click()
    assert _next_record(feedback, before)["query"] == "What is debt bondage?"  # not read as a follow-up


def test_unanswerable_question_says_so_and_shows_closest_matches(page):
    ask(page, "What is the population of Mars in 2020?")
    answer = page.locator("#chat .qa-answer").last
    assert NO_ANSWER in answer.locator(".qa-abstain").inner_text()
    assert "Closest matches" in answer.inner_text()
    assert answer.locator(".qa-closest .qa-passage").first.is_visible()


def test_markup_in_questions_shows_as_text(page):
    question = "<script>alert(1)</script><img src=x onerror=alert(2)> **bold** [link](http://x.test) $$x^2$$"
    ask(page, question)
    user = page.locator("#chat .qa-q").last.inner_text()
    assert user == question
    assert page.locator("#chat img[src='x'], #chat a[href='http://x.test'], #chat .katex").count() == 0
    assert page.locator("#chat strong", has_text="bold").count() == 0
    page.evaluate("() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))")
    assert page.dialogs == []


def test_empty_question_is_refused_politely(page):
    page.fill("#question textarea", "   ")
    page.press("#question textarea", "Enter")
    page.get_by_text(EMPTY_QUESTION).first.wait_for(timeout=10_000)
    assert _answers(page) == 0


def test_phone_width_has_no_horizontal_scroll(browser, live_server, artifacts):
    url, _ = live_server
    context, page = _open(browser, url, width=390, height=844, is_mobile=True, has_touch=True)
    ask(page, "What is debt bondage?")
    page.locator("#chat .qa-context summary").first.click()
    page.locator("#chat .qa-window").first.wait_for()
    page.locator("#chat .qa-span").first.scroll_into_view_if_needed()
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
    print(f"\n{report}")
    (artifacts / "chat-latency.txt").write_text(report + "\n", encoding="utf-8")
    assert len(times) == 10 and _answers(page) == 10
