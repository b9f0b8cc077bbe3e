"""A learner asking a course that has no documents yet, or whose first index is being built,
gets a notice in learners' words, not the authors' "upload some"; the question stays typed."""

from __future__ import annotations

from qa.index.build import ensure_index
from qa.index.collections import CollectionConfig, create_collection, save_document
from qa.retrieval.registry import Registry
from qa.retrieval.retriever import Retriever
from qa.web.chat import INDEXING, NO_DOCUMENTS, ChatSession
from tests.test_collections import CELLS, ROME, GatedEmbedder


def test_empty_and_indexing_courses_say_so_in_learners_words(project, fake_embedder):
    (project.seeds_dir / "rome.md").write_text(ROME, encoding="utf-8")
    create_collection(project, "biology", CollectionConfig(title="Biology 101"))
    gated = GatedEmbedder(fake_embedder, "ribosome")
    registry = Registry(project, gated)
    default = Retriever(ensure_index(project, fake_embedder).index, fake_embedder, project)
    session = ChatSession(default, project, registry)

    empty = session.respond("What is a cell?", (), 3, "biology")
    assert empty.notice == NO_DOCUMENTS and empty.box == "What is a cell?" and empty.turns == ()
    assert "upload" not in empty.notice

    save_document(project, "biology", "cells.md", CELLS.encode())
    registry.rebuild("biology")
    assert gated.entered.wait(30)
    try:
        assert session.respond("What is a cell?", (), 3, "biology").notice == INDEXING
    finally:
        gated.open.set()
    registry.wait("biology")
    answered = session.respond("What is a cell?", (), 3, "biology")
    assert answered.notice == "" and len(answered.turns) == 1


def test_a_course_deleted_while_its_page_is_open_is_said_in_learners_words(project, fake_embedder):
    """The chat page said "There is no collection 'biology'." (the authors' word), the widget
    "This page asks for a course the assistant does not have."; both now say the latter."""
    from qa.index.collections import delete_collection
    from qa.web.assets import STATIC
    from qa.web.chat import UNKNOWN_COURSE

    (project.seeds_dir / "rome.md").write_text(ROME, encoding="utf-8")
    create_collection(project, "biology", CollectionConfig(title="Biology 101"))
    save_document(project, "biology", "cells.md", CELLS.encode())
    registry = Registry(project, fake_embedder)
    default = Retriever(ensure_index(project, fake_embedder).index, fake_embedder, project)
    session = ChatSession(default, project, registry)
    first = session.respond("What is a cell?", (), 3, "biology")
    delete_collection(project, "biology")
    registry.forget("biology")
    gone = session.respond("What do ribosomes build?", first.turns, 3, "biology")
    assert gone.notice == UNKNOWN_COURSE and "collection" not in gone.notice
    assert gone.box == "What do ribosomes build?" and gone.turns == first.turns
    assert f'"{UNKNOWN_COURSE}"' in (STATIC / "widget.js").read_text(encoding="utf-8")
