"""The section reorder with the real model on the four manuals of ``shared/eval/docs-md/``: a
passage whose section says what the question asks comes first, and only the first three move."""

import pytest

from tests.test_followup_manuals import manual_files

pytestmark = pytest.mark.slow

NAMES = ("ninja-manual.md", "dpkg-triggers.txt", "fontconfig-user.md", "python-policy.md")


@pytest.fixture(scope="module")
def retrievers(index_builds, real_embedder):
    from qa.retrieval.retriever import Retriever

    built = index_builds.build(manual_files(NAMES))
    settings = built.settings
    off, on = settings.replace(section_order_weight=0.0), settings.replace(section_order_weight=0.2)
    return Retriever(built.index, real_embedder, off), Retriever(built.index, real_embedder, on)


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
