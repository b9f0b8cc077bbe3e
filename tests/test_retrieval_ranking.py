"""Passages ranked as wholes: fast, fake embedder, candidate scores set by hand."""

import numpy as np
import pytest

from qa.index.build import ensure_index
from qa.retrieval.fusion import Candidates
from qa.retrieval.retriever import Retriever
from qa.retrieval.shaping import RANKED_PASSAGES, Shape, Shaper
from qa.retrieval.structure import Structure


def _sentences(n: int) -> str:
    return " ".join(
        f"Sentence {i} tells one thing in plain words, with a clause, and it ends here."
        + ("\n\n" if i % 4 == 3 else "")
        for i in range(n)
    )


@pytest.fixture
def shaper_and_index(project, fake_embedder):
    (project.seeds_dir / "guide.txt").write_text(_sentences(120), encoding="utf-8")
    index = ensure_index(project, fake_embedder).index
    return Shaper(index, project), index


def _windows_in(index, word_start: int, word_end: int) -> np.ndarray:
    """Windows at least half inside words ``[word_start, word_end)``."""
    starts, ends = index.table["word_start"], index.table["word_end"]
    overlap = np.minimum(ends, word_end) - np.maximum(starts, word_start)
    return np.flatnonzero(2 * overlap >= ends - starts)


def test_a_passage_good_at_every_scale_outranks_one_strong_window(shaper_and_index):
    shaper, index = shaper_and_index
    table = index.table
    smallest = int(table["scale"].min())
    steady = _windows_in(index, 100, 200)  # every window around words 100-200 scores 0.8
    spike = _windows_in(index, 800, 900)  # around words 800-900 one small window scores 1.0
    spike = spike[table["scale"][spike] == smallest][:1]
    ids = np.concatenate([steady, spike])
    fused = np.concatenate([np.full(len(steady), 0.8), np.full(len(spike), 1.0)]).astype(np.float32)
    order = np.argsort(ids)
    candidates = Candidates(ids[order], fused[order], None)
    words = np.zeros(len(index.word_maps[0]), np.float32)
    one_peak = Shape(0, 800, 900, 1.0, words)
    every_scale = Shape(0, 100, 200, 0.5, words)

    ranked = shaper.ranked([one_peak, every_scale], candidates)
    assert [s.word_start for s in ranked] == [100, 800]
    assert ranked[0].score == pytest.approx(0.8)
    assert ranked[1].score == pytest.approx(1.0 / len(shaper.sizes))
    shown = shaper.shapes(candidates, 2)
    assert shown[0].word_start < 300 <= 700 <= shown[1].word_start


def test_passage_score_counts_windows_at_least_half_inside(shaper_and_index):
    shaper, index = shaper_and_index
    table = index.table
    window = int(np.flatnonzero(table["scale"] == table["scale"].max())[3])
    start, end = int(table["word_start"][window]), int(table["word_end"][window])
    candidates = Candidates(np.array([window]), np.array([0.9], np.float32), None)
    half = (end - start) // 2
    share = 0.9 / len(shaper.sizes)
    scores = np.zeros(len(index.word_maps[0]), np.float32)
    assert shaper.passage_score(Shape(0, start + half, end + half, 0.0, scores), candidates) == (
        pytest.approx(share)
    )
    assert shaper.passage_score(Shape(0, start + half + 1, end + half, 0.0, scores), candidates) == 0.0


def test_ranked_passages_never_overlap_and_keep_whole_sentences(project, fake_embedder):
    text = _sentences(120)
    (project.seeds_dir / "guide.txt").write_text(text, encoding="utf-8")
    retriever = Retriever(ensure_index(project, fake_embedder).index, fake_embedder, project)
    for question in ["Which sentence tells one thing?", "plain words and a clause", "Sentence 42"]:
        answer = retriever.ask(question, k=RANKED_PASSAGES + 3)
        starts = [p.start for p in answer.passages]
        assert len(set(starts)) == len(starts)
        scores = [p.score for p in answer.passages]
        assert scores == sorted(scores, reverse=True)
        for passage in answer.passages:
            assert passage.text.startswith("Sentence") and passage.text.endswith("ends here.")
            assert passage.start <= passage.highlight.start < passage.highlight.end <= passage.end
            highlight = text[passage.highlight.start : passage.highlight.end]
            assert highlight.startswith("Sentence") and highlight.endswith("ends here.")


SECTIONS = {
    "Rules": "Rules name a command line; every build statement refers to one rule.",
    "Variables": "Variables hold text that later lines expand with a dollar sign.",
    "Pools": "Pools limit how many jobs of a rule run at the same time, so heavy links wait their turn.",
}


def _manual_with_plain_contents() -> str:
    """A manual whose table of contents is plain bullet lines, as readers turn lists of links."""
    contents = "\n".join(f"\u2022 {title}" for title in SECTIONS)
    body = "\n\n".join(f"## {title}\n\n" + " ".join([text] * 5) for title, text in SECTIONS.items())
    return f"# Manual\n\nContents\n\n{contents}\n\n{body}\n"


def test_a_table_of_contents_without_links_is_debris(project, fake_embedder):
    text = _manual_with_plain_contents()
    (project.seeds_dir / "manual.md").write_text(text, encoding="utf-8")
    retriever = Retriever(ensure_index(project, fake_embedder).index, fake_embedder, project)
    structure: Structure = retriever.structure
    words = retriever.index.word_maps[0]
    indexed = retriever.index.documents[0].text
    flagged = {indexed[words.starts[i] : words.ends[i]] for i in np.flatnonzero(structure.link_words[0])}
    assert flagged == {"\u2022", "Pools", "Rules", "Variables"}
    body = indexed.index("Pools limit")
    assert not structure.link_words[0][np.searchsorted(words.starts, body) :].any()
    top = retriever.ask("How do pools limit jobs?", k=1).passages[0]
    assert "\u2022" not in top.text and "Pools limit" in top.text


@pytest.mark.parametrize("named", ["Ninja", "Meson"])
def test_ranked_passages_prefer_the_document_a_question_names(project, fake_embedder, named):
    body = " ".join(f"{title}: {text}" for title, text in SECTIONS.items())
    for name in ["Ninja", "Meson"]:
        text = f"# The {name} manual\n\n{body}\n\n{_sentences(30)}\n"
        (project.seeds_dir / f"{name.lower()}-manual.md").write_text(text, encoding="utf-8")
    retriever = Retriever(ensure_index(project, fake_embedder).index, fake_embedder, project)
    answer = retriever.ask(f"In the {named} manual, how do pools limit jobs?", k=4)
    assert answer.passages[0].source == f"seeds/{named.lower()}-manual.md"
    assert "Pools limit" in answer.passages[0].text
