"""Markdown shown as a reader sees it: no ``#``, ``**``, link or table syntax; headings as sections.

Parsed by markdown-it-py (CommonMark plus tables), so emphasis, links, entities and code are read
as any Markdown renderer reads them; each block becomes a paragraph of plain text, a table row a
line of cells separated by tabs. Raw HTML tags are markup and go (``<br>`` is a line break), but
a tag that names no HTML element (``<cachedir>``, ``<dir prefix="xdg">``, ``<version>``: a
configuration element or a placeholder the author wrote without backticks) is the author's text
and stays, as a reader of the page would need it. Front matter is not text: YAML (``---`` /
``title: ...`` / ``---`` at the top, as Jekyll, Hugo and course sites write it) or TOML (``+++`` /
``title = "..."`` / ``+++``, Hugo's own); its ``title`` is the document's title.
"""

from __future__ import annotations

import re
from pathlib import Path

from qa.ingest.formats.base import Extracted, Limits, TextBuilder, collapse
from qa.ingest.formats.text import decode_utf8

__all__ = ["front_matter", "read_markdown", "render_markdown"]

_TAG = re.compile(r"</?([A-Za-z][A-Za-z0-9-]*)?[^>]*>")
_HTML_ELEMENTS = frozenset(
    """a abbr address area article aside audio b base bdi bdo blockquote body br button canvas
    caption center cite code col colgroup data datalist dd del details dfn dialog div dl dt em embed
    fieldset figcaption figure font footer form h1 h2 h3 h4 h5 h6 head header hgroup hr html i
    iframe img input ins kbd label legend li link main map mark menu meta meter nav noscript object
    ol optgroup option output p param picture pre progress q rp rt ruby s samp script search
    section select slot small source span strike strong style sub summary sup svg table tbody td
    template textarea tfoot th thead time title tr track tt u ul var video wbr""".split()
)
_BREAK = re.compile(r"<br\s*/?>", re.IGNORECASE)
_FRONT_MATTER = re.compile(
    r"\A---[ \t]*\r?\n(.*?)^(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)", re.DOTALL | re.MULTILINE
)
_TOML_FRONT_MATTER = re.compile(
    r"\A\+\+\+[ \t]*\r?\n(.*?)^\+\+\+[ \t]*(?:\r?\n|\Z)", re.DOTALL | re.MULTILINE
)


def read_markdown(path: Path, limits: Limits) -> Extracted:
    return render_markdown(decode_utf8(path.read_bytes()))


def render_markdown(source: str) -> Extracted:
    """The text of a Markdown document with its heading path; the first level-1 heading is the title."""
    from markdown_it import MarkdownIt

    title_given, source = front_matter(source.removeprefix("\ufeff"))
    tokens = MarkdownIt("commonmark").enable("table").parse(source)
    builder = TextBuilder()
    title = ""
    row: list[str] = []
    bullet, first_row, first_item = "", False, False
    for i, token in enumerate(tokens):
        kind = token.type
        if kind == "heading_open":
            text = _inline(tokens[i + 1])
            level = int(token.tag[1])
            title = title or (text if level == 1 else "")
            builder.heading(text, level)
        elif kind in ("bullet_list_open", "ordered_list_open"):
            first_item = True
        elif kind == "list_item_open":
            bullet = f"{token.info}{token.markup} " if token.info else "\u2022 "
        elif kind == "inline" and tokens[i - 1].type == "paragraph_open":
            sep = "\n" if bullet and not first_item else "\n\n"
            builder.add(bullet + _inline(token), sep=sep)
            bullet, first_item = "", False
        elif kind in ("fence", "code_block"):
            builder.add(token.content.rstrip("\n"))
        elif kind == "html_block":
            builder.add(_markup_out(token.content).strip())
        elif kind == "inline" and tokens[i - 1].type in ("th_open", "td_open"):
            row.append(_inline(token, line_break=" "))
        elif kind == "table_open":
            first_row = True
        elif kind == "tr_close":
            builder.add("\t".join(row), sep="\n\n" if first_row else "\n")
            row, first_row = [], False
    return builder.build(title=title_given or title)


def front_matter(source: str) -> tuple[str, str]:
    """The title in ``source``'s YAML or TOML front matter ("" when none) and the Markdown after
    it; a block between ``---`` (or ``+++``) lines that is not a YAML (TOML) mapping is Markdown,
    left as it is."""
    match = _FRONT_MATTER.match(source)
    toml = _TOML_FRONT_MATTER.match(source) if not match else None
    if toml:
        import tomllib

        try:
            fields = tomllib.loads(toml.group(1))
        except tomllib.TOMLDecodeError:
            return "", source
        match = toml
    elif not match:
        return "", source
    else:
        import yaml

        try:
            fields = yaml.safe_load(match.group(1))
        except yaml.YAMLError:
            return "", source
    if not isinstance(fields, dict):
        return "", source
    title = fields.get("title")
    return (collapse(str(title)) if title is not None else ""), source[match.end() :]


def _inline(token, *, line_break: str = "\n") -> str:
    out = []
    for child in token.children or ():
        if child.type in ("text", "code_inline"):
            out.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            out.append(line_break)
        elif child.type == "html_inline" and _BREAK.fullmatch(child.content.strip()):
            out.append(line_break)
        elif child.type == "html_inline":
            out.append(_markup_out(child.content))
        elif child.type == "image":
            out.append("".join(c.content for c in child.children or ()))
    return "".join(out).strip()


def _markup_out(html: str) -> str:
    """``html`` without its HTML tags and comments; a tag naming no HTML element stays as text."""
    html = re.sub(r"<!--.*?-->", "", html, flags=re.DOTALL)
    return _TAG.sub(lambda m: "" if _is_markup(m.group(1)) else m.group(0), html)


def _is_markup(name: str | None) -> bool:
    return name is None or name.lower() in _HTML_ELEMENTS
