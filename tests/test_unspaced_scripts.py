"""Chinese and Japanese, written without spaces between words: each letter is a word of its own,
so their documents are cut into windows of a sensible size, searched by their characters,
highlighted sentence by sentence and declined when the question's words are not there."""

from __future__ import annotations

import pytest

from qa.ingest.chunking import WordMap, chunk_text
from qa.ingest.normalize import content_words, normalize

ZH = """# 人口贩卖

人口贩卖是指以强迫劳动、性奴役或商业性剥削为目的的人口交易。人口贩卖可以在一个国家内部发生，也可以跨国发生。人口贩卖与人口走私不同，后者的特点是被走私者的同意。

## 债务奴役

债务奴役是指一个人以劳务来偿还债务，但债务往往永远无法还清。贩卖者经常利用债务控制受害者，使他们无法离开。

## 器官贩卖

器官贩卖是一种以摘取器官为目的的人口贩卖形式。受害者可能被欺骗或被迫出售肾脏等器官。全球每年有数千例非法器官移植。
"""

JA = """# 富士山

富士山は日本で最も高い山で、標高は3776メートルです。静岡県と山梨県にまたがっています。

## 登山

登山シーズンは7月から9月までです。多くの登山者は山小屋で一泊して、山頂で日の出を見ます。
"""


def test_each_chinese_or_japanese_letter_is_a_word_and_punctuation_stays_with_it():
    text = "人口贩卖。使用Python编程！ The end. 「引用」"
    words = WordMap(text)
    expected = ["人", "口", "贩", "卖。", "使", "用", "Python", "编", "程！"]
    expected += ["The", "end.", "「", "引", "用」"]
    assert words.words() == expected
    assert [text[a:b] for a, b in zip(words.starts, words.ends)] == words.words()
    ends = [w for w, end in zip(words.words(), words.boundary_after) if end]
    assert ends == ["卖。", "程！", "end.", "用」"]


def test_text_with_spaces_splits_as_before():
    text = "Café au lait — déjà vu.\n\nNext: 3–4 items, naïve\tfaçade"
    words = WordMap(text)
    assert words.words() == text.split()
    assert words.words(2, 5) == text.split()[2:5]


def test_chinese_windows_end_at_sentence_marks_and_are_exact_slices():
    chunks = chunk_text(ZH, source="zh.md", size=40, stride=20)
    assert len(chunks) > 4  # not the whole text as a handful of "words"
    for chunk in chunks:
        assert chunk.text == ZH[chunk.start : chunk.end]
        assert chunk.words <= 40
    assert sum(c.text.endswith("。") for c in chunks) >= len(chunks) // 2


def test_questions_are_read_letter_by_letter_without_function_characters():
    assert normalize("什么是债务奴役？") == "什 么 是 债 务 奴 役"
    assert content_words("什么是债务奴役？") == ["债", "务", "奴", "役"]
    assert content_words("富士山の標高は？") == ["富", "士", "山", "標", "高"]  # hiragana: particles
    assert normalize("U.S. Café") == "us cafe"


@pytest.fixture(scope="module")
def unspaced(tmp_path_factory, index_builds, real_embedder):
    from qa.retrieval.retriever import Retriever

    folder = tmp_path_factory.mktemp("unspaced")
    (folder / "zh.md").write_text(ZH, encoding="utf-8")
    (folder / "ja.md").write_text(JA, encoding="utf-8")
    built = index_builds.build([folder / "zh.md", folder / "ja.md"])
    return Retriever(built.index, real_embedder, built.settings)


def _highlight(retriever, answer) -> str:
    passage = answer.passages[0]
    text = retriever.index.documents[retriever.index.document_index(passage.citation.source)].text
    return text[passage.highlight.start : passage.highlight.end]


@pytest.mark.parametrize(
    ("question", "sentence"),
    [
        ("什么是债务奴役？", "债务奴役是指一个人以劳务来偿还债务，但债务往往永远无法还清。"),
        ("器官贩卖的受害者被迫出售什么？", "受害者可能被欺骗或被迫出售肾脏等器官。"),
        ("人口走私和人口贩卖有什么不同？", "人口贩卖与人口走私不同，后者的特点是被走私者的同意。"),
        ("富士山の標高は何メートルですか？", "富士山は日本で最も高い山で、標高は3776メートルです。"),
        ("登山シーズンはいつですか？", "登山シーズンは7月から9月までです。"),
    ],
)
def test_a_chinese_or_japanese_question_is_answered_with_its_sentence(unspaced, question, sentence):
    answer = unspaced.ask(question)
    assert not answer.abstained
    assert _highlight(unspaced, answer) == sentence


@pytest.mark.parametrize("question", ["什么是气候变化？", "谁发明了电话？", "What is debt bondage?"])
def test_a_question_whose_words_the_documents_lack_is_declined(unspaced, question):
    assert unspaced.ask(question).abstained
