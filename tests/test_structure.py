"""Document structure as evidence, passages of whole sentences, highlights: fast, fake embedder."""

import dataclasses
import re

import pytest

from qa.index.build import ensure_index
from qa.retrieval.retriever import Retriever

BODY = (
    "Rules are written with the rule keyword followed by a command line. "
    "A build statement names its outputs, the rule, and its inputs. "
    "Variables declared at the top level apply to every build statement in the file. "
)


def _retriever(project, fake_embedder, files: dict[str, str]) -> Retriever:
    for name, text in files.items():
        (project.seeds_dir / name).write_text(text, encoding="utf-8")
    index = ensure_index(project, fake_embedder).index
    return Retriever(index, fake_embedder, project)


@pytest.mark.parametrize("named", ["ninja", "meson"])
def test_a_question_naming_a_document_prefers_it(project, fake_embedder, named):
    retriever = _retriever(
        project,
        fake_embedder,
        {"ninja-manual.md": f"# Ninja\n\n{BODY}\n", "meson-manual.md": f"# Meson\n\n{BODY}\n"},
    )
    # the structure's preference alone: the fake embedder's bag of words reads "Meson:" (a passage
    # under its path, as the section reorder embeds it) as another word than "Meson", so the
    # reorder's cosines would be hash collisions here
    alone = retriever.settings.replace(section_order_weight=0.0)
    retriever = Retriever(retriever.index, fake_embedder, alone)
    answer = retriever.ask(f"In the {named.capitalize()} manual, how are rules written?", k=2)
    assert answer.passages[0].source == f"seeds/{named}-manual.md"


def test_a_documents_own_name_does_not_rank_its_windows(project, fake_embedder):
    """The manual's name fills its opening paragraph; the answer is elsewhere. BM25 counts the
    name alike in every window of the manual, so the paragraph that says it most does not win."""
    filler = " ".join(f"Section {i} covers topic{i} in plain words." for i in range(12))
    text = (
        "# Ninja\n\nNinja is small. Ninja is quick. Ninja runs builds. Ninja reads files. "
        "Ninja writes logs. Ninja is a tool.\n\n"
        f"{filler}\n\nThe parallel jobs default to the number of processors plus two.\n\n{filler}\n"
    )
    settings = dataclasses.replace(project, mode="lexical")  # BM25 alone decides
    retriever = _retriever(settings, fake_embedder, {"ninja-manual.md": text})
    answer = retriever.ask("How many parallel jobs does Ninja run?", k=2)
    assert "parallel jobs default" in answer.passages[0].text


def test_a_name_the_document_goes_by_is_not_unknown(project, fake_embedder):
    retriever = _retriever(
        project, fake_embedder, {"ninja-manual.md": f"# Ninja\n\n{BODY}\n", "other.md": "# Other\n\nText."}
    )
    assert retriever.abstainer.unknown_names("In the Ninja Manual, how are rules written?") == []
    assert retriever.abstainer.unknown_names("In the Bazel Handbook, how are rules written?") == [
        "Bazel Handbook"
    ]


def test_the_acronym_of_a_versioned_name_is_a_name_the_document_goes_by(project, fake_embedder):
    retriever = _retriever(
        project,
        fake_embedder,
        {
            "terms.md": f"# Mozilla Public License Version 2.0\n\n{BODY}\n",
            "other.md": "# Other\n\nText.",
        },
    )
    assert retriever.abstainer.unknown_names("Under the MPL, how are rules written?") == []
    sources = [d.source for d in retriever.index.documents]
    assert retriever.structure.named_document(["mpl"]) == sources.index("seeds/terms.md")


def _sentences(n: int) -> str:
    topics = ["pools", "rules", "variables", "targets", "depfiles", "logs", "jobs", "scopes"]
    return " ".join(
        f"Sentence {i} explains {topics[i % len(topics)]} in plain words, with a clause after a comma, "
        f"and it ends here." + ("\n\n" if i % 5 == 4 else "")
        for i in range(n)
    )


@pytest.mark.parametrize("question", ["How do pools work?", "What are depfiles?", "jobs and logs", "scopes"])
def test_passages_on_punctuated_text_hold_whole_sentences_and_their_highlight(
    project, fake_embedder, question
):
    text = _sentences(80)
    retriever = _retriever(project, fake_embedder, {"guide.txt": text})
    for passage in retriever.ask(question, k=5).passages:
        assert passage.text == text[passage.start : passage.end]
        assert passage.text.startswith("Sentence") and passage.text.endswith("ends here.")
        assert len(passage.text.split()) <= 120
        highlight = passage.highlight_text
        assert passage.start <= passage.highlight.start < passage.highlight.end <= passage.end
        assert highlight.startswith("Sentence") and highlight.endswith("ends here.")
        assert len(highlight.split()) <= 40


def test_highlight_drops_decoration(project, fake_embedder):
    text = "# Pools\n\n* * *\n\n- Pools limit how many jobs run at once for a rule.\n- Other text follows.\n"
    retriever = _retriever(project, fake_embedder, {"pools.md": text})
    highlight = retriever.ask("How many jobs can a pool run?").passages[0].highlight_text
    assert not re.match(r"^[\W_]", highlight) and "jobs" in highlight


@pytest.mark.parametrize(
    "text",
    [
        "TRIGGERS\n========\n\nIntroduction\n------------\n\nA trigger is a facility that lets "
        "events of one package be recorded and processed later by another package.\n",
        "Overall trigger structure\n\nA trigger is a facility that lets events of one package be "
        "recorded and processed later by another package.\n\n* * * * * * * *\n* triggers *\n",
    ],
)
def test_the_highlight_is_a_sentence_not_the_heading_that_names_the_term(project, fake_embedder, text):
    """A heading holding the question's term ("TRIGGERS") scored above the sentence that
    answers, its only word being a term; a heading or a line of decoration names the topic but
    does not answer, so the highlight is a sentence whenever the passage has one."""
    retriever = _retriever(project, fake_embedder, {"triggers.txt": text})
    highlight = retriever.ask("What problem are triggers meant to solve?").passages[0].highlight_text
    assert highlight.startswith("A trigger is a facility") and highlight.endswith("another package.")


def test_a_passage_of_headings_alone_still_has_a_highlight(project, fake_embedder):
    retriever = _retriever(project, fake_embedder, {"toc.md": "# Triggers\n\n## Trigger types\n\n## Pools\n"})
    passage = retriever.ask("What trigger types are there?").passages[0]
    assert passage.highlight_text in passage.text and "rigger" in passage.highlight_text


def test_text_without_punctuation_keeps_a_twenty_word_highlight(project, fake_embedder):
    text = " ".join(f"word{i % 50} trafficking labour" for i in range(200))
    retriever = _retriever(project, fake_embedder, {"plain.txt": text})
    passage = retriever.ask("trafficking labour word7").passages[0]
    assert len(passage.highlight_text.split()) == 20


def test_table_of_contents_is_not_shown_unless_asked(project, fake_embedder):
    toc = "\n".join(f"- [{t}](#_{t.lower()})" for t in ["Pools", "Rules", "Variables", "Jobs"])
    text = f"# Manual\n\n{toc}\n\n## Pools\n\nPools limit how many jobs of a rule run at the same time.\n"
    retriever = _retriever(project, fake_embedder, {"manual.md": text})
    top = retriever.ask("How do pools limit jobs?", k=1).passages[0]
    assert "](#_" not in top.text


def test_citations_carry_the_heading_path(project, fake_embedder):
    text = "# Manual\n\n## Pools\n\nPools limit how many jobs of a rule run at the same time.\n"
    retriever = _retriever(project, fake_embedder, {"manual.md": text})
    assert retriever.ask("How do pools limit jobs?").passages[0].citation.section == "Manual \u203a Pools"
