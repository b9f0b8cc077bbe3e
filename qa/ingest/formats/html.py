"""Web pages: the text a browser shows (no scripts, styles or navigation), headings as sections.

A page saved from a course site or a CMS wraps its content in site chrome (a header with menus,
sidebars, a footer, cookie banners, "skip to content" links). When the page marks its content,
with a ``<main>``, an element with ``role="main"`` or exactly one ``<article>``, only that is
read (the title still comes from ``<title>``); otherwise the whole body, less what is chrome
wherever it stands: menus, the page's own footer (not an article's), dialogs, and a cookie or
consent notice (an element whose id or class names one and that holds no heading). Such a page
also loses its own sidebars and header (an ``<aside>`` or ``<header>`` of the page, not of an
article or section; a header keeps its place when it holds the page's only ``<h1>``) and its
blocks of links (a table of contents, a "Related" list, a row of footer links: several links
making most of a block's text, and no sentence of its own), unless that would leave the page
with almost nothing, when it is read as it stands.

selectolax (MIT, the Lexbor HTML5 parser) parses pages tolerantly and fast. The page's declared
charset (byte-order mark, then ``<meta charset>``) decides how its bytes are read; an undeclared
page must be UTF-8. Headings keep their ``id`` (or their section's) as the anchor a citation
links to.
"""

from __future__ import annotations

import codecs
import re
from pathlib import Path

from qa.errors import SourceError
from qa.ingest.formats.base import Extracted, Limits, TextBuilder, collapse, language_tag

__all__ = ["decode_html", "main_content", "read_html", "render_html"]

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)""", re.IGNORECASE)
_SPACES = re.compile(r"\s+")
_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))
SKIPPED = frozenset(
    "head script style noscript template nav svg iframe object button select textarea form".split()
)
BLOCKS = frozenset(
    """p div section article main aside header footer ul ol li dl dt dd table thead tbody tfoot tr
    caption blockquote figure figcaption address hr details summary center body html""".split()
)
HEADINGS = {f"h{i}": i for i in range(1, 7)}


def decode_html(data: bytes) -> str:
    """The page's text by its byte-order mark or declared charset, else UTF-8."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return data[len(bom) :].decode(encoding, errors="replace")
    declared = _META_CHARSET.search(data[:4096])
    if declared:
        name = declared.group(1).decode("ascii")
        try:
            encoding = codecs.lookup(name).name
        except LookupError:
            raise SourceError(f"declares an unknown charset {name!r}; save it as UTF-8") from None
        try:
            return data.decode(encoding)
        except UnicodeDecodeError as exc:
            raise SourceError(
                f"declares charset {name} but byte {exc.start} is not {name}; fix the declaration"
            ) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SourceError(
            f"not UTF-8 and declares no charset (bad byte at offset {exc.start}); "
            'add <meta charset="..."> or save it as UTF-8'
        ) from None


def read_html(path: Path, limits: Limits) -> Extracted:
    return render_html(decode_html(path.read_bytes()))


def render_html(html: str) -> Extracted:
    """The visible text of ``html`` with its heading path and anchors; title from ``<title>``,
    language from ``<html lang>``."""
    from selectolax.lexbor import LexborHTMLParser

    tree = LexborHTMLParser(html)
    for chrome in tree.css(_CHROME):
        chrome.decompose()
    for node in tree.css("footer, [id], [class]"):
        if _page_footer(node) or _notice(node):
            node.decompose()
    title_node = tree.css_first("title")
    walker = _Walker()
    root = main_content(tree)
    if root is None:
        root = tree.body or tree.root
        if root is not None:
            _leave_out_boilerplate(root)
    if root is not None:
        walker.walk(root)
    walker.flush()
    title = collapse(title_node.text()) if title_node is not None else ""
    page = tree.css_first("html")
    lang = language_tag(page.attributes.get("lang")) if page is not None else ""
    return walker.builder.build(title=title or walker.first_heading, lang=lang)


_CHROME = (
    'a.headerlink, [role="navigation"], [hidden], [aria-hidden="true"], [role="contentinfo"], '
    '[role="dialog"], [role="alertdialog"], [aria-modal="true"], dialog'
)
"""Never the page's content: menus, the page's footer landmark, dialogs (a consent pop-up)."""
_NOTICE = re.compile(
    r"consent|gdpr|cookiebot|onetrust|cookies?[-_]?(?:banner|bar|notice|popup|dialog|modal|law|message|warning)",
    re.IGNORECASE,
)
"""Ids and classes of cookie and consent notices ("cookie-banner", "CookieConsent",
"CybotCookiebotDialog"), not of content about cookies ("cookie-def", a section "cookies")."""
_SECTIONING = frozenset("article aside main nav section".split())


def _page_footer(node) -> bool:
    """A ``<footer>`` of the page itself (the site's), not of an article or section in it."""
    return node.tag == "footer" and _page_level(node)


def _page_level(node) -> bool:
    """Not inside an article, section, aside, nav or the page's main content."""
    parent = node.parent
    while parent is not None:
        if parent.tag in _SECTIONING or parent.attributes.get("role") == "main":
            return False
        parent = parent.parent
    return True


def _notice(node) -> bool:
    """A cookie or consent notice: its id or class says so and it holds no heading (a section
    about cookies in a page on HTTP has one)."""
    named = f"{node.attributes.get('id') or ''} {node.attributes.get('class') or ''}"
    return bool(_NOTICE.search(named)) and node.css_first("h1, h2, h3, h4, h5, h6") is None


_SIDEBARS = 'aside, header, [role="complementary"], [role="banner"]'
_LINK_BLOCKS = frozenset("div section ul ol dl p table center".split())
_LINK_SHARE = 0.7
"""A block whose links hold this share of its text (letters, not spaces) is a block of links..."""
_LINKS = 3
"""... when it holds at least this many links ..."""
_SENTENCE = 40
"""... and no run of text outside its links this long (a paragraph's sentence is longer)."""
_LEFT = 80
"""What is left out must leave this many letters (a sentence or two) and a tenth of the page's,
or nothing is left out: a page that is a heading and a list of links is read as it stands."""


def _leave_out_boilerplate(root) -> None:
    """Remove the page's own sidebars, header and blocks of links from ``root`` (a page that marks
    no content), unless the rest would be almost nothing (a page that is a list of links)."""
    found = [n for n in root.css(_SIDEBARS) if _page_level(n) and not _holds_the_title(n, root)]
    _link_blocks(root, found)
    outer = [n for n in found if not any(_contains(other, n) for other in found if other is not n)]
    total = _measure(root)[0]
    removed = sum(_measure(n)[0] for n in outer)
    if total - removed < max(_LEFT, total / 10):
        return
    for node in outer:
        node.decompose()


def _holds_the_title(header, root) -> bool:
    """A header of the page holding its only ``<h1>`` (a banner with the document's title)."""
    if header.tag != "header" and header.attributes.get("role") != "banner":
        return False
    inside = len(header.css("h1"))
    return inside > 0 and inside == len(root.css("h1"))


def _link_blocks(node, found: list) -> None:
    """Append to ``found`` the outermost blocks under ``node`` that are mostly links."""
    for child in node.iter():
        if child.tag in SKIPPED:
            continue
        if child.tag in _LINK_BLOCKS and _mostly_links(child):
            found.append(child)
        else:
            _link_blocks(child, found)


def _mostly_links(node) -> bool:
    chars, link_chars, links, run = _measure(node)
    return links >= _LINKS and link_chars >= _LINK_SHARE * chars and run < _SENTENCE


def _measure(node) -> tuple[int, int, int, int]:
    """Letters of the text a reader sees under ``node``, those inside links, the number of
    links, and the longest run of letters outside a link."""
    chars = link_chars = links = run = 0
    stack = [(node, False)]
    while stack:
        current, in_link = stack.pop()
        for child in current.iter(include_text=True):
            tag = child.tag
            if tag == "-text":
                letters = len(_SPACES.sub("", child.text_content or ""))
                chars += letters
                if in_link:
                    link_chars += letters
                else:
                    run = max(run, letters)
            elif tag not in SKIPPED:
                is_link = tag == "a" and "href" in child.attributes
                links += is_link
                stack.append((child, in_link or is_link))
    return chars, link_chars, links, run


def _contains(outer, node) -> bool:
    parent = node.parent
    while parent is not None:
        if parent == outer:
            return True
        parent = parent.parent
    return False


def main_content(tree):
    """The page's marked content: its ``<main>``, else its ``role="main"`` element, else its only
    outermost ``<article>`` (comments inside it are articles too); None when it marks none, or
    several articles (a listing), or its mark holds no text (a page its scripts fill)."""
    for selector in ("main", '[role="main"]'):
        found = tree.css_first(selector)
        if found is not None:
            return found if found.text(deep=True).strip() else None
    outer = [a for a in tree.css("article") if not _inside_article(a)]
    return outer[0] if len(outer) == 1 and outer[0].text(deep=True).strip() else None


def _inside_article(node) -> bool:
    parent = node.parent
    while parent is not None:
        if parent.tag == "article":
            return True
        parent = parent.parent
    return False


class _Walker:
    def __init__(self) -> None:
        self.builder = TextBuilder()
        self.buffer: list[str] = []
        self.first_heading = ""

    def flush(self) -> None:
        lines = (collapse(line) for line in "".join(self.buffer).split("\n"))
        self.builder.add("\n".join(line for line in lines if line))
        self.buffer.clear()

    def walk(self, node) -> None:
        for child in node.iter(include_text=True):
            tag = child.tag
            if tag == "-text":
                self.buffer.append(_SPACES.sub(" ", child.text_content or ""))
            elif tag in SKIPPED:
                continue
            elif tag == "pre":
                self.flush()
                self.builder.add(child.text(deep=True, separator="").strip("\n"))
            elif tag in HEADINGS:
                self.flush()
                text = collapse(child.text(deep=True, separator=""))
                self.first_heading = self.first_heading or text
                self.builder.heading(text, HEADINGS[tag], anchor=_anchor(child))
            elif tag == "br":
                self.buffer.append("\n")
            elif tag in ("td", "th"):
                self.walk(child)
                self.buffer.append("\t ")
            elif tag in BLOCKS:
                self.flush()
                self.walk(child)
                self.flush()
            else:
                self.walk(child)


def _anchor(heading) -> str:
    """The heading's own id, an anchor inside it, or the id of the section it opens."""
    if heading.attributes.get("id"):
        return heading.attributes["id"]
    for a in heading.css("a[id], a[name]"):
        return a.attributes.get("id") or a.attributes.get("name") or ""
    before = heading.prev
    while before is not None and before.tag == "-text" and not (before.text_content or "").strip():
        before = before.prev
    if before is not None and before.tag == "a" and not before.text(deep=True).strip():
        anchor = before.attributes.get("id") or before.attributes.get("name")
        if anchor:
            return anchor
    node = heading.parent
    for _ in range(5):
        if node is None or node.tag in ("body", "html"):
            break
        if node.attributes.get("id"):
            return node.attributes["id"]
        node = node.parent
    return ""
