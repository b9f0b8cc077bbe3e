"""The chat page's HTML and feedback, without a browser."""

import json

import pytest

from qa.answer import Answer, Citation, Passage, Span
from qa.context import Context
from qa.errors import QAError
from qa.ui import ChatSession, render_answer, render_question

EVIL = '<script>alert(1)</script> **bold** [x](javascript:alert(2)) & "quotes"'


def _passage(text="alpha beta gamma delta", start=100, title="Title", url="https://example.org/a"):
    citation = Citation("seeds/a.txt", title, url, start, start + len(text), 10, 14, 1000)
    return Passage(text, citation, 0.8, Span(start + 6, start + 16))


def test_question_is_shown_literally():
    out = render_question(EVIL)
    assert "<script>" not in out and "&lt;script&gt;" in out and "&amp;" in out
    assert out.startswith("<p class='qa-q'>") and "\n\n" not in out


def test_answer_escapes_document_text_and_marks_the_span():
    p = _passage(text="alpha <b>beta</b> gamma", title="<img src=x onerror=alert(1)>")
    out = render_answer(Answer("q", (p,), False, 0.7))
    assert "<b>" not in out and "<img" not in out and "&lt;img" in out
    assert "<mark>" in out and "words 11–14 of 1,000" in out
    assert "<blockquote class='qa-span'>" in out and "\n\n" not in out


def test_citation_links_only_to_web_urls():
    out = render_answer(Answer("q", (_passage(url="javascript:alert(1)"),), False, 0.7))
    assert "javascript:" not in out
    out = render_answer(Answer("q", (_passage(),), False, 0.7))
    assert "href='https://example.org/a'" in out and "rel='noopener noreferrer'" in out


def test_abstained_answer_says_so_and_shows_closest():
    out = render_answer(Answer("q", (_passage(),), True, 0.2))
    assert "do not seem to answer" in out and "closest passages" in out
    assert "qa-span" not in out and "<details class='qa-closest'>" in out and "qa-passage" in out


def test_context_marks_passage_and_span():
    p = _passage()
    ctx = Context("seeds/a.txt", "T", "", 50, 200, p.start, p.end, "before <i>", p.text, " after", 106, 116)
    out = render_answer(Answer("q", (p,), False, 0.7), [ctx])
    assert "<details class='qa-context'>" in out and "<span class='qa-in'>" in out
    assert "before &lt;i&gt;" in out and out.count("<mark>") == 2


class NoSources:
    def document_index(self, source):
        raise KeyError(source)


class FakeRetriever:
    index = NoSources()

    def __init__(self):
        self.histories = []

    def ask(self, question, *, k=None, history=()):
        self.histories.append(list(history))
        return Answer(question, (_passage(),), False, 0.7, query=f"resolved {question}")


def test_session_keeps_history_and_records_feedback(project, tmp_path):
    settings = project.replace(feedback_path=tmp_path / "fb.jsonl")
    retriever = FakeRetriever()
    session = ChatSession(retriever, settings)
    messages, records, box = session.respond("What is debt bondage?", [], {}, 3)
    messages, records, _ = session.respond("and children?", messages, records, 3)
    assert box == "" and len(messages) == 4 and retriever.histories == [[], ["What is debt bondage?"]]
    assert session.rate(3, False, records) == "down"
    assert session.rate(1, True, records) == "up"
    assert session.rate(0, True, records) is None  # a user message: nothing to rate
    lines = [json.loads(line) for line in (tmp_path / "fb.jsonl").read_text().splitlines()]
    assert [(r["rating"], r["question"]) for r in lines] == [
        ("down", "and children?"),
        ("up", "What is debt bondage?"),
    ]
    assert lines[0]["query"] == "resolved and children?" and lines[0]["passages"][0]["start"] == 100


@pytest.mark.parametrize("question", ["", "   ", None])
def test_empty_question_is_refused(project, question):
    with pytest.raises(QAError, match="Please type a question"):
        ChatSession(FakeRetriever(), project).respond(question, [], {}, 3)
