"""Citations into PDFs, slides and web pages end to end with the fake embedder: exact slices of
the indexed text, page/slide and section filled, deep links, and only indexed originals served."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from qa.answer import Citation
from qa.ingest.links import original_link, place_label
from tests.conftest import FakeEmbedder
from tests.test_formats import HTML, POOLS, make_docx, make_pdf, make_pptx


@pytest.fixture
def indexed(project, fake_embedder):
    from qa.index.build import ensure_index
    from qa.retrieval.retriever import Retriever

    seeds = project.seeds_dir
    make_pdf(seeds / "manual.pdf")
    make_docx(seeds / "handbook.docx")
    make_pptx(seeds / "deck.pptx", repeat=15)
    (seeds / "guide.html").write_bytes(HTML.encode("latin-1"))
    (seeds / "notes.md").write_text("# Notes\n\nWe **always** lint first.\n", encoding="utf-8")
    index = ensure_index(project, fake_embedder).index
    return Retriever(index, FakeEmbedder(), project.replace(mode="lexical"))


def _top(retriever, question: str, source: str):
    answer = retriever.ask(question, k=5)
    return next(p for p in answer.passages if p.source == source)


def test_citations_are_exact_slices_with_page_slide_and_section(indexed):
    pdf = _top(indexed, "How do pools limit jobs such as linking?", "seeds/manual.pdf")
    text = indexed.index.document("seeds/manual.pdf").text
    assert pdf.text == text[pdf.start : pdf.end] and "Pools limit" in pdf.text
    assert (pdf.citation.page, pdf.citation.section) == (3, "Advanced use \u203a Pools")
    slide = _top(indexed, "Which edge joins an input to an output file?", "seeds/deck.pptx")
    assert (slide.citation.page, slide.citation.section) == (2, "Dependency graphs")
    web = _top(indexed, "Are cards accepted? Cash?", "seeds/guide.html")
    assert web.citation.section.startswith("Caf\xe9 guide") and web.citation.anchor in ("top", "sec-pay")
    word = _top(indexed, "When does late enrolment close?", "seeds/handbook.docx")
    assert word.citation.page is None and word.citation.section.startswith("Enrolment")
    md = _top(indexed, "What do we always do first? lint", "seeds/notes.md")
    assert "**" not in md.text and md.citation.section == "Notes"
    assert POOLS.split()[0] in pdf.text


def test_original_link_opens_pdf_pages_and_web_anchors():
    base = {"title": "t", "url": "", "start": 0, "end": 1, "word_start": 0, "word_end": 1, "total_words": 1}
    assert original_link(Citation("docs/m.pdf", page=12, **base)) == "/originals/docs/m.pdf#page=12"
    assert original_link(Citation("docs/a b.html", anchor="_x", **base)) == "/originals/docs/a%20b.html#_x"
    assert original_link(Citation("docs/d.pptx", page=2, **base)) == "/originals/docs/d.pptx"
    assert (
        original_link(Citation("docs/m.pdf", **base), prefix="/qa/originals/") == "/qa/originals/docs/m.pdf"
    )


def test_only_indexed_originals_are_served_with_their_content_type(indexed, project):
    from qa.web.server import create_app

    (project.seeds_dir / "later.pdf").write_bytes((project.seeds_dir / "manual.pdf").read_bytes())
    (project.root / "secret.txt").write_text("secret", encoding="utf-8")
    client = TestClient(create_app(project, indexed), raise_server_exceptions=False)
    res = client.get("/originals/seeds/manual.pdf")
    assert res.status_code == 200 and res.headers["content-type"] == "application/pdf"
    assert res.content == (project.seeds_dir / "manual.pdf").read_bytes()
    page = client.get("/originals/seeds/guide.html")
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["content-security-policy"].startswith("sandbox")
    deck = client.get("/originals/seeds/deck.pptx")
    assert deck.headers["content-type"].endswith("presentationml.presentation")
    assert deck.headers["content-disposition"].startswith("attachment")
    for path in ("seeds/later.pdf", "secret.txt", "seeds/../secret.txt", "seeds/%2e%2e/secret.txt", "seeds"):
        assert client.get("/originals/" + path).status_code == 404, path
    context = client.get("/api/v1/sources/seeds/manual.pdf", params={"start": 0, "end": 15}).json()
    assert context["passage"] == indexed.index.document("seeds/manual.pdf").text[:15]


def test_place_label_names_page_or_slide_and_section():
    base = {"title": "t", "url": "", "start": 0, "end": 1, "word_start": 0, "word_end": 1, "total_words": 1}
    assert place_label(Citation("m.pdf", page=12, section="A \u203a B", **base)) == "p. 12 \u00b7 A \u203a B"
    assert place_label(Citation("d.pptx", page=3, section="Welcome", **base)) == "slide 3 \u00b7 Welcome"
    assert place_label(Citation("g.html", section="Paying", **base)) == "Paying"
    assert place_label(Citation("n.txt", **base)) == ""
