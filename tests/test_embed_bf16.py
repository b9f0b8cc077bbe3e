"""``embed_precision`` bf16 and auto: which CPUs get bf16 (from a fake ``/proc/cpuinfo``), which
form of the embedder embeds the windows, what the manifest records, and when an index is rebuilt.
Also the build's order of texts through the model (by token count, across documents). (The real
model in bf16: tests/test_embedding_bf16.py.)"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import FakeEmbedder, ShiftedFake

import qa.embedders.precision as precision
from qa.config import Settings
from qa.embedders.base import window_embedder
from qa.embedders.precision import accepts, cpu_flags, native_bf16, window_precision
from qa.errors import ConfigError
from qa.index.build import ensure_index, stale_reasons
from qa.index.embedding import EMBED_BATCH, Embedded, embed_texts, token_order
from qa.index.files import read_manifest

ZEN4 = "processor\t: 0\nvendor_id\t: AuthenticAMD\nflags\t\t: fpu avx2 avx512f avx512_vnni avx512_bf16\n\n"
SAPPHIRE = "processor\t: 0\nflags\t\t: fpu avx512f amx_bf16 amx_tile\n"
OLDER = "processor\t: 0\nflags\t\t: fpu sse2 avx2 avx512f avx512_vnni\n"


class Bf16Fake(FakeEmbedder):
    """A fake with a bf16 form: another fake whose vectors differ slightly."""

    def __init__(self) -> None:
        super().__init__()
        self.half = ShiftedFake(axis=2)
        self.bf16_calls = 0

    def bf16(self) -> FakeEmbedder:
        self.bf16_calls += 1
        return self.half


@pytest.fixture
def cpu(tmp_path, monkeypatch):
    """Point the CPU check at a fake cpuinfo: ``cpu("...")`` writes it."""

    def use(text: str) -> None:
        path = tmp_path / f"cpuinfo-{abs(hash(text))}"
        path.write_text(text, encoding="utf-8")
        monkeypatch.setattr(precision, "CPUINFO", path)

    return use


def _write(settings: Settings, name: str, words: int) -> None:
    text = " ".join(f"{name}{i}" for i in range(words))
    (settings.seeds_dir / f"{name}.txt").write_text(text, encoding="utf-8")


def test_native_bf16_is_read_from_the_cpu_flags(tmp_path, cpu):
    assert "avx512_bf16" in cpu_flags(ZEN4) and cpu_flags("no flags here") == frozenset()
    for text, native in ((ZEN4, True), (SAPPHIRE, True), (OLDER, False), ("", False)):
        cpu(text)
        assert native_bf16() is native
    assert native_bf16(tmp_path / "missing") is False


def test_auto_is_bf16_only_on_a_native_cpu_with_an_embedder_that_has_a_bf16_form(cpu):
    cpu(ZEN4)
    assert window_precision("auto", Bf16Fake()) == "bf16"
    assert window_precision("auto", FakeEmbedder()) == "fp32"  # no bf16 form: its own arithmetic
    cpu(OLDER)  # emulated bf16 is slower than fp32: never chosen by auto
    assert window_precision("auto", Bf16Fake()) == "fp32"
    for setting in ("fp32", "int8", "bf16"):
        assert window_precision(setting, Bf16Fake()) == setting
    assert accepts("auto", "fp32") and accepts("auto", "bf16") and not accepts("auto", "int8")
    assert accepts("bf16", "bf16") and not accepts("bf16", "fp32") and not accepts("fp32", "bf16")


def test_the_settings_take_bf16_and_auto_with_either_backend(tmp_path):
    for value in ("bf16", "auto"):
        assert Settings.load({"QA_EMBED_PRECISION": value}, root=tmp_path).embed_precision == value
        assert Settings(root=tmp_path, embed_precision=value, backend="torch").backend == "torch"
    with pytest.raises(ConfigError, match="QA_BACKEND=onnx or QA_EMBED_PRECISION=fp32"):
        Settings(root=tmp_path, embed_precision="int8", backend="torch")


def test_window_embedder_gives_the_bf16_form(project, cpu):
    cpu(OLDER)
    embedder = Bf16Fake()
    assert window_embedder(embedder, project.replace(embed_precision="bf16")) is embedder.half
    assert window_embedder(embedder, project.replace(embed_precision="auto")) is embedder
    with pytest.raises(ConfigError, match="has no bf16 form"):
        window_embedder(FakeEmbedder(), project.replace(embed_precision="bf16"))


def test_an_auto_build_on_a_native_cpu_embeds_in_bf16_and_records_it(project, cpu):
    cpu(ZEN4)
    settings = project.replace(embed_precision="auto")
    _write(settings, "alpha", 300)
    embedder = Bf16Fake()
    report = ensure_index(settings, embedder)
    assert embedder.encoded == 0 and report.embedded == embedder.half.encoded == len(report.index)
    texts = [report.index.chunk(i).text for i in range(len(report.index))]
    assert np.allclose(report.index.store.vectors(), embedder.half.encode(texts), atol=1e-6)
    manifest = read_manifest(settings.index_dir)
    assert manifest.embed_precision == "bf16" and manifest.versions["bf16-recipe"] == precision.BF16_RECIPE
    again = Bf16Fake()
    assert ensure_index(settings, again).status == "up to date" and again.bf16_calls == 0


def test_auto_keeps_an_index_of_either_arithmetic_until_a_source_changes(project, cpu):
    cpu(OLDER)
    settings = project.replace(embed_precision="auto")
    _write(settings, "alpha", 200)
    first = ensure_index(settings, Bf16Fake())
    assert first.index.manifest.embed_precision == "fp32"
    cpu(ZEN4)  # the index moved to a CPU with native bf16: its fp32 vectors still fit
    assert stale_reasons(first.index.manifest, first.index.documents, settings) == []
    assert ensure_index(settings, Bf16Fake()).status == "up to date"
    _write(settings, "beta", 120)  # a new build embeds in bf16 and mixes no fp32 vectors in
    embedder = Bf16Fake()
    second = ensure_index(settings, embedder)
    assert second.status == "updated" and second.reused == 0
    assert second.embedded == len(second.index) == embedder.half.encoded
    assert second.index.manifest.embed_precision == "bf16"


def test_changing_between_fp32_bf16_and_int8_rebuilds_and_says_why(project, cpu):
    cpu(ZEN4)
    _write(project, "alpha", 200)
    bf16 = ensure_index(project.replace(embed_precision="bf16"), Bf16Fake()).index
    fp32 = project.replace(embed_precision="fp32")
    assert stale_reasons(bf16.manifest, bf16.documents, fp32) == [
        "windows embedded in bf16, settings ask for fp32 (QA_EMBED_PRECISION)"
    ]
    report = ensure_index(fp32, Bf16Fake())
    assert report.reused == 0 and report.index.manifest.embed_precision == "fp32"
    int8 = report.index.manifest.__class__(**{**report.index.manifest.__dict__, "embed_precision": "int8"})
    assert stale_reasons(int8, report.index.documents, project.replace(embed_precision="auto")) == [
        "windows embedded in int8, settings ask for auto (fp32 or bf16) (QA_EMBED_PRECISION)"
    ]


def test_bf16_vectors_of_another_recipe_are_not_reused(project, cpu, monkeypatch):
    import qa.index.build as build

    cpu(ZEN4)
    settings = project.replace(embed_precision="bf16")
    _write(settings, "a", 300)
    ensure_index(settings, Bf16Fake())
    monkeypatch.setattr(build, "BF16_RECIPE", "autocast-2")
    report = ensure_index(settings, Bf16Fake())
    assert report.reasons == ("bf16 window vectors made by another recipe than this version's",)
    assert report.reused == 0 and read_manifest(settings.index_dir).versions["bf16-recipe"] == "autocast-2"


class Counting(FakeEmbedder):
    """A fake that counts tokens (one per word) and remembers each call's texts."""

    def __init__(self) -> None:
        super().__init__()
        self.batches: list[list[str]] = []

    def token_counts(self, texts):
        return np.array([len(t.split()) for t in texts])

    def encode(self, texts):
        self.batches.append(list(texts))
        return super().encode(texts)


def test_texts_go_through_the_model_by_token_count_and_keep_their_rows():
    texts = [" ".join(["w"] * n) + f" x{i}" for i, n in enumerate([9, 1, 5, 3, 7] * 120)]
    assert list(token_order(Counting(), texts[:5])) == [1, 3, 2, 4, 0]
    assert list(token_order(FakeEmbedder(), texts[:5])) == [0, 1, 2, 3, 4]  # cannot count: as given
    embedder, steps = Counting(), []
    got = embed_texts(embedder, texts, steps.append)
    assert np.allclose(got, FakeEmbedder().encode(texts))
    assert steps == [EMBED_BATCH, EMBED_BATCH, len(texts) - 2 * EMBED_BATCH]
    lengths = [len(t.split()) for batch in embedder.batches for t in batch]
    assert lengths == sorted(lengths)


def test_embedded_serves_texts_met_ahead_and_embeds_the_others():
    fake = FakeEmbedder()
    ahead = ["one two", "three four"]
    encode = Embedded(ahead, fake.encode(ahead), fake.encode)
    calls = fake.calls
    assert np.allclose(encode(["three four", "one two"]), fake.encode(["three four", "one two"]))
    assert fake.calls == calls + 1  # only the check above
    mixed = encode(["one two", "five six"])
    assert np.allclose(mixed, fake.encode(["one two", "five six"]))


def test_a_build_sends_every_document_s_windows_through_the_model_together(project):
    for name, words in (("alpha", 300), ("beta", 260), ("gamma", 90)):
        _write(project, name, words)
    embedder = Counting()
    report = ensure_index(project, embedder)
    sent = [t for batch in embedder.batches for t in batch]
    assert len(sent) == report.embedded == len(report.index)
    counts = [len(t.split()) for t in sent]
    assert counts == sorted(counts)  # one order across documents and window sizes
