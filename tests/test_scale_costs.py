"""What a question reads at a million windows, made to follow its candidates: word offsets found
with NumPy as the regex finds them, structure read a document at a time, sentence starts of text
without sentences found without word offsets (fast, fake embedder)."""

from __future__ import annotations

import random
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from conftest import regex_word_spans, resident_bytes

from qa.index.build import ensure_index
from qa.ingest.chunking import _word_spans, may_have_boundaries
from qa.retrieval.retriever import Retriever
from qa.retrieval.structure import Structure


def test_word_offsets_are_the_regex_ones_for_control_characters_and_spaces_above_ascii():
    rng = random.Random(1)
    alphabet = "".join(chr(c) for c in (*range(0, 0x22), 0x84, 0x85, 0x86, 0x9F, 0xA0, 0xA1))
    alphabet += "\u1680\u167f\u2000\u200a\u200b\u2028\u2029\u202f\u205f\u3000\u3001\U0001f642ab"
    texts = ["", "\x00", "\x08 \x0e", "a\x1cb\x1fc\x1bd", "\x85x\xa0y\u3000z"]
    texts += ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 60))) for _ in range(800)]
    for text in texts:
        starts, ends = _word_spans(text)
        assert starts.dtype == ends.dtype == np.int64
        assert list(zip(starts.tolist(), ends.tolist())) == regex_word_spans(text), repr(text)


def test_text_without_line_breaks_or_sentence_marks_cannot_have_boundaries():
    assert not may_have_boundaries("plain words and more words")
    assert all(may_have_boundaries(t) for t in ("one\ntwo", "Done. Next", "a; b", "why?", "x: y", "no!"))


def _structured(d: int) -> str:
    if d % 2 == 0:
        return " ".join(f"plain{d} words{i}" for i in range(90))
    parts = [f"# Guide {d}\n"]
    for s in range(3):
        parts.append(f"## Topic{d} part{s}\n\n- [link](http://x/{s})\n---\n")
        parts.append(" ".join(f"Text{d} of part {s} word{i}." for i in range(25)) + "\n")
    return "\n".join(parts)


def test_structure_fills_in_every_window_of_a_document_it_reads(project, fake_embedder):
    for d in range(6):
        (project.seeds_dir / f"doc{d}.txt").write_text(_structured(d), encoding="utf-8")
    index = ensure_index(project, fake_embedder).index
    structure = Structure(index, index.lexical)
    bounds = structure.document_windows
    assert bounds is not None and bounds[0] == 0 and bounds[-1] == len(index)
    doc = index.windows.doc
    first = int(np.flatnonzero(doc == 1)[0])
    share = structure.debris_of(np.array([first]))
    assert share[0] > 0  # the document has link lines and rules
    read = ~np.isnan(structure.debris_share)
    np.testing.assert_array_equal(read, doc == 1)  # that document's windows, no other's
    sections = structure.section_ids(np.array([first]))
    np.testing.assert_array_equal(structure.section_terms[0] >= 0, doc == 1)
    alone = Structure(index, index.lexical)
    alone.document_windows = None  # window by window, as for a table not in document order
    np.testing.assert_array_equal(alone.debris_of(np.flatnonzero(doc == 1)), structure.debris_share[doc == 1])
    assert [alone.section_terms[1][s] for s in alone.section_ids(np.array([first]))] == [
        structure.section_terms[1][s] for s in sections
    ]


def test_a_window_table_out_of_document_order_is_read_window_by_window():
    windows = SimpleNamespace(doc=np.array([0, 0, 1, 0, 2]))
    structure = Structure(SimpleNamespace(windows=windows, documents=[None] * 3), lexicon=None)
    assert structure.document_windows is None
    ordered = Structure(
        SimpleNamespace(windows=SimpleNamespace(doc=np.array([0, 0, 2, 2])), documents=[None] * 4), None
    )
    assert ordered.document_windows.tolist() == [0, 2, 2, 4, 4]


def test_sentence_starts_of_text_without_sentences_need_no_word_offsets(project, fake_embedder):
    (project.seeds_dir / "plain.txt").write_text(" ".join(f"word{i}" for i in range(300)), encoding="utf-8")
    (project.seeds_dir / "prose.txt").write_text("First one here. " * 40, encoding="utf-8")
    ensure_index(project, fake_embedder)
    retriever = Retriever.open(project, fake_embedder)
    sources = [Path(d.source).name for d in retriever.index.documents]
    plain, prose = sources.index("plain.txt"), sources.index("prose.txt")
    assert retriever.shaper.sentence_starts[plain] is None
    assert retriever.index.word_maps.computed == 0
    assert retriever.shaper.sentence_starts[prose][:3].tolist() == [0, 3, 6]
    assert retriever.shaper.grow(plain, 100, 102, 0, 300) == (51, 51 + project.passage_words)


def test_candidate_scores_after_a_pruned_top_are_the_exact_ones_bit_for_bit():
    from qa.lexical.bm25 import LexicalIndex

    rng = np.random.default_rng(3)
    vocab = [f"w{i}" for i in range(40)]
    p = 1.0 / np.arange(1, 41)
    texts = [" ".join(rng.choice(vocab, size=15, p=p / p.sum())) for _ in range(600)]
    lexical = LexicalIndex(texts, [20 if i % 3 else 40 for i in range(600)])
    for model in lexical._models.values():
        model.impact = model.best_postings(5)  # every common term capped: top() rescores exactly
    for _ in range(20):
        query = [f"w{i}" for i in rng.integers(0, 40, size=5)]
        full = lexical.scores(query)
        for scale in (20, 40):
            ids, scores = lexical.top(query, 8, scale=scale)
            np.testing.assert_array_equal(scores.view(np.int32), full[ids].view(np.int32))
        ids = rng.permutation(600)[:300]
        np.testing.assert_array_equal(lexical.scores_for(query, ids).view(np.int32), full[ids].view(np.int32))


def test_own_names_are_found_from_the_name_terms_as_from_each_candidates_document(project, fake_embedder):
    for d, name in enumerate(["ninja_manual", "make_manual", "ninja_tips", "notes"]):
        (project.seeds_dir / f"{name}.txt").write_text(_structured(d), encoding="utf-8")
    index = ensure_index(project, fake_embedder).index
    structure = Structure(index, index.lexical)
    rng = np.random.default_rng(4)
    names = sorted(set().union(*structure.names))
    for _ in range(30):
        ids = rng.permutation(len(index))[: rng.integers(1, len(index))]
        query = list(rng.choice([*names, "other", "words"], size=4))
        docs = index.windows.doc[ids]
        expected = {}
        for term in dict.fromkeys(query):  # the definition: documents of the candidates going by it
            owners = [doc for doc in np.unique(docs).tolist() if term in structure.names[doc]]
            if owners:
                expected[term] = np.isin(docs, owners)
        got = structure.own_names(ids, query)
        assert got.keys() == expected.keys()
        assert all(np.array_equal(got[t], expected[t]) for t in got)


@pytest.mark.skipif(not Path("/proc/self/smaps").exists(), reason="reads Linux's /proc")
def test_populating_a_mapping_advised_random_keeps_its_advice(tmp_path):
    import mmap

    from qa.pages import populate
    from qa.pages import randomly_read as _randomly_read

    path = tmp_path / "codes.bin"
    path.write_bytes(bytes(range(256)) * 4096)
    with open(path, "rb") as f:
        random = mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ)
    random.madvise(mmap.MADV_RANDOM)
    assert len(_randomly_read(path)) == 1
    assert resident_bytes(path) < path.stat().st_size // 2
    assert populate(path) >= path.stat().st_size
    assert resident_bytes(path) >= path.stat().st_size - 4096
    assert len(_randomly_read(path)) == 1  # advised random again
    random.close()
