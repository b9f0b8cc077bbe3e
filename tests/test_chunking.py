from hypothesis import given, settings
from hypothesis import strategies as st

from qa.ingest.chunking import WordMap, chunk_text
from tests.conftest import SEED


def _check(text: str, size: int, stride: int) -> None:
    chunks = chunk_text(text, source="s", size=size, stride=stride)
    words = WordMap(text)
    assert words.words() == [text[a:b] for a, b in zip(words.starts, words.ends)]
    covered = set()
    for c in chunks:
        assert c.text == text[c.start : c.end]
        assert c.text == c.text.strip() and c.text
        assert 1 <= c.words <= size
        covered.update(range(c.word_start, c.word_end))
    assert covered == set(range(len(words)))


def test_every_window_of_the_seed_is_an_exact_slice():
    text = SEED.read_text(encoding="utf-8")
    for size in (20, 40, 60, 100):
        _check(text, size, size // 2)


@settings(max_examples=200, deadline=None)
@given(
    st.text(alphabet=st.sampled_from(list("ab .!?\n\t#-é€😀中文。「」ガ")), min_size=0, max_size=400),
    st.integers(min_value=1, max_value=30),
    st.data(),
)
def test_windows_are_exact_slices_of_any_text(text, size, data):
    stride = data.draw(st.integers(min_value=1, max_value=size))
    _check(text, size, stride)


def test_text_with_sentences_is_cut_at_sentence_ends():
    text = " ".join(f"Sentence number {i} has exactly seven words." for i in range(30))
    chunks = chunk_text(text, source="s", size=20, stride=10)
    assert all(c.text.endswith(".") for c in chunks)
    assert all(c.text[0].isupper() for c in chunks[1:])


def test_markdown_headings_and_paragraphs_are_boundaries():
    text = "# Title\n\nintro words here\n\n## Part two\n\nmore words follow here and here\n"
    words = WordMap(text)
    assert words.has_boundaries
    chunk = chunk_text(text, source="s", size=6, stride=3)[0]
    assert chunk.text in ("# Title", "# Title\n\nintro words here")


def test_unpunctuated_text_gets_plain_overlapping_windows():
    text = " ".join(f"w{i}" for i in range(100))
    chunks = chunk_text(text, source="s", size=40, stride=20)
    assert [(c.word_start, c.word_end) for c in chunks] == [(0, 40), (20, 60), (40, 80), (60, 100)]


def test_a_sentence_inside_a_box_of_stars_runs_across_its_lines():
    text = (
        "*  This limitation shall not apply to liability for death or   *\n"
        "*  personal injury. Some jurisdictions differ.                 *\n"
        "\n* a bullet\n* another bullet\n"
    )
    words = WordMap(text)
    ends = [text[words.starts[i] : words.ends[i]] for i in range(len(words)) if words.boundary_after[i]]
    assert ends == ["injury.", "differ.", "*", "bullet", "bullet"]
