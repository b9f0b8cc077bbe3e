"""Contextual window vectors (late chunking): only the largest windows go through the model, the
smaller ones are pooled from their tokens' states; the setting, the manifest, the fallbacks."""

from __future__ import annotations

import hashlib
import json
import re

import numpy as np
import pytest

from qa.config import Settings
from qa.embedders.tokens import TokenEmbedder, TokenStates, token_states
from qa.errors import ConfigError
from qa.index.build import ensure_index, stale_reasons
from qa.index.contextual import WindowSpans, contextual_vectors, holders
from qa.index.model import Manifest


class FakeTokenEmbedder:
    """A bag-of-words model with token states: each word is one token whose state is a hashed
    one-hot vector, and a text's vector is the normalised mean of its tokens' states. With no
    context in the states, a window pooled inside a larger one equals the window embedded alone.
    ``max_tokens`` truncates like a model's ``max_seq_length``."""

    def __init__(self, dimension: int = 64, max_tokens: int = 1000) -> None:
        self.name = "fake-model"
        self.dimension = dimension
        self.max_tokens = max_tokens
        self.encoded: list[str] = []
        self.token_encoded: list[str] = []

    def _states(self, text: str) -> TokenStates:
        words = [m.span() for m in re.finditer(r"\S+", text)][: self.max_tokens]
        states = np.zeros((len(words), self.dimension), dtype=np.float32)
        for i, (a, b) in enumerate(words):
            h = int.from_bytes(hashlib.blake2b(text[a:b].lower().encode(), digest_size=4).digest(), "little")
            states[i, h % self.dimension] = 1.0
        mean = states.mean(axis=0) if len(words) else np.eye(self.dimension, dtype=np.float32)[0]
        spans = np.array(words, dtype=np.int64).reshape(-1, 2)
        return TokenStates(mean / np.linalg.norm(mean), states, spans[:, 0], spans[:, 1])

    def encode(self, texts):
        self.encoded += list(texts)
        return np.array([self._states(t).vector for t in texts], dtype=np.float32).reshape(-1, self.dimension)

    def encode_tokens(self, texts):
        self.token_encoded += list(texts)
        return [self._states(t) for t in texts]


def _words(n: int, stem: str = "w") -> str:
    return " ".join(f"{stem}{i}" for i in range(n))


def _document(words: int, sizes=(10, 20)):
    """Windows of ``sizes`` over ``words`` one-space-separated words, each overlapping by half."""
    text = _words(words)
    starts = [m.start() for m in re.finditer(r"\S+", text)]
    ends = [m.end() for m in re.finditer(r"\S+", text)]
    rows = []
    for size in sizes:
        for w in range(0, max(words - size // 2, 1), size // 2):
            last = min(w + size, words)
            rows.append((size, w, last, starts[w], ends[last - 1]))
    cols = [np.array(c, dtype=np.int64) for c in zip(*rows)]
    spans = WindowSpans(*cols)
    return [text[a:b] for a, b in zip(spans.start, spans.end)], spans


def test_holders_are_the_largest_windows_containing_a_window_with_how_far_off_centre():
    _, spans = _document(40)
    hosts = np.flatnonzero(spans.scale == 20)
    small = np.flatnonzero((spans.scale == 10) & (spans.word_start == 15))  # words 15-25
    got = holders(spans, hosts, small)
    held_by = {int(spans.word_start[h]): off for _, h, off in got}
    assert held_by == {10: 0.0}  # 10-30 holds it in the middle; 0-20 and 20-40 do not hold it
    small = np.flatnonzero((spans.scale == 10) & (spans.word_start == 10))  # words 10-20
    held_by = {int(spans.word_start[h]): off for _, h, off in holders(spans, hosts, small)}
    assert held_by == {0: 5.0, 10: 5.0}


def test_without_context_contextual_vectors_equal_the_windows_embedded_alone():
    texts, spans = _document(95, sizes=(10, 20, 30))
    model = FakeTokenEmbedder()
    got = contextual_vectors(texts, spans, encode=model.encode, encode_tokens=model.encode_tokens)
    largest = [t for t, s in zip(texts, spans.scale) if s == 30]
    assert model.token_encoded == largest and model.encoded == []  # only the largest, once each
    assert np.allclose(got, model.encode(texts), atol=1e-6)
    for hosts in ("central", "all"):
        again = contextual_vectors(
            texts, spans, encode=model.encode, encode_tokens=model.encode_tokens, hosts=hosts
        )
        assert np.allclose(again, got, atol=1e-6)


def test_the_central_holder_is_used_when_states_depend_on_the_holder():
    texts, spans = _document(40)
    model = FakeTokenEmbedder()

    def tagged(batch):  # every token's state is (1, number of the holder's first word + 1)
        out = []
        for text in batch:
            s = model._states(text)
            states = np.zeros_like(s.states)
            states[:, 0], states[:, 1] = 1.0, float(text.split()[0][1:]) + 1
            out.append(TokenStates(s.vector, states, s.starts, s.ends))
        return out

    def holder_mark(vectors, word_start):
        row = int(np.flatnonzero((spans.scale == 10) & (spans.word_start == word_start))[0])
        return round(float(vectors[row, 1] / vectors[row, 0]), 4)

    central = contextual_vectors(texts, spans, encode=model.encode, encode_tokens=tagged)
    every = contextual_vectors(texts, spans, encode=model.encode, encode_tokens=tagged, hosts="all")
    assert holder_mark(central, 15) == holder_mark(every, 15) == 11  # words 15-25: only 10-30 holds it
    assert holder_mark(central, 10) == 1  # words 10-20: 0-20 and 10-30 equally off centre, the earlier
    assert holder_mark(every, 10) == 6  # the mean of both holders
    assert holder_mark(central, 20) == 11  # words 20-30: held by 10-30 and 20-40, the earlier again


def test_windows_past_truncation_or_held_by_none_are_embedded_alone():
    texts, spans = _document(40)
    model = FakeTokenEmbedder(max_tokens=12)  # the model keeps the first 12 words of a window
    got = contextual_vectors(texts, spans, encode=model.encode, encode_tokens=model.encode_tokens)
    past = [t for t, s, ws in zip(texts, spans.scale, spans.word_start) if s == 10 and ws in (5, 15, 25, 30)]
    assert sorted(model.encoded) == sorted(past)  # these reach past word 12 of every holder
    assert np.allclose(got[spans.scale == 10], FakeTokenEmbedder().encode(np.array(texts)[spans.scale == 10]))
    moved = WindowSpans(
        spans.scale,
        spans.word_start,
        spans.word_end,
        spans.start,
        np.where(spans.scale == 10, spans.end + 1, spans.end),
    )  # a boundary moved the small windows' ends one character further
    model = FakeTokenEmbedder()
    contextual_vectors(texts, moved, encode=model.encode, encode_tokens=model.encode_tokens)
    assert len(model.encoded) == 1  # the last one (30-40) ends past the text: nothing holds it


def test_token_states_drop_special_tokens_and_padding():
    hidden = np.arange(2 * 4 * 3, dtype=np.float32).reshape(2, 4, 3)
    got = token_states(
        np.ones((2, 3)),
        hidden,
        [[(0, 0), (0, 2), (3, 5), (0, 0)], [(0, 0), (0, 4), (0, 0), (0, 0)]],
        [[1, 0, 0, 1], [1, 0, 1, 1]],
        [[1, 1, 1, 1], [1, 1, 1, 0]],
    )
    assert np.array_equal(got[0].states, hidden[0, 1:3]) and list(got[0].starts) == [0, 3]
    assert got[0].covered == 5 and got[1].covered == 4 and len(got[1].states) == 1


def test_a_contextual_build_embeds_only_the_largest_windows(project):
    project = project.replace(window_vectors="contextual")
    (project.seeds_dir / "a.txt").write_text(_words(330, "alpha"), encoding="utf-8")
    model = FakeTokenEmbedder()
    report = ensure_index(project, model)
    index = report.index
    largest = index.windows.of_scale(max(project.window_sizes))
    assert index.manifest.window_vectors == "contextual"
    assert report.embedded == len(model.token_encoded) + len(model.encoded) == len(largest) < len(index)
    assert np.allclose(
        index.store.vectors(), model.encode([index.chunk(i).text for i in range(len(index))]), atol=1e-5
    )


def test_switching_window_vectors_says_why_and_rebuilds(project):
    (project.seeds_dir / "a.txt").write_text(_words(200, "alpha"), encoding="utf-8")
    contextual = project.replace(window_vectors="contextual")
    index = ensure_index(contextual, FakeTokenEmbedder()).index
    reasons = stale_reasons(index.manifest, [], project)
    assert "built with contextual window vectors, settings ask for embedded (QA_WINDOW_VECTORS)" in reasons
    report = ensure_index(project, FakeTokenEmbedder())
    assert report.status == "updated" and report.reused == 0 and report.embedded == len(report.index)


def test_contextual_vectors_need_an_embedder_with_token_states(project, fake_embedder):
    (project.seeds_dir / "a.txt").write_text(_words(200, "alpha"), encoding="utf-8")
    assert isinstance(FakeTokenEmbedder(), TokenEmbedder) and not isinstance(fake_embedder, TokenEmbedder)
    with pytest.raises(ConfigError, match="QA_WINDOW_VECTORS=embedded"):
        ensure_index(project.replace(window_vectors="contextual"), fake_embedder)


def test_the_setting_comes_from_the_environment_and_is_checked(tmp_path):
    settings = Settings.load({"QA_WINDOW_VECTORS": "contextual"}, root=tmp_path)
    assert settings.window_vectors == "contextual"
    assert Settings(root=tmp_path).window_vectors == "embedded"
    with pytest.raises(ConfigError, match='"embedded", "composed" or "contextual"'):
        Settings.load({"QA_WINDOW_VECTORS": "late"}, root=tmp_path)


def test_a_manifest_from_before_window_vectors_keeps_what_it_was_built_with():
    base = {"format_version": 1, "model": "m", "dimension": 3, "window_sizes": [20], "sources": {}}
    base |= {"chunks": 0, "faiss_index": "Flat", "built_at": "now"}
    assert Manifest.from_json(json.loads(json.dumps({**base, "composed": True}))).window_vectors == "composed"
    assert Manifest.from_json({**base, "composed": False}).window_vectors == "embedded"
