"""A citation of a web page without section anchors (served by the app, no web URL) opens the
original scrolled to the passage: its link carries a text fragment of the highlight
(``#:~:text=first words,last words``), which Chromium scrolls to. A text file's citation opens
its page in the app (``/context/...#cited``), scrolled to the passage marked there; the original's
own link (``deep_link``) still carries the fragment."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from qa.answer import Citation
from qa.render import deep_link
from tests.test_browser_originals import _serving

FILLER = "\n\n".join(f"Paragraph {i} talks about the weather in the valley." for i in range(120))
ANSWER = "Borrowed books go back to the front desk within three weeks of the loan date."


def _citation(source: str, **extra) -> Citation:
    base = dict(title="T", url="", start=0, end=10, word_start=0, word_end=2, total_words=2)
    return Citation(source, **{**base, **extra})


def test_text_fragment_of_the_highlight_for_served_text_originals():
    assert deep_link(_citation("seeds/a.txt"), "go back to the front desk") == (
        "/originals/seeds/a.txt#:~:text=go%20back%20to%20the%20front%20desk"
    )
    long = "Borrowed books go back to the front desk within three weeks, co-signed & dated."
    assert deep_link(_citation("seeds/a b.md"), long) == (
        "/originals/seeds/a%20b.md#:~:text=Borrowed%20books%20go%20back,weeks%2C%20co%2Dsigned%20%26%20dated."
    )
    two_lines = "Section 4\nBooks go back within three weeks of the loan date."
    fragment = "#:~:text=Section%204,of%20the%20loan%20date."
    assert deep_link(_citation("seeds/p.html"), two_lines).endswith(fragment)
    anchored = _citation("seeds/p.html", anchor="_loans")
    assert deep_link(anchored, "books go back") == "/originals/seeds/p.html#_loans"
    assert deep_link(_citation("seeds/d.docx"), "books go back") == "/originals/seeds/d.docx"  # a download
    assert deep_link(_citation("seeds/m.pdf", page=3), "books go back") == "/originals/seeds/m.pdf#page=3"
    assert deep_link(_citation("seeds/a.txt"), "") == "/originals/seeds/a.txt"


@pytest.mark.browser
@pytest.mark.parametrize("name", ["loans.txt", "loans.html"])
def test_chat_link_opens_the_original_at_the_passage(browser, project, fake_embedder, name, artifacts):
    text = FILLER + "\n\n" + ANSWER + "\n\n" + FILLER
    if name.endswith(".html"):
        body = "".join(f"<p>{p}</p>" for p in text.split("\n\n"))
        head = "<head><meta charset='utf-8'><title>Loans</title></head>"
        text = f"<!doctype html><html>{head}<body>{body}</body></html>"
    (project.seeds_dir / name).write_text(text, encoding="utf-8")
    with _serving(project, fake_embedder) as url:
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        page = context.new_page()
        try:
            page.goto(url + "/")
            page.fill("#question textarea", "When do borrowed books go back to the front desk?")
            page.press("#question textarea", "Enter")
            page.wait_for_selector("#chat .qa-answer")
            link = page.locator("#chat .qa-answer a.qa-link").first
            href = link.get_attribute("href")
            if name.endswith(".txt"):  # a text file's citation opens its page in the app, marked there
                assert f"/context/seeds/{name}?" in href and href.endswith("#cited")
            else:
                assert f"/originals/seeds/{name}#:~:text=" in href
            with context.expect_page() as opened:
                link.click()
            original = opened.value
            original.wait_for_load_state()
            original.wait_for_function("window.scrollY > 1000")  # scrolled down to the passage
            original.screenshot(path=str(artifacts / f"original-at-fragment-{name}.png"))
        finally:
            context.close()


ZH = (
    "借阅的图书必须在借阅日期起三周内归还到前台，逾期将按日收取罚款，"
    "如有疑问，请联系图书馆工作人员或发送电子邮件。"
)
JA = "図書館の本は貸出日から三週間以内にカウンターへ返却してください。延滞した場合は罰金がかかります。"


def test_chinese_and_japanese_highlights_get_a_fragment_of_clauses():
    """Unspaced scripts have no space-separated words: the fragment is the first and last clauses
    of at least ten characters (a browser matches only at word boundaries, which punctuation is)."""
    web = _citation("docs/zh.html", url="https://docs.example.org/zh")
    assert deep_link(web, ZH) == "https://docs.example.org/zh#:~:text={},{}".format(
        quote("借阅的图书必须在借阅日期起三周内归还到前台，", safe=""),
        quote("请联系图书馆工作人员或发送电子邮件。", safe=""),
    )
    assert deep_link(web, "延滞した場合は罰金がかかります。").endswith(
        "#:~:text=" + quote("延滞した場合は罰金がかかります。", safe="")
    )
    short = "借阅的图书必须在借阅日期起三周内归还到前台，逾期将按日收取罚款。"  # clauses that would meet
    assert deep_link(web, short).endswith("#:~:text=" + quote(short, safe=""))
    assert deep_link(web, "罰金") == "https://docs.example.org/zh"  # one word is not specific
    two_lines = deep_link(_citation("seeds/ja.txt"), "第4章\n" + JA)  # the last line's clauses meet
    assert two_lines.endswith("#:~:text={},{}".format(quote("第4章", safe=""), quote(JA, safe="")))


def test_the_unspaced_letters_are_those_of_the_word_spans():
    from qa.ingest.normalize import CJK_LETTERS
    from qa.render import links

    assert links._UNSPACED_LETTERS == CJK_LETTERS


@pytest.mark.browser
def test_chromium_scrolls_to_a_chinese_or_japanese_fragment(browser):
    """The fragments :func:`deep_link` makes for unspaced text are ones Chromium finds (the page
    is served by a route, no server): the page opens scrolled down to the passage."""
    filler = "".join(f"<p>第{i}段讲的是山谷里的天气情况。</p>" for i in range(150))
    page_html = f"<!doctype html><meta charset='utf-8'><body>{filler}<p>{ZH}</p><p>{JA}</p>{filler}</body>"
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.route(
        "https://docs.example.org/**", lambda route: route.fulfill(body=page_html, content_type="text/html")
    )
    try:
        for highlight in (ZH, JA, "延滞した場合は罰金がかかります。"):
            page = context.new_page()
            page.goto(deep_link(_citation("docs/zh.html", url="https://docs.example.org/zh"), highlight))
            page.wait_for_function("window.scrollY > 1000", timeout=5000)
            page.close()
    finally:
        context.close()
