"""The build's pass through the model (``qa.index.embedding``): tokens counted once and passed
to an embedder that takes them, each different text embedded once with every occurrence given
its vector, the torch embedder's one pass of its workers over all batches, and BM25 built
beside the embedding with its errors surfacing from the build."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import FakeEmbedder

import qa.index.build as build
from qa.errors import ModelError
from qa.index.build import ensure_index
from qa.index.embedding import distinct, embed_texts


class CountedFake(FakeEmbedder):
    """A fake that counts tokens (one per word) and takes the counts in ``encode_counted``;
    remembers what it was asked."""

    def __init__(self) -> None:
        super().__init__()
        self.counted: list[str] = []
        self.given: list[tuple[list[str], list[int]]] = []

    def token_counts(self, texts):
        self.counted += texts
        return np.array([len(t.split()) for t in texts])

    def encode_counted(self, texts, counts, *, progress=None):
        self.given.append((list(texts), list(counts)))
        out = self.encode(texts)
        if progress:
            progress(len(texts))
        return out


def _texts() -> list[str]:
    unique = [" ".join(f"w{i}" for i in range(n)) + f" end{n}" for n in (5, 1, 9, 3)]
    return [unique[i] for i in (0, 1, 0, 2, 3, 1, 0)]  # repeats, as boilerplate does


def test_distinct_maps_every_text_to_its_first_occurrence():
    texts = ["a", "b", "a", "c", "b"]
    unique, where = distinct(texts)
    assert unique == ["a", "b", "c"] and list(where) == [0, 1, 0, 2, 1]
    assert [unique[i] for i in where] == texts
    none, where = distinct([])
    assert none == [] and len(where) == 0


def test_tokens_are_counted_once_and_passed_to_the_embedder():
    texts, embedder, steps = _texts(), CountedFake(), []
    got = embed_texts(embedder, texts, steps.append)
    unique = list(dict.fromkeys(texts))
    assert sorted(embedder.counted) == sorted(unique)  # each different text counted once
    assert embedder.given == [(unique, [len(t.split()) for t in unique])]
    assert sum(steps) == len(texts)  # the repeats are reported done too
    assert np.array_equal(got, FakeEmbedder().encode(texts))


def test_each_different_text_goes_through_the_model_once_and_every_window_gets_its_vector():
    texts, embedder = _texts(), FakeEmbedder()  # no token counts: chunks in the order given
    got = embed_texts(embedder, texts)
    assert embedder.encoded == len(set(texts))
    assert got.shape == (len(texts), embedder.dimension)
    assert np.array_equal(got, FakeEmbedder().encode(texts))
    for i, text in enumerate(texts):  # equal texts, equal rows
        assert np.array_equal(got[i], got[texts.index(text)])


def test_a_text_past_the_cap_is_cut_before_the_tokenizer_sees_it():
    """One run of 40 million characters without a space kept the tokenizer busy for minutes
    (the model keeps 256 tokens, and such a run is one unknown token whatever its length)."""
    from qa.index.embedding import MAX_EMBED_CHARS

    fake = CountedFake()
    blob = "a" * (MAX_EMBED_CHARS * 3) + " tail"
    normal = "the library opens at nine"
    vectors = embed_texts(fake, [blob, normal, blob])
    assert sorted(len(t) for t in fake.counted) == [len(normal), MAX_EMBED_CHARS]
    assert sorted(len(t) for t in fake.given[0][0]) == [len(normal), MAX_EMBED_CHARS]
    assert np.array_equal(vectors[0], fake.encode(["a" * MAX_EMBED_CHARS])[0])
    assert np.array_equal(vectors[1], fake.encode([normal])[0]) and np.array_equal(vectors[2], vectors[0])


def test_a_build_of_repeated_windows_embeds_each_text_once(project):
    text = "\n\n".join(["the same boilerplate line of this course repeated again"] * 30)
    (project.seeds_dir / "a.txt").write_text(text, encoding="utf-8")
    embedder = CountedFake()
    report = ensure_index(project.replace(window_vectors="embedded"), embedder)
    sent = [t for texts, _ in embedder.given for t in texts]
    assert len(sent) == len(set(sent)) < len(report.index) == report.embedded
    index = report.index
    by_text = {}
    for i in range(len(index)):  # every window has the vector of its own text
        vector = index.store.vectors(np.array([i]))[0]
        by_text.setdefault(index.chunk(i).text, vector)
        assert np.allclose(vector, by_text[index.chunk(i).text])
        assert np.allclose(vector, FakeEmbedder().encode([index.chunk(i).text])[0], atol=1e-6)


def test_bm25_built_beside_the_embedding_surfaces_its_error(project, monkeypatch):
    (project.seeds_dir / "a.txt").write_text(" ".join(f"w{i}" for i in range(200)), encoding="utf-8")

    class Broken:
        def __init__(self, *args, **kwargs):
            raise ModelError("broken lexical index; run `qa index` again")

    monkeypatch.setattr(build, "LexicalIndex", Broken)
    with pytest.raises(ModelError, match="broken lexical index"):
        ensure_index(project, FakeEmbedder())


def test_the_torch_embedder_runs_every_batch_in_one_pass_and_reports_each(monkeypatch):
    torch = pytest.importorskip("torch")
    from qa.embedders.torch import SentenceTransformerEmbedder

    class Tiny(torch.nn.Module):
        """Stands for a sentence-transformers model: a text's vector is made from its length."""

        def preprocess(self, texts):
            return {"lengths": torch.tensor([[float(len(t)), 1.0] for t in texts])}

        def forward(self, features):
            return {"sentence_embedding": features["lengths"]}

        def get_embedding_dimension(self):
            return 2

    embedder = SentenceTransformerEmbedder("tiny", batch_size=2)
    monkeypatch.setattr(embedder, "_load", Tiny)
    texts = ["aaaa", "a", "aaa", "aa", "aaaaa"]
    steps: list[int] = []
    got = embedder.encode_counted(texts, [4, 1, 3, 2, 5], progress=steps.append)
    want = np.array([[len(t), 1.0] for t in texts], dtype=np.float32)
    assert np.allclose(got, want / np.linalg.norm(want, axis=1, keepdims=True))
    assert sorted(steps) == [1, 2, 2] and steps[0] == 1  # the longest batch first


def test_a_stop_ends_the_torch_embedders_pass_within_a_slice_not_after_every_batch(monkeypatch):
    """The torch embedder's pass of its workers runs to its end once started; the build gives it
    slices of whole batches, so a stop raised by the progress waits for one slice, as the ONNX
    embedder's chunks do, and the batches are those of one pass over all the texts."""
    torch = pytest.importorskip("torch")
    import qa.index.embedding as embedding
    from qa.embedders.torch import SentenceTransformerEmbedder
    from qa.errors import BuildStoppedError

    batches: list[list[float]] = []

    class Tiny(torch.nn.Module):
        def preprocess(self, texts):
            return {"lengths": torch.tensor([[float(len(t)), 1.0] for t in texts])}

        def forward(self, features):
            batches.append(sorted(features["lengths"][:, 0].tolist()))
            return {"sentence_embedding": features["lengths"]}

        def get_embedding_dimension(self):
            return 2

    embedder = SentenceTransformerEmbedder("tiny", batch_size=2)
    monkeypatch.setattr(embedder, "_load", Tiny)
    monkeypatch.setattr(embedder, "token_counts", lambda texts: np.array([len(t) for t in texts]))
    monkeypatch.setattr(embedding, "COUNTED_SLICE", 3)  # rounded up to 4: two batches of 2
    texts = ["a" * n for n in (7, 2, 9, 4, 1, 12, 3, 10, 5, 8, 11, 6)]
    got = embed_texts(embedder, texts)
    want = np.array([[len(t), 1.0] for t in texts], dtype=np.float32)
    assert np.allclose(got, want / np.linalg.norm(want, axis=1, keepdims=True))
    assert sorted(batches) == [[float(a), float(a + 1)] for a in range(1, 13, 2)]  # one pass's batches
    batches.clear()

    def stop(n: int) -> None:
        raise BuildStoppedError("the build was stopped on request")

    with pytest.raises(BuildStoppedError):
        embed_texts(embedder, texts, stop)
    assert len(batches) <= 2  # one slice, not the six batches of every text
