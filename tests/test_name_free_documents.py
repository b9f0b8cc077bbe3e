"""A question that names its document, with the real model: ranked by the question without the
name, it finds the clause that answers instead of the title block (held-out Apache licence) and
the section that answers on a dev manual."""

import shutil
from pathlib import Path

import pytest

from tests.test_followup_manuals import manuals_root

pytestmark = pytest.mark.slow

HELDOUT = Path(__file__).resolve().parents[1] / "benchmarks" / "heldout" / "docs"


def _pair(root: Path, seeds: Path):
    from qa.config import Settings
    from qa.embedders.base import SentenceTransformerEmbedder
    from qa.index.build import ensure_index
    from qa.retrieval.retriever import Retriever

    settings = Settings(root=root, seeds_dir=seeds)
    embedder = SentenceTransformerEmbedder(settings.model)
    index = ensure_index(settings, embedder).index
    off = settings.replace(name_free_share=0.0)
    return Retriever(index, embedder, off), Retriever(index, embedder, settings)


@pytest.fixture(scope="module")
def licences(tmp_path_factory):
    root = tmp_path_factory.mktemp("heldout")
    shutil.copytree(HELDOUT, root / "seeds")
    return _pair(root, root / "seeds")


@pytest.fixture(scope="module")
def manuals(tmp_path_factory):
    root = manuals_root(tmp_path_factory, ("ninja-manual.md", "dpkg-triggers.txt", "fontconfig-user.md"))
    return _pair(root, root / "seeds")


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
