"""A question that names its document, with the real model: ranked by the question without the
name, it finds the clause that answers instead of the title block (held-out Apache licence) and
the section that answers on a dev manual."""

from pathlib import Path

import pytest

from tests.test_followup_manuals import THREE, manual_files

pytestmark = pytest.mark.slow

HELDOUT = Path(__file__).resolve().parents[1] / "benchmarks" / "heldout" / "docs"


def _pair(built, embedder):
    from qa.retrieval.retriever import Retriever

    off = built.settings.replace(name_free_share=0.0)
    return Retriever(built.index, embedder, off), Retriever(built.index, embedder, built.settings)


@pytest.fixture(scope="module")
def licences(index_builds, real_embedder):
    return _pair(index_builds.build(sorted(HELDOUT.iterdir())), real_embedder)


@pytest.fixture(scope="module")
def manuals(index_builds, real_embedder):
    return _pair(index_builds.build(manual_files(THREE)), real_embedder)


def test_the_apache_question_is_answered_from_the_redistribution_clause(licences):
    off, on = licences
    question = "What does the Apache license say about redistribution?"
    before, after = off.ask(question), on.ask(question)
    assert "Version 2.0, January 2004" in before.passages[0].text  # the title block, as it was
    first = after.passages[0]
    assert first.source == "seeds/apache-2.0.docx"
    assert first.citation.section.endswith("4. Redistribution.")
    assert "You may reproduce and distribute copies" in first.text
    assert after.evidence == before.evidence


def test_a_manual_named_by_its_product_is_answered_from_its_section(manuals):
    off, on = manuals
    question = (
        "In the fontconfig configuration format, if an include element points at a directory, "
        "which files in it get loaded?"
    )
    phrase = "every file within that directory starting with an ASCII digit"
    assert phrase not in " ".join(off.ask(question).passages[0].text.split())
    assert phrase in " ".join(on.ask(question).passages[0].text.split())
