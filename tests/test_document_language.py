"""A document's own language, where its file says it (DOCX/PPTX core properties or Word's default
``w:lang``, PDF ``/Lang``, HTML ``<html lang>``), marks its text on the document page, so a French
or German document is read aloud in its own voice; a document whose language is unknown claims
none (not English)."""

from __future__ import annotations

import pytest

from qa.ingest.formats import Limits, read_document
from qa.ingest.formats.base import language_tag
from qa.ingest.sources import Document
from qa.web.document_page import render_page


def test_language_tags_are_kept_and_anything_else_is_unknown():
    assert language_tag("fr-FR") == "fr-FR" and language_tag(" de_DE ") == "de-DE"
    assert language_tag("") == language_tag(None) == language_tag('en" onload="x') == ""


def _docx(path, *, core: str = "", default: str | None = None):
    import docx
    from docx.oxml.ns import qn

    document = docx.Document()
    document.core_properties.language = core
    if default is not None:  # what Word writes for the author's editing language ("": none)
        run = document.styles.element.find(qn("w:docDefaults")).find(qn("w:rPrDefault")).find(qn("w:rPr"))
        lang = run.find(qn("w:lang"))
        if lang is None:
            lang = run.makeelement(qn("w:lang"), {})
            run.append(lang)
        if default:
            lang.set(qn("w:val"), default)
        else:
            run.remove(lang)
    document.add_paragraph("Les étudiants s'inscrivent en ligne.")
    document.save(str(path))
    return path


def _pptx(path, language: str):
    import pptx

    deck = pptx.Presentation()
    deck.core_properties.language = language
    deck.slides.add_slide(deck.slide_layouts[1]).shapes.title.text = "Abhängigkeiten"
    deck.save(str(path))
    return path


def _pdf(path, language: str):
    from fpdf import FPDF

    pdf = FPDF()
    if language:
        pdf.set_lang(language)
    pdf.add_page()
    pdf.set_font("Helvetica", size=11)
    pdf.cell(0, 6, "Die Bibliothek ist ab neun Uhr offen.")
    pdf.output(str(path))
    return path


def _html(path, attribute: str):
    page = f"<html{attribute}><body><p>Les cours commencent lundi.</p></body></html>"
    path.write_text(page, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("make", "lang"),
    [
        (lambda p: _docx(p / "a.docx", core="fr-FR"), "fr-FR"),
        (lambda p: _docx(p / "a.docx", default="fr-CA"), "fr-CA"),
        (lambda p: _docx(p / "a.docx"), "en-US"),  # python-docx's template, as Word's
        (lambda p: _docx(p / "a.docx", default=""), ""),
        (lambda p: _pptx(p / "a.pptx", "de-DE"), "de-DE"),
        (lambda p: _pptx(p / "a.pptx", ""), ""),
        (lambda p: _pdf(p / "a.pdf", "de-DE"), "de-DE"),
        (lambda p: _pdf(p / "a.pdf", ""), ""),
        (lambda p: _html(p / "a.html", ' lang="fr"'), "fr"),
        (lambda p: _html(p / "a.html", ""), ""),
    ],
)
def test_readers_say_the_language_their_file_states(tmp_path, make, lang):
    assert read_document(make(tmp_path), Limits()).lang == lang


def test_the_document_page_marks_the_documents_text_in_its_own_language():
    doc = Document("seeds/cours.txt", "Les étudiants s'inscrivent en ligne.", "Cours", lang="fr-FR")
    page = render_page(doc, start=0, end=12)
    assert '<html lang="en">' in page  # the page's own words stay English
    assert '<article lang="fr-FR">' in page and '<h1 lang="fr-FR">Cours</h1>' in page
    unknown = render_page(Document("seeds/notes.txt", "Some notes.", "Notes"))
    assert '<article lang="">' in unknown  # not claimed English


def test_an_index_keeps_the_language_and_leaves_an_unknown_one_out(project, fake_embedder):
    from qa.index.build import ensure_index

    _docx(project.seeds_dir / "cours.docx", core="fr-FR")
    (project.seeds_dir / "notes.txt").write_text("Some notes about the library. " * 5, encoding="utf-8")
    ensure_index(project, fake_embedder)
    loaded = ensure_index(project, fake_embedder).index
    assert {d.source: d.lang for d in loaded.documents} == {
        "seeds/cours.docx": "fr-FR",
        "seeds/notes.txt": "",
    }
    from qa.index.files import POINTER

    folder = project.index_dir / (project.index_dir / POINTER).read_text().strip()
    records = (folder / "documents.jsonl").read_text(encoding="utf-8")
    assert records.count('"lang"') == 1
