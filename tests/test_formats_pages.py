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
        assert got.text.endswith("Quiz on Friday")
        assert "cookies" not in got.text and "Privacy policy" not in got.text
    assert listing.text.index("Next post") > listing.text.index(READ)


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
