"""A question that names its document is ranked without the name's words: fast, fake embedder."""

import pytest

from qa.index.build import ensure_index
from qa.retrieval.retriever import Retriever

TITLE = "What the Acme license does say\n\nVersion 2.0, January 2004\n\nhttps://acme.example/licenses/\n\n"
FILLER = "".join(
    f"## {i}. Clause {i}\n\nThe license clause numbered {i} covers topic{i} and matter{i} in plain words.\n\n"
    for i in range(1, 12)
)
BODY = (
    f"# Acme License\n\n{TITLE}{FILLER}"
    "## 12. Redistribution\n\nThe license says this about redistribution: you may redistribute "
    "copies of the work in any medium, provided that you keep every notice the work carries "
    "and give recipients a copy of this text.\n\n"
)
OTHER = "# Zeta License\n\n" + "".join(
    f"## {i}. Part {i}\n\nPart {i} of the zeta terms says item{i} goes with thing{i}.\n\n"
    for i in range(1, 12)
)
QUESTION = "What does the Acme license say about redistribution?"


def _retriever(project, fake_embedder, **settings) -> Retriever:
    (project.seeds_dir / "acme-license.md").write_text(BODY, encoding="utf-8")
    (project.seeds_dir / "zeta-license.md").write_text(OTHER, encoding="utf-8")
    settings = project.replace(section_order_weight=0.0, **settings)
    return Retriever(ensure_index(settings, fake_embedder).index, fake_embedder, settings)


def test_the_name_only_names_the_document(project, fake_embedder):
    retriever = _retriever(project, fake_embedder)
    free = retriever.name_free
    assert free.text(QUESTION, retriever.fusion.query_terms(QUESTION)) == (
        "What does the license say about redistribution?"
    )
    # a word that holds other terms than the name stays whole
    question = "Is /srv/acme/data covered by the Acme license?"
    assert free.text(question, retriever.fusion.query_terms(question)) == (
        "Is /srv/acme/data covered by the license?"
    )
    # a question that names no document is searched as it is
    assert (
        free.text("What may I redistribute?", retriever.fusion.query_terms("What may I redistribute?"))
        is None
    )


def test_a_question_naming_a_document_prefers_its_body_over_its_title_block(project, fake_embedder):
    off = _retriever(project, fake_embedder, name_free_share=0.0).ask(QUESTION, k=3)
    on = _retriever(project, fake_embedder).ask(QUESTION, k=3)
    assert "Version 2.0, January 2004" in off.passages[0].text  # the failure: the title block first
    assert on.passages[0].source == "seeds/acme-license.md"
    assert "you may redistribute copies" in on.passages[0].text
    assert "Version 2.0, January 2004" not in on.passages[0].text
    assert on.evidence == off.evidence  # abstention reads the question as asked


def test_a_name_the_document_is_about_stays_in_the_question(project, fake_embedder):
    """'Zeta' is in every part of the zeta terms: it is their topic too, not only their name."""
    retriever = _retriever(project, fake_embedder)
    question = "What does the zeta terms say about item3?"
    assert retriever.name_free.text(question, retriever.fusion.query_terms(question)) is None


def test_a_question_that_names_no_document_is_encoded_once(project, fake_embedder):
    retriever = _retriever(project, fake_embedder)
    retriever.ask("What may I redistribute?")
    before = fake_embedder.encoded
    retriever.ask("Which clause covers topic3?")
    assert fake_embedder.encoded - before == 1
    retriever.ask(QUESTION)
    assert fake_embedder.encoded - before == 3  # the question, and the question without the name


@pytest.mark.slow
def test_a_search_engine_ranks_a_named_question_as_faiss_does(project, fake_embedder):
    pytest.importorskip("pymilvus")
    pytest.importorskip("milvus_lite")
    faiss = _retriever(project, fake_embedder)
    milvus = project.replace(
        index_dir=project.root / "milvus-index",
        vector_store=str(project.root / "v.db"),
        section_order_weight=0.0,
    )
    engine = Retriever(ensure_index(milvus, fake_embedder).index, fake_embedder, milvus)
    for question in (QUESTION, "What may I redistribute?"):
        want, got = faiss.ask(question, k=3), engine.ask(question, k=3)
        assert [p.citation.start for p in got.passages] == [p.citation.start for p in want.passages]
        assert got.evidence == pytest.approx(want.evidence, abs=1e-6)
