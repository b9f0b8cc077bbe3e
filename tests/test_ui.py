"""The chat page's HTML, conversation and feedback, without a browser."""

import json

import pytest

from qa.answer import Answer, Citation, Passage, Span
from qa.errors import QuestionError
from qa.render import CLOSEST, DECLINE, escape, passage_digest, passage_json
from qa.retrieval.context import Context
from qa.web.chat import EMPTY_QUESTION, ChatSession, Conversations, Turn, messages
from qa.web.chat_render import question_text, render_answer, render_context, render_question
from qa.web.ui import EXAMPLES
from tests.conftest import SEED

EVIL = '<script>alert(1)</script> **bold** [x](javascript:alert(2)) & "quotes" $$x^2$$'


def _passage(text="alpha beta gamma delta", start=100, title="Title", url="https://example.org/a"):
    citation = Citation("seeds/a.txt", title, url, start, start + len(text), 10, 14, 1000)
    return Passage(text, citation, 0.8, Span(start + 6, start + 16))


def _answer(*passages, abstained=False, question="q"):
    return Answer(question, tuple(passages) or (_passage(),), abstained, 0.7, query=f"searched {question}")


def test_question_is_shown_literally_and_edits_as_typed():
    question = EVIL + "\n\n1. second paragraph http://x.test www.x.test a@b.test"
    out = render_question(question)
    assert "<" not in out and ">" not in out and "&lt;script&gt;" in out and "&amp;" in out
    assert "\\*\\*bold\\*\\*" in out and "\\[x\\]\\(javascript" in out and "\\$\\$" in out
    assert "1\\. second" in out and "http\\://" in out and "www\\." in out and "a\\@b" in out
    assert question_text(out) == question
    assert render_question("What is debt bondage?") == "What is debt bondage?"  # the edit box shows it


def test_answer_escapes_document_text_and_marks_the_sentence_once():
    p = _passage(text="alpha <b>beta</b>\n\n**gamma**", title="<img src=x onerror=alert(1)>")
    out = render_answer(_answer(p))
    assert "<b>" not in out and "<img" not in out and "&lt;img" in out and "&lt;b&gt;" in out
    assert "\n" not in out  # a blank line would end the HTML block and let Markdown in
    assert out.count("<mark>") == 1 and "qa-span" not in out


def test_answer_leads_with_the_label_first_passage_open_others_folded():
    a, b = _passage(), _passage(start=500, title="Other")
    out = render_answer(_answer(a, b))
    first, second = out.index("qa-num'>[1]"), out.index("qa-num'>[2]")
    assert out.index("qa-copy") < first < second
    assert "<strong class='qa-label'>Title</strong>" in out
    assert "<strong class='qa-label'>Other</strong>" in out
    assert out.count(" open>") == 1 and out.index(" open>") < first
    assert out.index("qa-text") < out.index("<code>seeds/a.txt</code>")  # file and offsets secondary


def test_citation_links_only_to_web_urls():
    out = render_answer(_answer(_passage(url="javascript:alert(1)")))
    # the text file's page served by the app instead, the passage and highlight marked in it
    digest = passage_digest("alpha beta gamma delta")
    page = f"/context/seeds/a.txt?start=100&amp;end=122&amp;hs=106&amp;he=116&amp;v={digest}#cited"
    served = f"<a class='qa-link qa-in-document' href='{page}'"
    assert "javascript:" not in out and served in out and out.count("<a ") == 1
    out = render_answer(_answer(_passage(url="https://example.org/a?x=1&y='2'")))
    assert "href='https://example.org/a?x=1&amp;y=&#x27;2&#x27;#:~:text=beta%20gamma'" in out
    assert "target='_blank' rel='noopener noreferrer'" in out
    assert "in the document ↗</a>" in out  # and the document's page beside the web page


def test_abstained_answer_says_so_and_shows_closest_text_unmarked():
    out = render_answer(_answer(_passage(), abstained=True))
    assert escape(DECLINE) in out and CLOSEST in out and "0.70" not in out
    copied = out[out.index("qa-plain") :]
    assert "don&#x27;t seem to answer" in copied and "evidence" not in copied  # the copy says the same
    assert "<mark>" not in out and "<ol class='qa-passages qa-closest'>" in out and "qa-passage" in out


def test_context_marks_passage_and_span():
    p = _passage()
    ctx = Context("seeds/a.txt", "T", "", 50, 200, p.start, p.end, "before <i>", p.text, " after", 106, 116)
    out = render_context(ctx)
    assert "<details class='qa-context'><summary>See in context</summary>" in out
    assert "… before &lt;i&gt;<span class='qa-in'>alpha <mark>beta gamma</mark> delta</span> after …" in out
    assert render_context(ctx, at_end=True).endswith(" after</div></details>")
    assert "<mark>" not in render_context(ctx, declined=True)
    answer = render_answer(_answer(p), [out])
    assert out in answer and answer.count("<mark>") == 3  # in the passage, the legend and the context


def test_copy_text_is_plain_and_hidden_in_the_answer():
    p = _passage(text="alpha <b>beta</b> gamma")
    out = render_answer(_answer(p))
    assert "<div class='qa-plain'>“" in out and "&lt;b&gt;" in out and "&#10;" in out
    assert "[1] Title&#10;    seeds/a.txt · words 11–14 of 1,000" in out


class NoSources:
    def document(self, source):
        raise KeyError(source)

    document_index = document


class FakeRetriever:
    index = NoSources()

    def __init__(self):
        self.calls = []

    def ask(self, question, *, k=None, history=()):
        if not question.strip():
            raise QuestionError("the question is empty")
        if question.strip("?") == "":
            raise QuestionError("the question has no words to search for")
        self.calls.append((question, k, list(history)))
        return _answer(question=question, abstained=question.startswith("Mars"))


def test_session_passes_history_and_keeps_answers_per_message(project):
    retriever = FakeRetriever()
    session = ChatSession(retriever, project)
    chat, turns, box, _ = session.respond("What is debt bondage?", (), 3).outputs()
    chat, turns, _, _ = session.respond("and children?", turns, 5).outputs()
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
    turns = session.respond("What is debt bondage?", (), 3).turns
    turns = session.respond("Mars colonies?", turns, 3).turns
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
    assert first["passages"] == [passage_json(_passage())]


@pytest.mark.parametrize(
    ("question", "notice"),
    [("", EMPTY_QUESTION), ("   ", EMPTY_QUESTION), (None, EMPTY_QUESTION), ("???", "no words to search")],
)
def test_unaskable_question_is_a_notice_and_the_conversation_stays(project, question, notice):
    session = ChatSession(FakeRetriever(), project)
    turns = session.respond("What is debt bondage?", (), 3).turns
    reply = session.respond(question, turns, 3)
    assert notice in reply.notice and reply.turns == turns and reply.chat == messages(turns)
    assert reply.box == (question or "")  # what was typed stays in the box to fix


def test_retry_undo_and_edit(project):
    retriever = FakeRetriever()
    session = ChatSession(retriever, project)
    turns = session.respond("What is debt bondage?", (), 3).turns
    turns = session.respond("and children?", turns, 3).turns
    again = session.retry(turns, 4)
    assert [t.answer.question for t in again.turns] == ["What is debt bondage?", "and children?"]
    assert retriever.calls[-1] == ("and children?", 4, ["What is debt bondage?"])
    undone = session.undo(turns)
    assert [t.answer.question for t in undone.turns] == ["What is debt bondage?"]
    assert undone.box == "and children?" and undone.chat == messages(undone.turns)
    edited = session.edit(0, render_question("What is forced labour?"), turns, 3)
    assert [t.answer.question for t in edited.turns] == ["What is forced labour?"]
    assert retriever.calls[-1] == ("What is forced labour?", 3, [])
    kept = session.edit(2, "   ", turns, 3)
    assert kept.turns == turns and kept.notice == EMPTY_QUESTION
    assert session.edit(1, "x", turns, 3).turns == turns  # an answer is not editable
    assert session.retry((), 3).turns == () and session.undo(()).box == ""


def test_examples_are_few_and_distinct():
    assert 3 <= len(EXAMPLES) <= 6 and len(set(EXAMPLES)) == len(EXAMPLES)


def test_turns_are_immutable_values(project):
    turns = ChatSession(FakeRetriever(), project).respond("What is debt bondage?", None, 3).turns
    assert isinstance(turns, tuple) and isinstance(turns[0], Turn)
    with pytest.raises(AttributeError):
        turns[0].html = "changed"


def test_each_course_keeps_its_conversation_when_the_picker_switches(project):
    session = ChatSession(FakeRetriever(), project)
    bio = session.respond("What is debt bondage?", (), 3, "bio").turns
    courses, turns, left = Conversations("bio").switch(bio, "chem")
    assert turns == () and left == "bio" and courses == Conversations("chem", (("bio", bio),))
    assert courses == Conversations("bio").switch(bio, "chem")[0]  # the same pick twice: the same
    chem = session.respond("and children?", turns, 3, "chem").turns
    courses, turns, left = courses.switch(chem, "bio")
    assert turns == bio and left == "chem" and dict(courses.kept) == {"bio": bio, "chem": chem}
    courses, turns, left = courses.switch((), "chem")  # bio cleared, then left: nothing to say
    assert turns == chem and left == "" and courses.switch(chem, "bio")[1] == ()
    assert courses.switch(chem, "chem") == (courses, chem, "")  # the course shown picked again
    courses, turns, left = Conversations().switch(chem, "bio")  # not told: the last turn's course
    assert dict(courses.kept) == {"chem": chem} and turns == () and left == "chem"


@pytest.mark.slow
def test_real_answer_cites_the_seed_and_shows_context(retriever, seed_settings, tmp_path):
    session = ChatSession(retriever, seed_settings.replace(feedback_path=tmp_path / "fb.jsonl"))
    turns = session.respond("What is debt bondage?", (), 3).turns
    turns = session.respond("and what about children?", turns, 3).turns
    seed = SEED.read_text(encoding="utf-8")
    for turn in turns:
        answer = turn.answer
        assert len(answer.passages) == 3 and not answer.abstained
        assert all(seed[p.start : p.end] == p.text for p in answer.passages)
        assert turn.html.count("<details class='qa-context'>") == 3
        assert turn.html.count("<span class='qa-in'>") == 3 and " of 5,345" in turn.html
        assert turn.html.count(" open>") == 1
    assert "children" in turns[1].answer.query and "debt bondage" in turns[1].answer.query
    assert session.rate(3, False, turns) == "down"


@pytest.mark.slow
def test_gradio_client_can_ask_by_api_name(live_server):
    from gradio_client import Client

    url, _ = live_server
    client = Client(url + "/", verbose=False)
    chat, box, notice = client.predict("What is debt bondage?", 2, api_name="/ask")
    assert box == "" and notice == "" and [m["role"] for m in chat] == ["user", "assistant"]
    content = chat[1]["content"]
    text = content if isinstance(content, str) else json.dumps(content)
    assert "qa-passage" in text and "debt" in text


@pytest.mark.slow
@pytest.mark.parametrize(
    ("example", "phrase"),
    list(
        zip(
            EXAMPLES,
            [
                "trade humans purpose forced labour",
                "debt bondage",
                "estimates number victims human trafficking",
                "organ trade often seeks kidneys",
            ],
            strict=True,
        )
    ),
)
def test_every_example_is_answered_well(retriever, example, phrase):
    answer = retriever.ask(example, k=3)
    assert not answer.abstained and phrase in answer.passages[0].text
