"""What the index holds of a Word file, a slide deck and a web page, and how answers cite them:
the slide's notes on their slide under "Notes", a footnote in its section, offsets exact; an index
built by an earlier reader is rebuilt saying which reader changed."""

from __future__ import annotations

from dataclasses import replace

import pytest

from qa.index.build import ensure_index, stale_reasons
from qa.ingest.formats import reader_change, reader_versions
from qa.ingest.sources import scan_sources
from tests.conftest import FakeEmbedder
from tests.office_files import make_slides, make_word
from tests.test_formats_pages import CHROME, LESSON


@pytest.fixture
def built(project, fake_embedder):
    make_word(project.seeds_dir / "policy.docx")
    make_slides(project.seeds_dir / "lesson.pptx")
    (project.seeds_dir / "week3.html").write_text(
        CHROME.format(content=f"<main>{LESSON}</main>"), encoding="utf-8"
    )
    settings = project.replace(mode="lexical")
    return settings, ensure_index(settings, fake_embedder).index


@pytest.mark.parametrize(
    ("question", "source", "page", "section", "phrase"),
    [
        (
            "Why does ninja refuse a cycle? Ask the class",
            "seeds/lesson.pptx",
            1,
            "Dependency graphs \u203a Notes",
            "Ask the class why ninja refuses a cycle.",
        ),
        (
            "When does online enrolment open in August?",
            "seeds/policy.docx",
            None,
            "Course policy 2026 \u203a 1. Enrolment",
            "Footnote 1: Online enrolment opens in August.",
        ),
        (
            "May students sell the notes? honour code",
            "seeds/policy.docx",
            None,
            "Notes",
            "Endnote i: Selling notes breaks the honour code.",
        ),
        (
            "How many slots does the depth of a pool give?",
            "seeds/week3.html",
            None,
            "Pools \u203a Depth",
            "The depth of a pool is its number of slots.",
        ),
    ],
)
def test_answers_cite_notes_and_footnotes_exactly(built, question, source, page, section, phrase):
    from qa.retrieval.retriever import Retriever

    settings, index = built
    answer = Retriever(index, FakeEmbedder(), settings).ask(question, k=5)
    passage = next(p for p in answer.passages if p.source == source and phrase in p.text)
    document = index.document(source)
    assert document.text[passage.start : passage.end] == passage.text
    at = document.text.index(phrase)
    assert document.section_at(at) == section and document.page_at(at) == page
    assert passage.start <= at < passage.end
    # the page is where the evidence is, as the section is: the highlighted sentence's
    assert passage.citation.page == document.page_at(passage.highlight.start)


def test_the_index_holds_no_page_furniture(built):
    _, index = built
    assert "CONFIDENTIAL" not in index.document("seeds/policy.docx").text
    assert "autumn term" not in index.document("seeds/lesson.pptx").text
    page = index.document("seeds/week3.html").text
    assert "cookies" not in page and "Privacy policy" not in page and "Quiz on Friday" not in page


@pytest.mark.parametrize(
    ("name", "reader"),
    [("policy.docx", "DOCX"), ("lesson.pptx", "PPTX"), ("week3.html", "HTML"), ("notes.md", "MD")],
)
def test_an_index_built_by_the_earlier_reader_is_rebuilt_saying_why(built, name, reader):
    settings, _ = built
    (settings.seeds_dir / "notes.md").write_text("---\ntitle: Notes\n---\n\nText.", encoding="utf-8")
    manifest = ensure_index(settings, FakeEmbedder()).index.manifest
    docs, _ = scan_sources(settings.seeds_dir, settings.root)
    assert stale_reasons(manifest, docs, settings) == []
    then = reader_versions()[f"reader:{name.rsplit('.', 1)[1]}"]
    older = replace(
        manifest,
        versions=manifest.versions | {f"reader:{name.rsplit('.', 1)[1]}": str(int(then) - 1)},
        sources={**manifest.sources, f"seeds/{name}": "text read by the earlier reader"},
    )
    reason = f"the {reader} reader changed (version {int(then) - 1} -> {then})"
    assert stale_reasons(older, docs, settings) == [f"source changed: seeds/{name} ({reason})"]
    assert reader_change(older.versions, f"seeds/{name}") == reason


def test_a_passage_across_slides_is_labelled_with_the_slide_of_its_highlight(built):
    # the passage may open on the slide before; its label names where the evidence is, as the
    # document page scrolled to the highlight shows it
    from qa.retrieval.retriever import Retriever

    settings, index = built
    question = "When are outputs rebuilt? an input is newer"
    answer = Retriever(index, FakeEmbedder(), settings).ask(question, k=5)
    passage = next(p for p in answer.passages if p.source == "seeds/lesson.pptx")
    document = index.document("seeds/lesson.pptx")
    marked = passage.text[passage.highlight.start - passage.start : passage.highlight.end - passage.start]
    assert "Outputs are rebuilt when an input is newer." in marked
    assert document.page_at(passage.start) == 1  # the passage opens on the first slide
    assert passage.citation.page == 2 and passage.citation.section.startswith("Build steps")
