"""What a link to a passage opens once time has passed or the bot declined: a document replaced
since the answer (other text at the same offsets) is not marked as if the passage were still
there, and a declined answer's closest text opens shaded as the closest text, nothing marked as
the answer's key sentence (as the chat and the widget show it)."""

from __future__ import annotations

import re

from qa.answer import Answer, Citation, Passage, Span
from qa.ingest.sources import Document
from qa.render import answer_html, answer_json, context_page, passage_digest
from qa.web.document_page import MOVED, render_page
from tests.test_document_page import _cite, _client, corpus  # noqa: F401 (fixture)
from tests.test_lti import courses, lms  # noqa: F401 (fixtures)

TEXT = "Opening hours\n\nThe library opens at nine and closes at six.\n"


def _passage(text: str = TEXT, start: int = 15, end: int = 59) -> Passage:
    citation = Citation("seeds/plain.txt", "Plain", "", start, end, 2, 10, 12)
    return Passage(text[start:end], citation, 0.8, Span(start + 4, start + 20))


def test_a_link_carries_the_passage_digest_and_a_declined_one_marks_nothing():
    p = _passage()
    assert context_page(p) == (
        f"/context/seeds/plain.txt?start=15&end=59&hs=19&he=35&v={passage_digest(p.text)}#cited"
    )
    assert context_page(p, closest=True) == (
        f"/context/seeds/plain.txt?start=15&end=59&v={passage_digest(p.text)}&closest=1#cited"
    )
    declined = Answer("q?", (p,), True, 0.2, query="q?")
    citation = answer_json(declined)["passages"][0]["citation"]
    assert citation["link"] == citation["context_page"] == context_page(p, closest=True)
    assert "closest=1" in answer_html(declined) and "hs=" not in answer_html(declined)
    answered = answer_json(Answer("q?", (p,), False, 0.8, query="q?"))["passages"][0]["citation"]
    assert answered["context_page"] == context_page(p) and "closest" not in answered["context_page"]


def test_the_page_does_not_mark_a_place_whose_text_changed():
    doc = Document("seeds/plain.txt", TEXT, "Plain")
    p = _passage()
    page = render_page(doc, start=15, end=59, hs=19, he=35, digest=passage_digest(p.text))
    assert page.count("id='cited'") == 1 and MOVED not in page
    replaced = Document("seeds/plain.txt", "Preface added later.\n\n" + TEXT, "Plain")
    page = render_page(replaced, start=15, end=59, hs=19, he=35, digest=passage_digest(p.text))
    assert MOVED in page and "id='cited'" not in page and "<mark>" not in page.split("</header>")[1]


def test_a_declined_answers_page_shades_the_closest_text_and_says_it_does_not_answer():
    doc = Document("seeds/plain.txt", TEXT, "Plain")
    page = render_page(doc, start=15, end=59, digest=passage_digest(TEXT[15:59]), closest=True)
    assert "The text closest to your question is shaded" in page and "cited passage" not in page
    body = page.split("<main>")[1]
    assert "<mark>" not in body and body.count("id='cited'") == 1


def test_served_pages_and_sources_check_the_digest(corpus):  # noqa: F811 (fixture)
    client = _client(corpus)
    passage = _cite(client, "When does the library open?", "seeds/plain.txt")
    page = client.get(passage["citation"]["context_page"]).text
    assert "id='cited'" in page and MOVED not in page
    altered = re.sub(r"v=[0-9a-f]{8}", "v=00000000", passage["citation"]["context_page"])
    page = client.get(altered).text
    assert MOVED in page and "id='cited'" not in page
    assert client.get(passage["context_url"]).status_code == 200
    gone = client.get(re.sub(r"v=[0-9a-f]{8}", "v=00000000", passage["context_url"]))
    assert gone.status_code == 404 and "indexed again" in gone.json()["error"]
    closest = client.get(passage["citation"]["context_page"].replace("#cited", "&closest=1")).text
    assert "The text closest to your question is shaded" in closest


def test_a_link_past_the_end_of_a_shortened_document_says_it_was_indexed_again(corpus):  # noqa: F811
    """An answer's link from before its document was replaced by a shorter one: its offsets now
    lie past the end, which is the same news as other text at them (the widget shows it to the
    learner), not 'offsets 0..45 do not fit in ...'."""
    from qa.index.build import ensure_index
    from tests.conftest import FakeEmbedder

    client = _client(corpus)
    passage = _cite(client, "When does the library open?", "seeds/plain.txt")
    (corpus.seeds_dir / "plain.txt").write_text("Hours\n\nNine.\n", encoding="utf-8")
    ensure_index(corpus, FakeEmbedder())
    client.app.app.state.live.refresh(wait=True)
    gone = client.get(passage["context_url"])
    assert gone.status_code == 404 and "indexed again" in gone.json()["error"]
    page = client.get(passage["citation"]["context_page"]).text
    assert MOVED in page and "id='cited'" not in page
    unsigned = re.sub(r"&v=[0-9a-f]{8}", "", passage["context_url"])  # no digest: the offsets are wrong
    assert "do not fit" in client.get(unsigned).json()["error"]


def test_an_expired_lms_sessions_document_link_says_to_open_the_assistant_again(
    courses,  # noqa: F811
    fake_embedder,
    lms,  # noqa: F811
    monkeypatch,
):
    import time

    from qa.web.lti.tokens import TokenSigner
    from tests.test_document_page import BROWSER
    from tests.test_lti import chat_path, make_client

    client = make_client(courses, fake_embedder, lms, monkeypatch, courses={"course-1": "biology"})
    chat_path(lms.launch(client))  # the tool's keys and session secret exist once it has launched
    secret = (courses.lti_dir / "session-secret").read_bytes()
    expired = TokenSigner(secret, clock=lambda: time.time() - 7200).new("biology", "learner", minutes=60)
    page = client.get(f"/lti/chat/{expired}/context/seeds/biology/cells.md?start=0&end=10", headers=BROWSER)
    assert page.status_code == 401 and page.headers["content-type"].startswith("text/html")
    assert "Open the assistant again from your course page" in page.text
    assert "Ask your question again:" not in page.text  # asking in that frame would fail the same way


def test_the_header_names_the_slide_and_section_of_the_marked_sentence():
    """A passage that starts at the end of one slide and marks a sentence on the next: the page's
    header names the slide and section the page scrolls to, not the previous slide's."""
    text = "Welcome\n\nThis course covers builds.\n\nGraphs\n\nEach edge joins files.\nNotes\nSay hello."
    graphs = text.index("Graphs")
    doc = Document(
        "seeds/deck.pptx",
        text,
        "Deck",
        pages=(0, graphs),
        sections=((0, "Welcome", ""), (graphs, "Graphs", "")),
        page_unit="slide",
    )
    start, edge = text.index("This course"), text.index("Each edge")
    page = render_page(doc, start=start, end=edge + 22, hs=edge, he=edge + 22)
    header = page.split("<header>")[1].split("</header>")[0]
    assert "Deck · slide 2 · Graphs" in header and "slide 1" not in header


def test_a_plain_texts_page_header_names_the_section_as_its_citation_does():
    text = (
        "Licence\n=======\n\n1. Grants\n---------\n\nYou may copy it.\n\n"
        "2. Limits\n---------\n\nNo warranty is given.\n"
    )
    doc = Document("seeds/licence.txt", text, "Licence")
    at = text.index("No warranty")
    header = render_page(doc, start=at, end=at + 20).split("<header>")[1].split("</header>")[0]
    assert "Licence · 2. Limits" in header


def test_a_document_page_reads_the_newest_index_not_the_one_its_thread_last_answered_from(
    project, fake_embedder
):
    """LiveRetriever pins the index a thread asked for a minute; the document page served by such
    a thread after a rebuild looked the document up there, so a link from an answer of the new
    index (a document uploaded meanwhile) was a 404."""
    from qa.index.build import ensure_index
    from qa.retrieval.retriever import Retriever
    from qa.web.document_page import document_router
    from qa.web.live import LiveRetriever
    from tests.test_collections import ROME, VOLCANO

    (project.seeds_dir / "rome.md").write_text(ROME, encoding="utf-8")
    live = LiveRetriever(
        Retriever(ensure_index(project, fake_embedder).index, fake_embedder, project), project
    )
    live.ask("who crossed the rubicon")  # this thread now holds the first build
    (project.seeds_dir / "volcano.md").write_text(VOLCANO, encoding="utf-8")
    ensure_index(project, fake_embedder)
    live.refresh(wait=True)
    assert "seeds/volcano.md" not in {d.source for d in live.index.documents}  # still pinned here
    page = document_router(project, live).routes[0].endpoint
    shown = page(source="seeds/volcano.md", start=-1, end=-1, hs=-1, he=-1, v="", closest=0)
    assert shown.status_code == 200 and "Volcanoes" in shown.body.decode()
