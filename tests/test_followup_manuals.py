"""Follow-up or topic switch, on ordinary punctuated documents with headings: three real manuals
(Ninja, the dpkg triggers spec and fontconfig from ``shared/eval/docs-md/``) indexed together."""

import shutil
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

DOCS = next(
    (
        d / "shared/eval/docs-md"
        for d in Path(__file__).resolve().parents
        if (d / "shared/eval/docs-md").is_dir()
    ),
    None,
)


def manuals_root(tmp_path_factory, names: tuple[str, ...]) -> Path:
    """A project root whose ``seeds/`` holds these manuals of ``shared/eval/docs-md/`` (the
    calling test is skipped where that folder is not next to the repository)."""
    if DOCS is None:
        pytest.skip("shared/eval/docs-md/ is not next to the repository")
    root = tmp_path_factory.mktemp("manuals")
    (root / "seeds").mkdir()
    for name in names:
        shutil.copyfile(DOCS / name, root / "seeds" / name)
    return root


def manual_files(names: tuple[str, ...]) -> list[Path]:
    """These manuals of ``shared/eval/docs-md/`` (the calling test is skipped where that folder
    is not next to the repository)."""
    if DOCS is None:
        pytest.skip("shared/eval/docs-md/ is not next to the repository")
    return [DOCS / name for name in names]


THREE = ("ninja-manual.md", "dpkg-triggers.txt", "fontconfig-user.md")
"""The three manuals indexed together here and in tests/test_name_free_documents.py (one build)."""


@pytest.fixture(scope="module")
def manuals(index_builds, real_embedder):
    from qa.retrieval.retriever import Retriever

    built = index_builds.build(manual_files(THREE))
    return Retriever(built.index, real_embedder, built.settings)


def test_a_question_on_another_part_of_the_manual_is_searched_alone(manuals):
    """The pools question's topic brings the best match closer, but the passage it finds holds
    none of "compdb": the topic took the search over, and the question is searched alone."""
    answer = manuals.ask(
        "What is the compdb tool for?", history=["How do I limit how many link jobs ninja runs?"]
    )
    assert answer.query == "What is the compdb tool for?"
    assert "compilation database" in answer.passages[0].text


def test_a_terse_follow_up_is_searched_with_its_topic_across_documents(manuals):
    """Alone, "the path" finds Ninja's paragraph on absolute and relative paths; with its topic it
    finds the file triggers' rule, and it keeps the question's own words there."""
    history = ["What are file triggers in dpkg?"]
    answer = manuals.ask("does the path have to be absolute?", history=history)
    assert answer.query == f"{history[0]} does the path have to be absolute?"
    assert "The pathname must be absolute" in answer.passages[0].text


def test_a_question_switching_to_the_other_manual_is_searched_alone(manuals):
    answer = manuals.ask(
        "How does ninja decide that a phony target is out of date?",
        history=["What are file triggers in dpkg?"],
    )
    assert answer.query == "How does ninja decide that a phony target is out of date?"
    assert answer.passages[0].source.endswith("ninja-manual.md")


def test_a_question_pulled_back_to_the_previous_answer_in_another_manual_is_searched_alone(manuals):
    """The fontconfig topic makes the best match closer and the passage it finds shares the
    question's common words, but it is the topic's own passage again, while the question alone is
    answered in the Ninja manual: the question asks about something else."""
    question = "How do I give a target deep in a subdirectory a short name?"
    answer = manuals.ask(question, history=["What is SOURCE_DATE_EPOCH used for by fontconfig?"])
    assert answer.query == question
    assert answer.passages[0].source.endswith("ninja-manual.md")


def test_a_question_read_with_its_topic_is_ranked_by_what_it_asks(manuals, monkeypatch):
    """A question that stands alone but is read with the previous one (the topic makes its best
    match much closer): ranked on the topic's words too, the passage on the version the manual
    requires comes first; ranked with its own words leading, the console pool's does
    (:mod:`qa.retrieval.scope`; a dev question of docs-dev.jsonl after another)."""
    from qa.retrieval.scope import Scope

    history = ["In the Ninja manual, how can a build file say it needs at least a certain Ninja version?"]
    question = "Is there a pool that gives a task direct access to my terminal?"
    answer = manuals.ask(question, history=history)
    assert answer.query == f"{history[0]} {question}"
    assert "There exists a pre-defined pool named" in " ".join(answer.passages[0].text.split())
    monkeypatch.setattr(Scope, "of", classmethod(lambda cls, *args: None))
    before = manuals.ask(question, history=history)
    assert "There exists a pre-defined pool named" not in " ".join(before.passages[0].text.split())
