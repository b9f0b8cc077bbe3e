"""A document as a page (``/context/SOURCE``): the indexed text with headings, paragraphs, page
and slide labels, the cited passage shaded and its highlight marked (``#cited``), a link to the
original; citations of Word, PowerPoint, Markdown and text files open it; the same access rules
as the originals (key, signed link, origin, LTI course)."""

from __future__ import annotations

import html
import re
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient

from qa.ingest.sources import Document
from qa.web.document_page import MOVED, PAGE_POLICY, document_blocks, render_page
from tests.conftest import FakeEmbedder
from tests.test_formats import HTML, make_docx, make_pdf, make_pptx
from tests.test_lti import courses, lms  # noqa: F401 (fixtures)

KEY = "a-learners-key-for-tests"
NOTES = "# Notes\n\nWe **always** lint first.\n\n## Later\n\n- one\n- two <b>x</b>\n"


@pytest.fixture
def corpus(project, fake_embedder):
    from qa.index.build import ensure_index

    seeds = project.seeds_dir
    make_pdf(seeds / "manual.pdf")
    make_docx(seeds / "handbook.docx")
    make_pptx(seeds / "deck.pptx", repeat=3)
    (seeds / "guide.html").write_bytes(HTML.encode("latin-1"))
    (seeds / "notes.md").write_text(NOTES, encoding="utf-8")
    (seeds / "plain.txt").write_text("Opening hours\n\nThe library opens at nine.\n", encoding="utf-8")
    ensure_index(project, fake_embedder)
    return project.replace(mode="lexical")


def _client(settings, **changes) -> TestClient:
    from qa.retrieval.retriever import Retriever
    from qa.web.server import create_app

    settings = settings.replace(**changes)
    return TestClient(
        create_app(settings, Retriever.open(settings, FakeEmbedder())), raise_server_exceptions=False
    )


def _cite(client, question: str, source: str, **headers) -> dict:
    body = client.post("/api/v1/ask", json={"question": question, "k": 6}, headers=headers).json()
    return next(p for p in body["passages"] if p["source"] == source)


def test_blocks_have_headings_paragraphs_page_labels_and_the_marks():
    text = "Welcome\n\nThis course covers builds.\n\nGraphs\n\nEach edge joins files.\nNotes\nSay hello."
    doc = Document(
        "seeds/deck.pptx",
        text,
        "Deck",
        pages=(0, text.index("Graphs")),
        sections=((0, "Welcome", ""), (text.index("Graphs"), "Graphs", "")),
        page_unit="slide",
    )
    edge = text.index("Each edge")
    blocks = document_blocks(doc, passage=(edge, edge + 22), highlight=(edge + 5, edge + 9))
    assert [(b.kind, b.text) for b in blocks] == [
        ("page", "slide 1"),
        ("heading", "Welcome"),
        ("paragraph", "This course covers builds."),
        ("page", "slide 2"),
        ("heading", "Graphs"),
        ("paragraph", "Each edge joins files.\nNotes\nSay hello."),
    ]
    assert blocks[-1].html == (
        "<span class='passage'>Each </span><span class='passage' id='cited'><mark>edge</mark></span>"
        "<span class='passage'> joins files.</span>\nNotes\nSay hello."
    )
    assert blocks[1].level == 2  # under the page's own title


def test_the_page_escapes_the_text_and_says_when_the_place_moved():
    doc = Document("seeds/a.md", "# A <b>title</b>\n\n<script>alert(1)</script> & more", "A <b>title</b>")
    page = render_page(doc, start=100, end=120)
    assert "<script>alert" not in page and "&lt;script&gt;" in page and "&amp; more" in page
    assert MOVED in page and "id='cited'" not in page and "Go to the passage" not in page
    assert "<h1>A &lt;b&gt;title&lt;/b&gt;</h1>" in page


def test_citations_of_each_format_link_where_they_read_best(corpus):
    client = _client(corpus)
    word = _cite(client, "When does late enrolment close?", "seeds/handbook.docx")["citation"]
    assert word["link"] == word["context_page"] and word["link"].startswith("/context/seeds/handbook.docx?")
    assert word["link"].endswith("#cited") and word["original_url"] == "/originals/seeds/handbook.docx"
    for question, source in (
        ("Which edge joins an input to an output file?", "seeds/deck.pptx"),
        ("What do we always do first? lint", "seeds/notes.md"),
        ("When does the library open?", "seeds/plain.txt"),
    ):
        citation = _cite(client, question, source)["citation"]
        assert citation["link"] == citation["context_page"], source
    pdf = _cite(client, "How do pools limit jobs such as linking?", "seeds/manual.pdf")["citation"]
    assert pdf["link"] == "/originals/seeds/manual.pdf#page=3"  # the PDF's own layout, at its page
    assert pdf["context_page"].startswith("/context/seeds/manual.pdf?")
    web = _cite(client, "Are cards accepted? Cash?", "seeds/guide.html")["citation"]
    assert web["link"].startswith("/originals/seeds/guide.html#")  # the web page's own layout


def test_the_page_marks_the_cited_passage_and_downloads_the_original(corpus):
    client = _client(corpus)
    passage = _cite(client, "When does late enrolment close?", "seeds/handbook.docx")
    res = client.get(passage["citation"]["context_page"])
    assert res.status_code == 200 and res.headers["content-type"].startswith("text/html")
    assert res.headers["content-security-policy"] == PAGE_POLICY  # no script runs, nothing loads
    page = res.text
    assert "<title>Course handbook</title>" in page
    assert "<mark>" + passage["highlight_text"] + "</mark>" in page.replace("\n", " ")
    assert page.count("id='cited'") == 1 and re.search(r"<h3>(<span[^>]*>)?Deadlines(</span>)?</h3>", page)
    assert "Course handbook · Enrolment" in page  # the citation's label
    href = re.search(r'class="download" href="([^"]+)"', page).group(1)
    assert href == "../../originals/seeds/handbook.docx"
    original = client.get(str(res.url.join(href)))
    assert (
        original.status_code == 200 and original.content == (corpus.seeds_dir / "handbook.docx").read_bytes()
    )


def test_slides_and_pages_are_labelled_as_citations_name_them(corpus):
    client = _client(corpus)
    deck = client.get("/context/seeds/deck.pptx").text
    assert "slide 1</div>" in deck and "slide 2</div>" in deck and "Dependency graphs</h" in deck
    manual = client.get("/context/seeds/manual.pdf").text
    assert 'id="page-3">p. 3</div>' in manual and "Pools</h" in manual
    notes = client.get("/context/seeds/notes.md").text
    assert "**" not in notes and "We always lint first." in notes and "Later</h" in notes


def test_only_indexed_documents_have_a_page(corpus):
    client = _client(corpus)
    (corpus.seeds_dir / "later.txt").write_text("not indexed", encoding="utf-8")
    (corpus.root / "secret.txt").write_text("secret", encoding="utf-8")
    for path in ("seeds/later.txt", "secret.txt", "seeds/../secret.txt", "seeds/%2e%2e/secret.txt", "seeds"):
        assert client.get("/context/" + path).status_code == 404, path
    assert client.post("/context/seeds/notes.md").status_code == 405


def test_with_a_key_the_page_needs_it_or_a_signed_link(corpus):
    client = _client(corpus, api_key=KEY)
    bare = "/context/seeds/handbook.docx"
    assert client.get(bare).status_code == 401
    assert client.get(bare, headers={"Authorization": f"Bearer {KEY}"}).status_code == 200
    passage = _cite(
        client, "When does late enrolment close?", "seeds/handbook.docx", Authorization=f"Bearer {KEY}"
    )
    signed = passage["citation"]["context_page"]
    assert "sig=" in signed and signed == passage["citation"]["link"] and signed.endswith("#cited")
    res = client.get(signed)  # a new tab: no key, no cookie
    assert res.status_code == 200 and "id='cited'" in res.text
    download = html.unescape(re.search(r'class="download" href="([^"]+)"', res.text).group(1))
    assert "sig=" in download  # the page's download opens without the key too
    assert client.get(str(res.url.join(download))).status_code == 200
    query = urlsplit(signed).query
    assert client.get(f"/context/seeds/deck.pptx?{query}").status_code == 401  # only its own file
    original = urlsplit(passage["citation"]["original_url"]).query
    assert client.get(f"{bare}?{original}").status_code == 401  # an original's signature is not the page's


def test_pages_refuse_other_origins(corpus):
    client = _client(corpus, allowed_origins=("https://lms.example.edu",))
    assert (
        client.get("/context/seeds/notes.md", headers={"Origin": "https://evil.example"}).status_code == 403
    )
    assert (
        client.get("/context/seeds/notes.md", headers={"Origin": "https://lms.example.edu"}).status_code
        == 200
    )


def test_an_lti_session_opens_only_its_own_collections_pages(courses, fake_embedder, lms, monkeypatch):  # noqa: F811
    from tests.test_lti import chat_path, make_client

    client = make_client(courses, fake_embedder, lms, monkeypatch, courses={"course-1": "biology"})
    path = chat_path(lms.launch(client))
    answer = client.post(
        path + "api/v1/ask", json={"question": "What do ribosomes build?", "collection": "biology"}
    )
    link = answer.json()["passages"][0]["citation"]["link"]
    assert link.startswith("/context/seeds/biology/cells.md?")
    page = client.get(path + link.lstrip("/"))
    assert page.status_code == 200 and "ribosome" in page.text.lower()
    download = re.search(r'class="download" href="([^"]+)"', page.text).group(1)
    assert client.get(str(page.url.join(download))).status_code == 200  # the session's own original
    assert str(page.url.join(download)).endswith(path + "originals/seeds/biology/cells.md")
    for other in ("seeds/geology/volcano.md", "seeds/rome.md"):
        refused = client.get(path + "context/" + other)
        assert (
            refused.status_code == 403 and refused.json()["error"] == "this session is for another collection"
        )


BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


def test_a_tab_that_cannot_open_a_document_gets_a_page_saying_what_to_do(corpus):
    from qa.web.signed_links import LinkSigner

    client = _client(corpus, api_key=KEY)
    unsigned = client.get("/context/seeds/notes.md", headers=BROWSER)
    assert unsigned.status_code == 401 and unsigned.headers["content-type"].startswith("text/html")
    assert "Sign in first" in unsigned.text
    expired = LinkSigner(KEY.encode(), clock=lambda: 1_000_000.0).sign("/originals/seeds/notes.md")
    page = client.get(expired, headers=BROWSER)
    assert (
        page.status_code == 401
        and "This link has run out" in page.text
        and "Ask your question again" in page.text
    )
    gone = client.get("/context/seeds/gone.md", headers={**BROWSER, "Authorization": f"Bearer {KEY}"})
    assert gone.status_code == 404 and "not in the course any more" in gone.text
    # programs keep the JSON shape
    assert client.get(expired).json()["error"].startswith("this link to the original has expired")
    assert client.get("/originals/seeds/gone.md", headers={"Authorization": f"Bearer {KEY}"}).json()["error"]
    assert (
        client.get("/api/v1/nothing", headers=BROWSER).headers["content-type"].startswith("application/json")
    )


def test_a_tab_on_an_address_the_app_does_not_serve_gets_a_page(corpus):
    """A mistyped address opened in a browser showed the API's JSON, {"error": "Not Found"}; a
    tab gets a short page saying what to do, and programs keep the JSON."""
    client = _client(corpus)
    page = client.get("/nothing/here", headers=BROWSER)
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert "There is no page at this address" in page.text and "chat page" in page.text
    assert client.get("/nothing/here").json()["error"]
    assert client.get("/api/v1/nothing", headers=BROWSER).json()["error"]


def test_an_instructor_opens_the_courses_documents_from_its_admin_page(
    courses,  # noqa: F811 (the fixture)
    fake_embedder,
    lms,  # noqa: F811
    monkeypatch,
):
    from tests.lti_platform import INSTRUCTOR
    from tests.test_lti import chat_path, make_client

    client = make_client(courses, fake_embedder, lms, monkeypatch, courses={"course-1": "biology"})
    chat = chat_path(lms.launch(client, roles=INSTRUCTOR))
    listed = client.get(chat.replace("/chat/", "/admin/") + "api/v1/admin/collections/biology").json()
    (cells,) = [d for d in listed["documents"] if d["name"] == "cells.md"]
    # admin.js opens it in the session's chat folder: /lti/admin/TOKEN/ -> /lti/chat/TOKEN/context/...
    page = client.get(chat + cells["page_url"].lstrip("/"))
    assert page.status_code == 200 and "ribosome" in page.text.lower()


def test_a_plain_texts_heading_marks_are_not_shown():
    text = "Opening hours\n=============\n\nThe library opens at nine.\n\n"
    text += "## Loans\n\nBooks go back in three weeks."
    blocks = document_blocks(Document("seeds/a.txt", text, "Library"))
    assert [(b.kind, b.text) for b in blocks] == [
        ("heading", "Opening hours"),
        ("paragraph", "The library opens at nine."),
        ("heading", "Loans"),
        ("paragraph", "Books go back in three weeks."),
    ]


def test_a_word_table_is_a_table_on_the_page_with_its_cells_marked_where_the_text_is():
    text = "Fees\n\nThe fees this year:\n\n\tFee\tWeeks\nBuilds\t120 EUR\t6\nGraphs\t\t\n\nPay by May."
    doc = Document("seeds/fees.docx", text, "Fees", sections=((0, "Fees", ""),))
    fee = text.index("120 EUR")
    passage, highlight = (text.index("Builds"), text.index("Pay")), (fee, fee + 3)
    blocks = document_blocks(doc, passage=passage, highlight=highlight)
    assert [(b.kind, b.text) for b in blocks] == [
        ("heading", "Fees"),
        ("paragraph", "The fees this year:"),
        ("table", "\tFee\tWeeks\nBuilds\t120 EUR\t6\nGraphs\t\t"),  # empty cells at its ends too
        ("paragraph", "Pay by May."),
    ]
    table = blocks[2]
    assert [len(row) for row in table.rows] == [3, 3, 3]
    assert table.rows[0] == ("", "Fee", "Weeks") and table.rows[2][1:] == ("", "")
    assert table.rows[1][1] == (
        "<span class='passage' id='cited'><mark>120</mark></span><span class='passage'> EUR</span>"
    )
    # every cell's text is the indexed text at its place, so the marks fall on the same characters
    plain = [[re.sub("<[^>]+>", "", cell) for cell in row] for row in table.rows]
    assert "\n".join("\t".join(row) for row in plain) == table.text
    page = render_page(doc, start=passage[0], end=passage[1], hs=highlight[0], he=highlight[1])
    assert "<td><span class='passage' id='cited'><mark>120</mark>" in page
    assert page.count("<tr>") == 3 and "<td></td>" in page


def test_tabs_elsewhere_stay_text():
    text = "Fees\n\nCourse\tFee\nBuilds\t120 EUR\n\nName:\tAda"
    sections = ((0, "Fees", ""),)
    assert "table" not in [b.kind for b in document_blocks(Document("seeds/fees.txt", text, "Fees"))]
    word = document_blocks(Document("seeds/fees.docx", text, "Fees", sections=sections))
    assert [b.kind for b in word] == ["heading", "table", "paragraph"]  # one line with a tab: text
