"""A passage that is only a title, a heading or a line of links is not shown on its own: it
joins the passage of its document it touches, or is left out, unless the question asks for it.
Short documents are where this happens: once the first passage is taken, what is left of a
document may be its title and first heading alone."""

import numpy as np
import pytest

from qa.index.build import ensure_index
from qa.retrieval.retriever import Retriever
from qa.retrieval.shaping import Shape

KETTLE = (
    "Hard water leaves a white crust of limescale inside the kettle, on the element and around the "
    "spout. The crust makes the kettle slower to boil, louder, and it flakes into your tea. Fill the "
    "kettle with equal parts water and white vinegar, boil it once, and leave it to stand for an "
    "hour. Rinse it three times with clean cold water before you use it again today."
)
TOASTER = """Toaster quick guide

Crumb tray

Crumbs fall through the slots while bread toasts and collect in a tray under the toaster. \
Slide out the crumb tray at the bottom and empty it every week, or more often if you toast \
every day. A full tray can catch fire, and old crumbs smell when they burn.

Browning levels

Turn the dial from 1 to 6 to choose how dark the toast gets; level 3 suits most bread. The \
cancel button stops toasting at once and pops the bread up. Thin slices and frozen bread need \
different settings: try a lower level for thin slices.
"""


def _corpus(seeds) -> None:
    (seeds / "kettle.md").write_text(f"# Kettle care\n\n## Descaling\n\n{KETTLE}\n", encoding="utf-8")
    (seeds / "toaster.txt").write_text(TOASTER, encoding="utf-8")


LINKS = (
    "[Kettle care](kettle.md)\n\n[Toaster quick guide](toaster.txt)\n\nThe kettle and the toaster "
    "each have a guide of their own, written for people who use them every day.\n"
)


@pytest.fixture
def retriever(project, fake_embedder):
    _corpus(project.seeds_dir)
    ensure_index(project, fake_embedder)
    return Retriever.open(project, fake_embedder)


def _doc(retriever, name: str) -> int:
    return next(i for i, d in enumerate(retriever.index.documents) if d.source.endswith(name))


def _words(retriever, doc: int, phrase: str) -> tuple[int, int]:
    text = retriever.index.documents[doc].text
    words = retriever.index.word_maps[doc]
    a = text.index(phrase)
    first = int(np.searchsorted(words.starts, a))
    return first, int(np.searchsorted(words.starts, a + len(phrase)))


def _shape(doc: int, span: tuple[int, int], words: int) -> Shape:
    return Shape(doc, span[0], span[1], 0.5, np.zeros(words, np.float32))


def test_titles_and_headings_standing_alone_are_bare_and_sentences_are_not(retriever):
    doc = _doc(retriever, "toaster.txt")
    shaper = retriever.shaper
    assert shaper.bare(doc, *_words(retriever, doc, "Toaster quick guide\n\nCrumb tray"))
    assert shaper.bare(doc, *_words(retriever, doc, "Browning levels"))
    assert not shaper.bare(doc, *_words(retriever, doc, "Crumb tray\n\nCrumbs fall through the slots"))
    kettle = _doc(retriever, "kettle.md")
    assert shaper.bare(kettle, *_words(retriever, kettle, "Kettle care\n\nDescaling"))
    assert not shaper.bare(kettle, *_words(retriever, kettle, "Rinse it three times"))


def test_a_bare_title_joins_the_passage_it_touches_or_is_not_shown(retriever):
    doc = _doc(retriever, "toaster.txt")
    n = int(retriever.index.word_counts[doc])
    shaper = retriever.shaper
    title = _words(retriever, doc, "Toaster quick guide\n\nCrumb tray")
    body = (title[1] - 2, _words(retriever, doc, "A full tray can catch fire")[1])  # from "Crumb tray"
    out = [_shape(doc, body, n)]
    shaper.place(_shape(doc, title, n), out)
    assert [(s.word_start, s.word_end) for s in out] == [(title[0], body[1])]  # joined, not shown alone
    far = [_shape(doc, _words(retriever, doc, "Turn the dial from 1 to 6"), n)]
    shaper.place(_shape(doc, title, n), far)
    assert len(far) == 1 and far[0].word_start > title[1]  # touches no passage: left out

    def every_word_a_term(d, start, end):
        return np.ones(end - start, np.float32)

    asked: list[Shape] = []
    shaper.place(_shape(doc, title, n), asked, terms=every_word_a_term)
    assert len(asked) == 1  # a question that asks for the title gets it


def test_lines_of_links_are_not_shown_and_join_no_passage(project, fake_embedder):
    _corpus(project.seeds_dir)
    (project.seeds_dir / "links.txt").write_text(LINKS, encoding="utf-8")
    ensure_index(project, fake_embedder)
    retriever = Retriever.open(project, fake_embedder)
    doc = _doc(retriever, "links.txt")
    n = int(retriever.index.word_counts[doc])
    links = _words(retriever, doc, "Toaster quick guide")
    sentence = _words(retriever, doc, "The kettle and the toaster each have a guide")
    out = [_shape(doc, (sentence[0], n), n)]
    assert retriever.shaper.bare(doc, *links)
    retriever.shaper.place(_shape(doc, (links[0], sentence[0]), n), out)
    assert [(s.word_start, s.word_end) for s in out] == [(sentence[0], n)]


@pytest.mark.slow
def test_a_short_documents_title_is_no_passage_of_its_own_through_ask_and_the_api(tmp_path):
    """Two short documents, the real model: the third passage for a question about the toaster's
    dial was the toaster guide's title and first heading alone ("Toaster quick guide / Crumb
    tray"); now the title opens the passage below it, and no passage is bare lines."""
    from fastapi.testclient import TestClient

    from qa.config import Settings
    from qa.embedders.base import SentenceTransformerEmbedder
    from qa.web.server import create_app

    (tmp_path / "seeds").mkdir()
    _corpus(tmp_path / "seeds")
    settings = Settings(root=tmp_path)
    embedder = SentenceTransformerEmbedder(settings.model)
    ensure_index(settings, embedder)
    retriever = Retriever.open(settings, embedder)
    for question in ["How do I descale the kettle?", "What browning level should I use?"]:
        answer = retriever.ask(question, k=3)
        assert not answer.abstained
        for passage in answer.passages:
            assert len(passage.text.split()) > 8, (question, passage.text)
        toaster = [p for p in answer.passages if p.source.endswith("toaster.txt")]
        assert toaster and toaster[0].text.startswith("Toaster quick guide\n\nCrumb tray\n\nCrumbs fall")
    client = TestClient(create_app(settings, retriever), raise_server_exceptions=False)
    body = client.post("/api/v1/ask", json={"question": "What browning level should I use?", "k": 3}).json()
    assert body["passages"] and all(len(p["text"].split()) > 8 for p in body["passages"])
    text = (tmp_path / "seeds" / "toaster.txt").read_text(encoding="utf-8")
    for p in body["passages"]:
        if p["source"].endswith("toaster.txt"):
            assert text[p["start"] : p["end"]] == p["text"]
