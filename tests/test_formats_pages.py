"""Web pages saved from a course site or a CMS read without the site's chrome when the page marks
its content; Markdown with front matter and tables read as a reader sees them."""

from __future__ import annotations

import pytest

from qa.ingest.formats import Limits, read_document
from qa.ingest.formats.html import render_html
from qa.ingest.formats.markdown import render_markdown

CHROME = """<!doctype html><html><head><title>Week 3: Pools | Build Systems 101</title></head><body>
<a class="skip-link" href="#content">Skip to content</a>
<div class="cookie-banner">We use cookies. <span>Accept all</span></div>
<header class="site-header"><div class="logo">Build Systems 101</div>
  <ul class="menu"><li>Home</li><li>Syllabus</li><li>Grades</li></ul></header>
{content}
<aside class="sidebar"><h3>Upcoming</h3><p>Quiz on Friday</p></aside>
<footer><p>&copy; 2026 The University. Privacy policy.</p></footer>
</body></html>"""
LESSON = (
    '<h1 id="pools">Pools</h1><p>A pool limits how many jobs of one kind run at once.</p>'
    '<h2 id="depth">Depth</h2><p>The <code>depth</code> of a pool is its number of slots.</p>'
)
READ = (
    "Pools\n\nA pool limits how many jobs of one kind run at once.\n\n"
    "Depth\n\nThe depth of a pool is its number of slots."
)


@pytest.mark.parametrize(
    "content",
    [
        f'<main id="content">{LESSON}</main>',
        f'<div class="wrap"><div class="content" role="main">{LESSON}</div></div>',
        f'<div id="content"><article class="post">{LESSON}</article></div>',
        f'<article class="post">{LESSON}<section class="comments"><article><p>Nice post</p></article>'
        "<article><p>Thanks</p></article></section></article>",
    ],
    ids=["main", "role-main", "one-article", "one-article-with-comments"],
)
def test_a_page_that_marks_its_content_is_read_without_the_site_chrome(tmp_path, content):
    path = tmp_path / "week3.html"
    path.write_text(CHROME.format(content=content), encoding="utf-8")
    got = read_document(path, Limits())
    comments = "\n\nNice post\n\nThanks" if "comments" in content else ""  # inside the article
    assert got.text == READ + comments
    assert got.title == "Week 3: Pools | Build Systems 101"
    assert [(s.path, s.anchor) for s in got.sections] == [("Pools", "pools"), ("Pools \u203a Depth", "depth")]
    assert got.text[got.sections[1].start :].startswith("Depth\n\nThe depth")


def test_a_page_that_marks_no_content_or_lists_several_articles_is_read_whole():
    """And a page whose <main> is empty (filled by its scripts) is read whole too, less what is
    chrome wherever it stands: its cookie notice and its own footer."""
    unmarked = render_html(CHROME.format(content=f"<div>{LESSON}</div>"))
    listing = render_html(
        CHROME.format(content=f"<article>{LESSON}</article><article><p>Next post</p></article>")
    )
    empty_main = render_html(CHROME.format(content=f"<main></main><div>{LESSON}</div>"))
    for got in (unmarked, listing, empty_main):
        assert READ in got.text and got.text.startswith("Skip to content")
        assert "cookies" not in got.text and "Privacy policy" not in got.text
        # the page's own sidebar and header are chrome too
        assert "Quiz on Friday" not in got.text and "Syllabus" not in got.text
    assert listing.text.index("Next post") > listing.text.index(READ)


RELATED = (
    '<div class="related">Related: <a href="/w1">Week 1: Targets</a> | <a href="/w2">Week 2: Rules</a>'
    ' | <a href="/w4">Week 4: Dyndeps</a> | <a href="/w5">Week 5: Generators</a></div>'
)
SIDEBAR = (
    '<div class="sidebar"><h3>Course</h3><ul><li><a href="/s">Syllabus</a></li>'
    '<li><a href="/g">Grades</a></li><li><a href="/f">Forum</a></li></ul></div>'
)


def test_a_page_without_main_leaves_out_its_sidebars_header_and_blocks_of_links():
    page = (
        "<html><head><title>Pools</title></head><body>"
        '<header><a href="/">Build Systems 101</a> <span>Spring term</span></header>'
        f"{SIDEBAR}<div class='content'>{LESSON}"
        '<p>See <a href="/manual">the manual</a> and <a href="/tools">the tools</a> for more, and'
        ' <a href="/faq">the FAQ</a> when a pool seems stuck.</p></div>'
        f"{RELATED}<aside><p>Quiz on Friday, bring a pencil and your student card.</p></aside>"
        '<div role="complementary">Office hours on Tuesday afternoons in room 4.</div>'
        '<div role="banner">The University, department of computing</div>'
        "</body></html>"
    )
    text = render_html(page).text
    assert text.startswith(READ)
    # a paragraph with a few links in its sentence is content
    assert text.endswith("See the manual and the tools for more, and the FAQ when a pool seems stuck.")
    chrome_words = (
        "Build Systems 101",
        "Syllabus",
        "Course",
        "Related",
        "Week 1",
        "Quiz",
        "Office",
        "University",
    )
    for chrome in chrome_words:
        assert chrome not in text, chrome


def test_a_header_holding_the_pages_only_title_and_sections_asides_stay():
    page = (
        '<body><header><h1 id="pools">Pools</h1></header><section><h2>Depth</h2>'
        "<p>The depth of a pool is its number of slots, and jobs wait for a free one.</p>"
        "<aside><p>Note: a depth of zero is refused.</p></aside></section>"
        "<p>One more paragraph so that the page has enough text to lose its sidebar.</p>"
        "<p>And another one, since a page with almost nothing left is read as it stands.</p>"
        "</body>"
    )
    text = render_html(page).text
    assert text.startswith("Pools\n\nDepth") and "a depth of zero is refused" in text


def test_a_page_that_is_only_a_list_of_links_is_read_as_it_stands():
    page = (
        "<html><head><title>Readings</title></head><body><h1>Readings</h1><ul>"
        + "".join(f'<li><a href="/r{i}">Reading {i}: build graphs, part {i}</a></li>' for i in range(6))
        + "</ul></body></html>"
    )
    text = render_html(page).text
    assert text.startswith("Readings\n\nReading 0: build graphs") and "Reading 5" in text


def test_a_page_with_main_keeps_its_lists_of_links():
    page = f"<body>{SIDEBAR}<main>{LESSON}<h2>Further reading</h2>{RELATED}</main>{RELATED}</body>"
    text = render_html(page).text
    assert text.startswith(READ) and text.count("Related: Week 1: Targets") == 1
    assert "Syllabus" not in text


FRONT = """---
title: "Week 3: Build graphs"
layout: lesson
tags: [ninja, graphs]
---

Each edge joins an input to an output.

## Cycles

| Option | Meaning |
|:--|--:|
| `-j N` | run N jobs<br>in parallel |
| [`-k N`](#keep) | keep going until N jobs fail |

Line one<br/>line two.
"""


def test_markdown_front_matter_is_the_title_not_text():
    got = render_markdown(FRONT)
    assert got.title == "Week 3: Build graphs"
    assert got.text == (
        "Each edge joins an input to an output.\n\nCycles\n\nOption\tMeaning\n"
        "-j N\trun N jobs in parallel\n-k N\tkeep going until N jobs fail\n\nLine one\nline two."
    )
    assert [(got.text[s.start : s.start + 6], s.path) for s in got.sections] == [("Cycles", "Cycles")]


def test_markdown_without_a_front_matter_title_keeps_its_first_heading():
    assert render_markdown("---\nlayout: lesson\n---\n# Pools\n\nSlots.").title == "Pools"
    # a rule, a paragraph and a rule are Markdown, not front matter: nothing is dropped
    got = render_markdown("---\nA rule above and below.\n---\n\nMore.")
    assert got.text == "A rule above and below.\n\nMore." and got.title == ""
    broken = render_markdown("---\ntitle: [unclosed\n---\n\nBody.")
    assert "Body." in broken.text and broken.title == ""


def test_hugo_toml_front_matter_is_the_title_not_text():
    """Hugo's own front matter, between +++ lines, was read as the document's first paragraph
    ('+++ title = "Week 4: Tissues" date = 2026-10-05 +++') and the page had no title."""
    got = render_markdown(
        '+++\ntitle = "Week 4: Tissues"\ndate = 2026-10-05\ndraft = false\n+++\n\nCells form tissues.\n'
    )
    assert got.title == "Week 4: Tissues" and got.text == "Cells form tissues."
    assert render_markdown("+++\nweight = 3\n+++\n# Organs\n\nTissues form organs.").title == "Organs"
    broken = render_markdown("+++\ntitle = unquoted words\n+++\n\nBody.")  # not TOML: left as Markdown
    assert "Body." in broken.text and broken.title == ""
