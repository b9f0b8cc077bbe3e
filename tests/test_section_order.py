"""The final reorder of the first passages by their sections (fast: stub and fake embedders)."""

import numpy as np
import pytest

from qa.answer import Citation, Passage, Span
from qa.config import Settings
from qa.errors import ConfigError
from qa.index.build import ensure_index
from qa.retrieval.retriever import Retriever
from qa.retrieval.section_order import SECTION_ORDER_DEPTH, SectionOrder, section_text

QUESTION = np.array([1.0, 0.0], dtype=np.float32)


class SectionEmbedder:
    """Close to the question exactly when the passage's heading path names error handling."""

    def __init__(self) -> None:
        self.encoded: list[str] = []

    def encode(self, texts):
        self.encoded += list(texts)
        near = [("Error Handling" in t.split(":")[0]) for t in texts]
        out = np.array([[0.9, 0.1] if n else [0.2, 0.9] for n in near], dtype=np.float32)
        return out / np.linalg.norm(out, axis=1, keepdims=True)


def _passage(text: str, score: float, section: str = "", title: str = "Style guide") -> Passage:
    citation = Citation(
        source="seeds/guide.md",
        title=title,
        url="",
        start=0,
        end=len(text),
        word_start=0,
        word_end=len(text.split()),
        total_words=100,
        section=section,
    )
    return Passage(text, citation, score, Span(0, 1))


def test_a_passage_whose_section_matches_moves_up_within_the_first_ones():
    passages = [
        _passage("Allocate memory once.", 1.15, "Memory Allocation"),
        _passage("Libraries return errors; callers print them.", 1.10, "Error Handling"),
        _passage("Parse options with getopt.", 1.04, "Command Line"),
        _passage("Log to the journal.", 0.91, "Logging"),
    ]
    embedder = SectionEmbedder()
    shown = SectionOrder(embedder, weight=0.2).reorder(QUESTION, passages)
    assert [p.citation.section for p in shown] == [
        "Error Handling",
        "Memory Allocation",
        "Command Line",
        "Logging",
    ]
    assert shown[0].score == pytest.approx(1.10 + 0.2 * 0.6)  # the moved passage carries its new score
    assert shown[3] is passages[3]
    assert len(embedder.encoded) == SECTION_ORDER_DEPTH  # only the first three are read
    assert embedder.encoded[1] == "Style guide › Error Handling: Libraries return errors; callers print them."


def test_a_passage_below_the_first_ones_never_enters_them():
    passages = [
        _passage("Allocate memory once.", 1.15, "Memory Allocation"),
        _passage("Parse options with getopt.", 1.10, "Command Line"),
        _passage("Log to the journal.", 1.04, "Logging"),
        _passage("Libraries return errors; callers print them.", 1.03, "Error Handling"),
    ]
    shown = SectionOrder(SectionEmbedder(), weight=5.0).reorder(QUESTION, passages)
    assert [p.text for p in shown] == [p.text for p in passages]
    assert shown[3] is passages[3]


def test_passages_without_a_heading_path_keep_their_places_and_scores():
    passages = [
        _passage("human trafficking trade humans", 1.2),
        _passage("Allocate memory once.", 1.15, "Memory Allocation"),
        _passage("Libraries return errors; callers print them.", 1.10, "Error Handling"),
    ]
    shown = SectionOrder(SectionEmbedder(), weight=0.2).reorder(QUESTION, passages)
    assert shown[0] is passages[0]
    assert [p.citation.section for p in shown[1:]] == ["Error Handling", "Memory Allocation"]


def test_nothing_is_embedded_without_two_passages_that_have_headings():
    embedder = SectionEmbedder()
    passages = [_passage("plain text one", 1.2), _passage("Log.", 1.1, "Logging"), _passage("plain", 1.0)]
    order = SectionOrder(embedder, weight=0.2)
    assert order.reorder(QUESTION, passages) == tuple(passages)
    assert order.reorder(None, passages) == tuple(passages)  # lexical mode: no question vector
    assert SectionOrder(embedder, weight=0.0).reorder(QUESTION, passages) == tuple(passages)
    assert embedder.encoded == []


def test_section_text_leads_with_the_title_unless_the_path_does():
    assert section_text("Ninja", "Pools", "text") == "Ninja › Pools: text"
    assert section_text("Ninja", "ninja › Pools", "text") == "ninja › Pools: text"
    assert section_text("", "Pools", "text") == "Pools: text"
    assert section_text("Ninja", "", "text") == ""


def test_the_weight_is_checked():
    with pytest.raises(ConfigError, match="section_order_weight"):
        Settings(section_order_weight=-1.0)
    assert Settings.load(env={"QA_SECTION_ORDER_WEIGHT": "0"}).section_order_weight == 0.0
    assert Settings().section_order_weight == 0.2  # on by default: the value the dev sets choose


SECTIONS = {
    "Memory Allocation": "Allocate buffers once and free them on every error path of the function.",
    "Error Handling": "Library code returns negative error codes and never prints messages itself.",
    "Command Line": "Parse options with getopt_long and print usage messages on errors to stderr.",
    "Logging": "Daemons log messages to the journal with structured fields and priorities.",
}


def _retrievers(project, embedder, text: str, name: str):
    (project.seeds_dir / name).write_text(text, encoding="utf-8")
    index = ensure_index(project, embedder).index
    off = Retriever(index, embedder, project.replace(section_order_weight=0.0))
    on = Retriever(index, embedder, project.replace(section_order_weight=0.2))
    return off, on


QUESTIONS = [
    "Should library code print its own error messages?",
    "Where do daemons log messages?",
    "How are options parsed?",
    "What is the boiling point of mercury on Mars?",
]


def test_on_a_document_with_headings_only_the_first_passages_move(project, fake_embedder):
    text = "# Coding style\n\n" + "\n\n".join(f"## {t}\n\n" + " ".join([b] * 6) for t, b in SECTIONS.items())
    off, on = _retrievers(project, fake_embedder, text, "style.md")
    for question in QUESTIONS:
        before, after = off.ask(question), on.ask(question)
        assert sorted(p.text for p in after.passages[:3]) == sorted(p.text for p in before.passages[:3])
        assert after.passages[3:] == before.passages[3:]
        assert (after.abstained, after.evidence, after.reason) == (
            before.abstained,
            before.evidence,
            before.reason,
        )


def test_on_plain_text_the_answer_is_unchanged_and_nothing_more_is_embedded(project, fake_embedder):
    text = " ".join(" ".join([b.lower().rstrip(".")] * 6) for b in SECTIONS.values())
    off, on = _retrievers(project, fake_embedder, text, "plain.txt")
    for question in QUESTIONS:
        before = off.ask(question)
        encoded = fake_embedder.encoded
        assert on.ask(question) == before
        assert fake_embedder.encoded - encoded == 1  # the question only


def test_nothing_is_embedded_when_the_first_passages_are_too_far_apart_to_move():
    passages = [
        _passage("Allocate memory once.", 1.50, "Memory Allocation"),
        _passage("Libraries return errors; callers print them.", 1.30, "Error Handling"),
        _passage("Parse options with getopt.", 1.10, "Command Line"),
    ]
    embedder = SectionEmbedder()
    # the evidence adds at most 0.2 × 0.6 = 0.12: no passage can overtake one 0.2 ahead
    assert SectionOrder(embedder, weight=0.2).reorder(QUESTION, passages) == tuple(passages)
    assert embedder.encoded == []
    # with a weight that reaches, the same passages are read and reordered
    shown = SectionOrder(embedder, weight=1.0).reorder(QUESTION, passages)
    assert shown[0].citation.section == "Error Handling"
    assert len(embedder.encoded) == 3


def test_a_passage_read_for_an_earlier_question_is_not_embedded_again():
    passages = [
        _passage("Allocate memory once.", 1.15, "Memory Allocation"),
        _passage("Libraries return errors; callers print them.", 1.10, "Error Handling"),
        _passage("Parse options with getopt.", 1.04, "Command Line"),
    ]
    embedder = SectionEmbedder()
    order = SectionOrder(embedder, weight=0.2)
    first = order.reorder(QUESTION, passages)
    again = order.reorder(QUESTION, [*passages[:2], _passage("Log to the journal.", 1.0, "Logging")])
    assert len(embedder.encoded) == 4  # three, then only the new one
    assert embedder.encoded[-1] == "Style guide › Logging: Log to the journal."
    assert first[0].citation.section == again[0].citation.section == "Error Handling"
