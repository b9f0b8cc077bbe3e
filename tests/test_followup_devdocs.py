"""Follow-up or topic switch over the four documents of ``benchmarks/devdocs/docs`` (a licence, a
lesson in HTML, a paper as PDF, a design note) indexed together: the examples of the dev
conversations ``conversations-devdocs.jsonl`` that decided how a follow-up is read."""

from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

DOCS = Path(__file__).resolve().parents[1] / "benchmarks" / "devdocs" / "docs"


@pytest.fixture(scope="module")
def devdocs(index_builds, real_embedder):
    from qa.retrieval.retriever import Retriever

    built = index_builds.build(sorted(DOCS.iterdir()))
    return Retriever(built.index, real_embedder, built.settings)


def _text(passage) -> str:
    return " ".join(passage.text.split())


def test_a_follow_up_on_the_previous_answer_is_not_pulled_back_from_an_answer_it_lacks(devdocs):
    """With its topic, "the second reason" finds the passage that answered the previous question
    again, in another document than its best match alone; but alone it finds nothing it answers
    (abstention declines it), so the topic did not pull it back from an answer: it follows."""
    history = ["Why is computing a CRC byte by byte slow?"]
    question = "What does the second reason mean?"
    assert devdocs.ask(question).abstained
    answer = devdocs.ask(question, history=history)
    assert answer.query == f"{history[0]} {question}"
    assert not answer.abstained
    assert answer.passages[0].source.endswith("crc-doc.pdf")
    assert any("byte-by-byte CRC contains only one data flow" in _text(p) for p in answer.passages[:3])


def test_a_question_pulled_back_to_the_previous_answer_from_its_own_is_searched_alone(devdocs):
    """The libjpeg topic brings the search back to its own passage, and the question alone is
    answered in the zlib lesson: it asks about something else."""
    question = "How do I decompress a file with zpipe?"
    history = ["Why does libjpeg store each color component in a separate array?"]
    answer = devdocs.ask(question, history=history)
    assert answer.query == question
    assert "zpipe -d < foo.txt.z > foo.txt to decompress" in _text(answer.passages[0])


def test_a_follow_up_with_no_words_of_its_own_is_judged_on_its_topic(devdocs):
    """A question like "Why not?" has no terms of its own: abstention reads the topic's terms in
    the passage the topic found, instead of declining because the passage holds none of its own."""
    answer = devdocs.ask("Why not?", history=["Does the IJG library support the DNL marker?"])
    assert answer.query == "Does the IJG library support the DNL marker? Why not?"
    assert not answer.abstained
    assert answer.passages[0].source.endswith("libjpeg-structure.txt")


def test_an_unanswerable_follow_up_still_abstains(devdocs):
    """A follow-up with a word of its own that no document holds ("ARM") still abstains."""
    answer = devdocs.ask("And on ARM?", history=["How fast is the new CRC algorithm on AMD64?"])
    assert answer.query == "How fast is the new CRC algorithm on AMD64? And on ARM?"
    assert answer.abstained


def test_a_follow_up_with_no_words_of_its_own_ranks_the_previous_answer_first(devdocs):
    """ "Why not?" asks about the previous answer: the passage the DNL question alone finds first
    by its evidence, which says why, comes first (with the topic's words and "why not" together,
    the passage that opens the section came above it)."""
    history = ["Does the IJG library support the DNL marker?"]
    answer = devdocs.ask("Why not?", history=history)
    assert answer.query == f"{history[0]} Why not?"
    assert "We currently do not support DNL because of these problems." in _text(answer.passages[0])


def test_a_follow_up_with_words_of_its_own_is_answered_past_the_previous_answer(devdocs):
    """A follow-up that asks something of its own ("multiple scans") is ranked by it: its answer,
    80 words past the passage its topic found first, comes first."""
    history = ["What is the coefficient controller's job in the JPEG decompressor?"]
    question = "What does it do when the file has multiple scans?"
    previous = devdocs.ask(history[0]).passages[0]
    answer = devdocs.ask(question, history=history)
    assert answer.query == f"{history[0]} {question}"
    assert "only created if the JPEG file has multiple scans" in _text(answer.passages[0])
    assert _text(answer.passages[0]) != _text(previous)


def test_a_follow_ups_passage_is_cut_around_what_it_asks(devdocs):
    """ "How many data streams work best?" lands with its topic (the interleaved CRC's speed) in
    section 5.3; grown on the topic's words, the passage took the sentence on the fastest code
    before the section and ended one sentence before "either 3 or 4". Grown again on what the
    question asks, in the document its topic leads to, the first passage holds the answer."""
    history = ["How fast is the interleaved word-by-word CRC algorithm?"]
    question = "How many data streams work best?"
    answer = devdocs.ask(question, history=history)
    assert answer.query == f"{history[0]} {question}"
    assert answer.passages[0].source.endswith("crc-doc.pdf")
    assert "for integer arithmetics is either 3 or 4" in _text(answer.passages[0])
