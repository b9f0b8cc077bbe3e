import pytest

from qa.errors import UnknownSourceError
from qa.index.build import ensure_index
from qa.retrieval.context import passage_context


@pytest.fixture
def index(project, fake_embedder):
    words = " ".join(f"w{i}" for i in range(400))
    (project.seeds_dir / "a.txt").write_text(words, encoding="utf-8")
    return ensure_index(project, fake_embedder).index


def test_context_surrounds_the_passage_exactly(index):
    doc = index.documents[0]
    start, end = doc.text.index("w200"), doc.text.index("w210") + 4
    ctx = passage_context(index, doc.source, start, end, words=5, highlight=(start, start + 4))
    assert ctx.passage == doc.text[start:end]
    assert ctx.before + ctx.passage + ctx.after == doc.text[ctx.window_start : ctx.window_end]
    assert ctx.before.split()[0] == "w195" and ctx.after.split()[-1] == "w215"
    assert ctx.to_dict()["highlight"] == {"start": start, "end": start + 4}


def test_context_is_clipped_at_the_document_edges(index):
    doc = index.documents[0]
    ctx = passage_context(index, doc.source, 0, 2, words=50)
    assert ctx.before == "" and ctx.window_start == 0


@pytest.mark.parametrize("source", ["../../etc/passwd", "/etc/passwd", "seeds/missing.txt", ""])
def test_only_indexed_sources_open(index, source):
    with pytest.raises(UnknownSourceError):
        passage_context(index, source, 0, 10)


@pytest.mark.parametrize("span", [(-1, 5), (5, 5), (10, 2), (0, 10**9)])
def test_offsets_must_fit(index, span):
    with pytest.raises(UnknownSourceError):
        passage_context(index, index.documents[0].source, *span)


def test_highlight_outside_the_passage_is_dropped(index):
    ctx = passage_context(index, index.documents[0].source, 10, 40, highlight=(0, 5))
    assert ctx.highlight_start is None
