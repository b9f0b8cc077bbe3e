"""The chat page's HTML, conversation and feedback, without a browser."""

import json

import pytest

from qa.answer import Answer, Citation, Passage, Span
from qa.errors import QAError, QuestionError
from qa.retrieval.context import Context
from qa.web.ui import (
    EMPTY_QUESTION,
    NO_ANSWER,
    ChatSession,
    Turn,
    answer_text,
    messages,
    render_answer,
    render_context,
    render_question,
)
from tests.conftest import SEED

EVIL = '<script>alert(1)</script> **bold** [x](javascript:alert(2)) & "quotes" $$x^2$$'


def _passage(text="alpha beta gamma delta", start=100, title="Title", url="https://example.org/a"):
    citation = Citation("seeds/a.txt", title, url, start, start + len(text), 10, 14, 1000)
    return Passage(text, citation, 0.8, Span(start + 6, start + 16))


def _answer(*passages, abstained=False, question="q"):
    return Answer(question, tuple(passages) or (_passage(),), abstained, 0.7, query=f"searched {question}")


def test_question_is_shown_literally():
    out = render_question(EVIL + "\n\nsecond paragraph")
    assert "<script>" not in out and "&lt;script&gt;" in out and "&amp;" in out and "&quot;" in out
    assert out.startswith("<p class='qa-q'>") and "\n" not in out  # one HTML block for Markdown


def test_answer_escapes_document_text_and_marks_the_span():
    p = _passage(text="alpha <b>beta</b>\n\n**gamma**", title="<img src=x onerror=alert(1)>")
    out = render_answer(_answer(p))
    assert "<b>" not in out and "<img" not in out and "&lt;img" in out and "&lt;b&gt;" in out
    assert "\n" not in out  # a blank line would end the HTML block and let Markdown in
    assert out.count("<mark>") == 1 and "<blockquote class='qa-span'>" in out


def test_span_comes_first_then_numbered_citations():
    a, b = _passage(), _passage(start=500, title="Other")
    out = render_answer(_answer(a, b))
    assert out.index("qa-span") < out.index("qa-passage")
    assert "“beta gamma” <span class='qa-ref'>[1]</span>" in out
    assert "[1] <strong>Title</strong> · words 11–14 of 1,000 · <code>seeds/a.txt</code>" in out
    assert "[2] <strong>Other</strong>" in out


def test_citation_links_only_to_web_urls():
    out = render_answer(_answer(_passage(url="javascript:alert(1)")))
    assert "javascript:" not in out and "<a " not in out
    out = render_answer(_answer(_passage(url="https://example.org/a?x=1&y='2'")))
    assert "href='https://example.org/a?x=1&amp;y=&#x27;2&#x27;'" in out
    assert "target='_blank' rel='noopener noreferrer'" in out


def test_abstained_answer_says_so_and_shows_closest_matches():
    out = render_answer(_answer(_passage(), abstained=True))
    assert NO_ANSWER in out and "Closest matches" in out
    assert "qa-span" not in out and "<ol class='qa-passages qa-closest'>" in out and "qa-passage" in out
    assert NO_ANSWER in answer_text(_answer(abstained=True))


def test_context_marks_passage_and_span():
    p = _passage()
    ctx = Context("seeds/a.txt", "T", "", 50, 200, p.start, p.end, "before <i>", p.text, " after", 106, 116)
    out = render_context(ctx)
    assert "<details class='qa-context'><summary>See in context</summary>" in out
    assert "… before &lt;i&gt;<span class='qa-in'>alpha <mark>beta gamma</mark> delta</span> after …" in out
    assert render_context(ctx, at_end=True).endswith(" after</div></details>")
    answer = render_answer(_answer(p), [out])
    assert out in answer and answer.count("<mark>") == 3  # in the passage, the legend and the context


def test_copy_text_is_plain_and_hidden_in_the_answer():
    p = _passage(text="alpha <b>beta</b> gamma")
    text = answer_text(_answer(p))
    assert text.startswith("“")
    assert "[1] Title, words 11–14 of 1,000 (seeds/a.txt) https://example.org/a" in text
    assert "alpha <b>beta</b> gamma" in text
    out = render_answer(_answer(p))
    assert "<div class='qa-plain'>" in out and "&lt;b&gt;" in out and "&#10;" in out


class NoSources:
    def document_index(self, source):
        raise KeyError(source)


class FakeRetriever:
    index = NoSources()

    def __init__(self):
        self.calls = []

    def ask(self, question, *, k=None, history=()):
        if not question.strip():
            raise QuestionError("the question is empty")
        self.calls.append((question, k, list(history)))
        return _answer(question=question, abstained=question.startswith("Mars"))


def test_session_passes_history_and_keeps_answers_per_message(project):
    retriever = FakeRetriever()
    session = ChatSession(retriever, project)
    chat, turns, box = session.respond("What is debt bondage?", (), 3)
    chat, turns, _ = session.respond("and children?", turns, 5)
    assert (
        box == ""
        and len(chat) == 4
        and [t.answer.question for t in turns] == ["What is debt bondage?", "and children?"]
    )
    assert [c[2] for c in retriever.calls] == [[], ["What is debt bondage?"]]
    assert [c[1] for c in retriever.calls] == [3, 5]
    assert chat == messages(turns) and chat[3] == {"role": "assistant", "content": turns[1].html}
    assert chat[0] == {"role": "user", "content": render_question("What is debt bondage?")}


@pytest.mark.parametrize(("k", "expected"), [(None, 3), ("x", 3), (0, 1), (4.0, 4), (99, 10)])
def test_passage_count_is_bounded(project, k, expected):
    retriever = FakeRetriever()
    ChatSession(retriever, project).respond("What is debt bondage?", (), k)
    assert retriever.calls[0][1] == expected


def test_rating_stores_the_rated_answer(project, tmp_path):
    settings = project.replace(feedback_path=tmp_path / "fb.jsonl")
    session = ChatSession(FakeRetriever(), settings)
    _, turns, _ = session.respond("What is debt bondage?", (), 3)
    _, turns, _ = session.respond("Mars colonies?", turns, 3)
    assert session.rate(3, False, turns) == "down"
    assert session.rate([1, None], "Like", turns) == "up"
    assert session.rate(0, True, turns) is None  # a user message
    assert session.rate(5, True, turns) is None  # not in this session's conversation
    assert session.rate(1, "", turns) is None  # a thumb clicked again: taken back
    assert session.rate(1, True, ()) is None
    lines = [json.loads(line) for line in (tmp_path / "fb.jsonl").read_text().splitlines()]
    assert [(r["rating"], r["question"], r["abstained"]) for r in lines] == [
        ("down", "Mars colonies?", True),
        ("up", "What is debt bondage?", False),
    ]
    first = lines[0]
    assert first["query"] == "searched Mars colonies?" and first["time"]
    assert first["passages"] == [_passage().to_dict()]


@pytest.mark.parametrize("question", ["", "   ", None])
def test_empty_question_is_refused_politely(project, question):
    with pytest.raises(QAError, match=EMPTY_QUESTION):
        ChatSession(FakeRetriever(), project).respond(question, (), 3)


def test_turns_are_immutable_values(project):
    _, turns, _ = ChatSession(FakeRetriever(), project).respond("What is debt bondage?", None, 3)
    assert isinstance(turns, tuple) and isinstance(turns[0], Turn)
    with pytest.raises(AttributeError):
        turns[0].html = "changed"


@pytest.mark.slow
def test_real_answer_cites_the_seed_and_shows_context(retriever, seed_settings, tmp_path):
    session = ChatSession(retriever, seed_settings.replace(feedback_path=tmp_path / "fb.jsonl"))
    _, turns, _ = session.respond("What is debt bondage?", (), 3)
    _, turns, _ = session.respond("and what about children?", turns, 3)
    seed = SEED.read_text(encoding="utf-8")
    for turn in turns:
        answer = turn.answer
        assert len(answer.passages) == 3 and not answer.abstained
        assert all(seed[p.start : p.end] == p.text for p in answer.passages)
        assert turn.html.count("<details class='qa-context'>") == 3
        assert turn.html.count("<span class='qa-in'>") == 3 and " of 5,345" in turn.html
    assert "children" in turns[1].answer.query and "debt bondage" in turns[1].answer.query
    assert session.rate(3, False, turns) == "down"


@pytest.mark.slow
def test_gradio_client_can_ask_by_api_name(live_server):
    from gradio_client import Client

    url, _ = live_server
    client = Client(url + "/", verbose=False)
    chat, box = client.predict("What is debt bondage?", 2, api_name="/ask")
    assert box == "" and [m["role"] for m in chat] == ["user", "assistant"]
    content = chat[1]["content"]
    text = content if isinstance(content, str) else json.dumps(content)
    assert "qa-passage" in text and "debt" in text
