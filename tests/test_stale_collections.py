"""A file edited by hand in any collection's folder since it was indexed is flagged the same way
as one of the default collection: the answer and its citations (``stale``), the sources API and
the document page say so. Only the default collection's files were ever flagged."""

from __future__ import annotations

import html

import pytest

from qa.index.build import ensure_index
from qa.index.collections import CollectionConfig, collection_settings, create_collection, save_document
from qa.web.document_page import STALE
from tests.test_admin import make_app
from tests.test_collections import CELLS, ROME


@pytest.fixture
def two_courses(project, fake_embedder):
    (project.seeds_dir / "rome.md").write_text(ROME, encoding="utf-8")
    create_collection(project, "biology", CollectionConfig(title="Biology 101"))
    save_document(project, "biology", "cells.md", CELLS.encode())
    ensure_index(collection_settings(project, "biology"), fake_embedder)
    return project


@pytest.mark.parametrize(
    ("collection", "question", "name"),
    [
        ("biology", "what do ribosomes build", "cells.md"),
        ("default", "who crossed the rubicon", "rome.md"),
    ],
)
def test_every_collection_flags_a_file_changed_since_indexing(
    two_courses, fake_embedder, collection, question, name
):
    client, _ = make_app(two_courses, fake_embedder)
    folder = collection_settings(two_courses, collection).seeds_dir
    body = client.post("/api/v1/ask", json={"question": question, "collection": collection}).json()
    top = body["passages"][0]
    source, start, end = top["source"], top["start"], top["end"]
    assert source.endswith(name) and body["stale"] is False and top["citation"]["stale"] is False
    query = f"start={start}&end={end}&collection={collection}"
    assert client.get(f"/api/v1/sources/{source}?{query}").json()["stale"] is False
    assert html.escape(STALE) not in client.get(f"/context/{source}?start={start}&end={end}").text

    path = folder / name
    path.write_text(path.read_text(encoding="utf-8") + "\nA line added by hand.\n", encoding="utf-8")
    body = client.post("/api/v1/ask", json={"question": question, "collection": collection}).json()
    assert body["stale"] is True and body["passages"][0]["citation"]["stale"] is True
    assert client.get(f"/api/v1/sources/{source}?{query}").json()["stale"] is True
    assert html.escape(STALE) in client.get(f"/context/{source}?start={start}&end={end}").text
