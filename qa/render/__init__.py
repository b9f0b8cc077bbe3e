"""The one place an :class:`~qa.answer.Answer` becomes something a person or a program reads.

Four renderings of the same answer, with one vocabulary: plain text (the CLI and the chat's copy
button), a citation label ("Title · p. 12 · Section", the file and offsets as secondary detail),
marked HTML (everything escaped, the highlight in ``<mark>``) and JSON (:func:`answer_json`, the
one shape of ``qa ask --json``, ``POST /api/v1/ask`` and ``qa eval`` runs).

When the bot declines, the closest passages are labelled as closest text, never highlighted as
answers, and the evidence that decided is shown beside the threshold it missed.
"""

from __future__ import annotations

import html
import textwrap
from collections.abc import Sequence
from dataclasses import replace
from typing import Any
from urllib.parse import quote

from qa.answer import SECTION_SEPARATOR, Answer, Citation, Passage
from qa.config import Settings
from qa.render.links import (
    CITED_ID,
    CONTEXT_PREFIX,
    ORIGINALS_PREFIX,
    citation_link,
    context_page,
    deep_link,
    original_link,
    passage_digest,
    web_address,
)

__all__ = [
    "CITED_ID",
    "CLOSEST",
    "CONTEXT_PREFIX",
    "DECLINE",
    "DECLINE_HINT",
    "IN_DOCUMENT",
    "NEW_TAB",
    "MAX_HISTORY",
    "MAX_PASSAGES",
    "MAX_SHOWN_PASSAGES",
    "ORIGINAL",
    "ORIGINALS_PREFIX",
    "SEE_IN_CONTEXT",
    "SOURCES_PATH",
    "STALE",
    "answer_html",
    "answer_json",
    "citation_detail",
    "citation_label",
    "citation_link",
    "context_page",
    "decision",
    "deep_link",
    "escape",
    "learner_notice",
    "marked_html",
    "original_link",
    "passage_digest",
    "passage_json",
    "place_label",
    "plain_text",
]

# vocabulary: the same words in the chat page, the widget (through the JSON) and the CLI ---------

DECLINE = "The course documents don't seem to answer this question."
"""Said when the bot abstains (to learners, in plain words; :func:`decision` says why, for authors)."""
DECLINE_HINT = "Try other words, or ask the course staff."
"""Follows :data:`DECLINE` for learners."""
CLOSEST = "Closest text in the documents (not an answer):"
"""Heads the passages shown after :data:`DECLINE`."""
ORIGINAL = "original"
"""The link to the original document (``original ↗`` on pages)."""
SEE_IN_CONTEXT = "See in context"
"""The fold or button that shows a passage in its surrounding text."""
IN_DOCUMENT = "in the document"
"""The link to the document's page served by the app, the passage highlighted in it
(``in the document ↗`` on pages; see :func:`context_page`)."""
NEW_TAB = "opens in a new tab"
"""What a screen reader says after a link's words when the link opens a new tab (``↗`` on pages)."""

# limits -----------------------------------------------------------------------------------------

MAX_PASSAGES = 50
"""Most passages one question can ask for (``k``) through the CLI and the API."""
MAX_SHOWN_PASSAGES = 10
"""Most passages under one answer in the chat page and the widget."""
MAX_HISTORY = 50
"""Most earlier questions sent with a follow-up."""

SOURCES_PATH = "/api/v1/sources/"
"""API path of a passage in its surrounding text (``context_url`` in the JSON)."""
STALE = "changed since it was indexed: the original may differ from this quote"
"""Said beside a passage whose file changed on disk since the index was built."""


# citations -------------------------------------------------------------------------------------


def place_label(citation: Citation) -> str:
    """ "p. 12 · Variable expansion" (PDF), "slide 3 · Welcome" (PPTX), the section alone for
    formats without pages, or "" when neither is known."""
    parts = []
    if citation.page:
        unit = "slide" if citation.source.lower().endswith(".pptx") else "p."
        parts.append(f"{unit} {citation.page}")
    if citation.section:
        parts.append(citation.section)
    return " \u00b7 ".join(parts)


def citation_label(c: Citation) -> str:
    """What a learner needs first: "Title · p. 12 · Section" (page and section when known). A
    section path that opens with the document's title (a page whose first heading is its title)
    drops it there, so the title is not said twice: "Apache License · 4. Redistribution"."""
    title = c.title or c.source
    section = _below_title(c.section, title)
    place = place_label(replace(c, section=section) if section != c.section else c)
    return f"{title} · {place}" if place else title


def _below_title(section: str, title: str) -> str:
    """``section`` without a leading heading equal to ``title`` (case and spacing aside)."""
    head, sep, rest = section.partition(SECTION_SEPARATOR)
    if " ".join(head.split()).casefold() == " ".join(title.split()).casefold():
        return rest if sep else ""
    return section


def citation_detail(c: Citation) -> str:
    """Secondary detail: "seeds/a.txt · words 1,204–1,318 of 5,345 · characters 14,095–14,840"."""
    return f"{c.source} · {c.word_range} · characters {c.start:,}\u2013{c.end:,}"


# the decision ---------------------------------------------------------------------------------


def decision(answer: Answer, settings: Settings | None = None) -> str:
    """Why the bot declined, in one line: the evidence and the threshold it missed."""
    if answer.reason:
        return answer.reason
    evidence = f"evidence {answer.evidence:.2f}"
    if settings is None:
        return f"{evidence}, too weak to answer"
    if answer.evidence >= settings.abstain_threshold:
        return (
            f"{evidence}; the question names something the documents never mention, "
            f"which needs {settings.unknown_name_threshold:.2f}"
        )
    return f"{evidence}; an answer needs {settings.abstain_threshold:.2f}"


def learner_notice(answer: Answer) -> str:
    """What a learner reads when the bot declines, in plain words (no signals, no figures):
    :data:`DECLINE`, the names the question uses that the documents never mention (when that
    decided), and :data:`DECLINE_HINT`. '' for an answer."""
    if not answer.abstained:
        return ""
    words = [DECLINE]
    if answer.unknown:
        listed = ", ".join(f"“{name}”" for name in answer.unknown[:3])
        words.append(f"They never mention {listed}.")
    words.append(DECLINE_HINT)
    return " ".join(words)


# plain text ------------------------------------------------------------------------------------


def plain_text(
    answer: Answer, settings: Settings | None = None, *, scores: bool = False, technical: bool = True
) -> str:
    """The answer as text: the highlighted sentence, then numbered passages with citations.

    ``scores`` adds each passage's score (the CLI); a declined answer shows the deciding
    evidence instead, since its passages' scores do not mean they answer. ``technical=False``
    (what a learner copies) says why it declined in plain words (:func:`learner_notice`).
    """
    lines: list[str] = []
    if answer.abstained:
        lines += [f"{DECLINE} ({decision(answer, settings)})" if technical else learner_notice(answer)]
        if answer.passages:
            lines += ["", CLOSEST]
    elif answer.passages:
        lines += [f"\u201c{answer.passages[0].highlight_text}\u201d [1]"]
    for i, p in enumerate(answer.passages, 1):
        c = p.citation
        score = f" (score {p.score:.2f})" if scores and not answer.abstained else ""
        lines += ["", f"[{i}] {citation_label(c)}{score}", f"    {citation_detail(c)}"]
        link = deep_link(c, p.highlight_text)
        if web_address(link):  # a path served by the app means nothing in a terminal
            lines.append(f"    {ORIGINAL}: {link}")
        lines.append(textwrap.indent(p.text, "    "))  # every line under its citation, not only the first
    return "\n".join(lines).strip() + "\n"


# HTML ------------------------------------------------------------------------------------------


def escape(s: str) -> str:
    """Escaped text with line breaks kept; never a blank line (which ends an HTML block)."""
    return html.escape(s).replace("\r", "").replace("\n", "<br>")


def marked_html(text: str, offset: int, start: int, end: int) -> str:
    """``text`` (starting at source offset ``offset``) escaped, with ``[start, end)`` in ``<mark>``."""
    a = max(0, min(len(text), start - offset))
    b = max(a, min(len(text), end - offset))
    middle = f"<mark>{escape(text[a:b])}</mark>" if b > a else ""
    return escape(text[:a]) + middle + escape(text[b:])


def _anchor(href: str, text: str, kind: str) -> str:
    return (
        f" · <a class='{kind}' href='{escape(href)}' target='_blank' rel='noopener noreferrer'"
        f" title='{escape(href)}' aria-label='{text} ({NEW_TAB})'>{text} ↗</a>"
    )


def _link_html(p: Passage, *, declined: bool = False) -> str:
    """The citation's link (the original, or the document's page when that is where it opens),
    and the document's page beside an original that opens elsewhere (a declined answer's page
    shades the closest text and marks nothing)."""
    link, page = citation_link(p, closest=declined), context_page(p, closest=declined)
    if link == page:
        return _anchor(page, IN_DOCUMENT, "qa-link qa-in-document")
    if not (web_address(link) or link.startswith(ORIGINALS_PREFIX)):
        return _anchor(page, IN_DOCUMENT, "qa-in-document")
    return _anchor(link, ORIGINAL, "qa-link") + _anchor(page, IN_DOCUMENT, "qa-in-document")


def _passage_html(
    number: int, p: Passage, context: str, *, is_open: bool, declined: bool, stale: bool = False
) -> str:
    c = p.citation
    if declined:  # closest text, not an answer: nothing marked as if it answered
        body = escape(p.text)
    else:
        body = marked_html(p.text, p.start, p.highlight.start, p.highlight.end)
    summary = (
        f"<summary class='qa-cite'><span class='qa-num'>[{number}]</span> "
        f"<strong class='qa-label'>{escape(citation_label(c))}</strong>"
        f"<span class='qa-where'> · {escape(c.word_range)}</span></summary>"
    )
    note = f" · <span class='qa-stale'>{escape(STALE)}</span>" if stale else ""
    detail = (
        f"<div class='qa-detail'><code>{escape(c.source)}</code> · characters "
        f"{c.start:,}\u2013{c.end:,}{_link_html(p, declined=declined)}{note}</div>"
    )
    return (
        f"<li class='qa-passage'><details class='qa-fold'{' open' if is_open else ''}>{summary}"
        f"<p class='qa-text'>{body}</p>{detail}{context}</details></li>"
    )


def answer_html(
    answer: Answer,
    contexts: Sequence[str] | None = None,
    *,
    settings: Settings | None = None,
    tools: str = "",
    stale: frozenset[str] | set[str] = frozenset(),
) -> str:
    """The answer as one HTML block (no blank lines, so Markdown leaves it alone).

    An answer leads with passage [1] open, its highlighted sentence marked in place (shown
    once); the other passages are folded under their citation labels. ``contexts`` holds each
    passage's context fold ('' for none); ``tools`` is put right under the lead (copy button).
    """
    contexts = list(contexts or ())
    contexts += [""] * (len(answer.passages) - len(contexts))
    items = "".join(
        _passage_html(
            i,
            p,
            ctx,
            is_open=i == 1 and not answer.abstained,
            declined=answer.abstained,
            stale=p.citation.source in stale,
        )
        for i, (p, ctx) in enumerate(zip(answer.passages, contexts), 1)
    )
    parts = ["<div class='qa-answer'>"]
    if answer.abstained:  # plain words for learners; the figures are for authors (JSON ``reason``)
        parts.append(f"<p class='qa-abstain'>{escape(DECLINE)}</p>")
        more = learner_notice(answer).removeprefix(DECLINE).strip()
        parts.append(f"<p class='qa-decline-hint'>{escape(more)}</p>")
        parts.append(tools)
        if answer.passages:
            parts.append(
                f"<p class='qa-closest-label'>{escape(CLOSEST)}</p>"
                f"<ol class='qa-passages qa-closest'>{items}</ol>"
            )
    else:
        parts.append(tools)
        parts.append(f"<ol class='qa-passages'>{items}</ol>")
    parts.append("</div>")
    return "".join(parts)


# JSON ------------------------------------------------------------------------------------------


def passage_json(p: Passage, *, closest: bool = False) -> dict[str, Any]:
    """One passage: ``text`` (exactly ``source[start:end]``), ``source``, ``start``, ``end``,
    ``score``, ``highlight``, ``highlight_text``, the ``citation`` and its ``context_url``
    (``closest``: a declined answer's passage, whose document page marks nothing)."""
    c = p.citation
    context = f"{SOURCES_PATH}{quote(c.source)}?start={c.start}&end={c.end}"
    context += f"&hs={p.highlight.start}&he={p.highlight.end}&v={passage_digest(p.text)}"
    return {
        "text": p.text,
        "source": c.source,
        "start": c.start,
        "end": c.end,
        "score": round(p.score, 4),
        "highlight": {"start": p.highlight.start, "end": p.highlight.end},
        "highlight_text": p.highlight_text,
        "citation": {
            "source": c.source,
            "title": c.title,
            "url": c.url,
            "link": citation_link(p, closest=closest),
            "original_url": original_link(c),
            "context_page": context_page(p, closest=closest),
            "start": c.start,
            "end": c.end,
            "page": c.page,
            "section": c.section,
            "label": citation_label(c),
            "words": {
                "start": c.word_start,
                "end": c.word_end,
                "total": c.total_words,
                "label": c.word_range,
            },
        },
        "context_url": context,
    }


def answer_json(answer: Answer, settings: Settings | None = None) -> dict[str, Any]:
    """The one JSON shape of an answer: the CLI's ``--json``, the API and evaluation runs.

    ``notice`` holds what a page shows learners above the passages: '' for an answer, else
    :func:`learner_notice`; ``reason`` why it declined, for authors (:func:`decision`: the
    deciding signals and figures); ``closest_label`` heads a declined answer's passages.
    """
    return {
        "question": answer.question,
        "query": answer.query or answer.question,
        "abstained": answer.abstained,
        "evidence": round(answer.evidence, 4),
        "notice": learner_notice(answer),
        "reason": decision(answer, settings) if answer.abstained else "",
        "closest_label": CLOSEST if answer.abstained else "",
        "passages": [passage_json(p, closest=answer.abstained) for p in answer.passages],
    }
