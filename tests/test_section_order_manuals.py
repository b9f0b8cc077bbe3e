"""The section reorder with the real model on the four manuals of ``shared/eval/docs-md/``: a
passage whose section says what the question asks comes first, and only the first three move."""

import shutil
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

NAMES = ("ninja-manual.md", "dpkg-triggers.txt", "fontconfig-user.md", "python-policy.md")
DOCS = next(
    (
        d / "shared/eval/docs-md"
        for d in Path(__file__).resolve().parents
        if (d / "shared/eval/docs-md").is_dir()
    ),
    None,
)


def manuals_root(tmp_path_factory) -> Path:
    """A project root whose ``seeds/`` holds the four manuals (skipped where they are not next
    to the repository)."""
    if DOCS is None:
        pytest.skip("shared/eval/docs-md/ is not next to the repository")
    root = tmp_path_factory.mktemp("manuals")
    (root / "seeds").mkdir()
    for name in NAMES:
        shutil.copyfile(DOCS / name, root / "seeds" / name)
    return root


@pytest.fixture(scope="module")
def retrievers(tmp_path_factory):
    from qa.config import Settings
    from qa.embedders.base import SentenceTransformerEmbedder
    from qa.index.build import ensure_index
    from qa.retrieval.retriever import Retriever

    settings = Settings(root=manuals_root(tmp_path_factory))
    embedder = SentenceTransformerEmbedder(settings.model)
    index = ensure_index(settings, embedder).index
    off, on = settings.replace(section_order_weight=0.0), settings.replace(section_order_weight=0.2)
    return Retriever(index, embedder, off), Retriever(index, embedder, on)


@pytest.mark.parametrize(
    ("question", "phrase"),
    [
        ("Why did fontconfig go with XML for its configuration files?", "easy for external agents to edit"),
        (
            "What problem are dpkg triggers meant to solve?",
            "caused by one package but of interest to another",
        ),
    ],
)
def test_the_passage_under_the_heading_that_answers_comes_first(retrievers, question, phrase):
    off, on = retrievers
    before, after = off.ask(question), on.ask(question)
    assert phrase in " ".join(after.passages[0].text.split())
    assert sorted(p.text for p in after.passages[:3]) == sorted(p.text for p in before.passages[:3])
    assert after.passages[3:] == before.passages[3:]
    assert (after.abstained, after.evidence) == (before.abstained, before.evidence)
