"""While the index is built for the first time (``qa index``, or the server's first start), the
reason reads "first build", not the loader's "run `qa index` to build it"."""

from __future__ import annotations

from qa.cli import main
from qa.index.build import ensure_index


def test_build_reason_words(project, fake_embedder):
    (project.seeds_dir / "a.txt").write_text("debt bondage is a form of forced labour", encoding="utf-8")
    first = ensure_index(project, fake_embedder)
    assert first.said == (f"first build: no index in {project.index_dir} yet",)
    (project.seeds_dir / "b.txt").write_text("organ trafficking", encoding="utf-8")
    assert ensure_index(project, fake_embedder).said == ("rebuilt because: new source seeds/b.txt",)


def test_first_qa_index_says_first_build(project, fake_embedder, monkeypatch, capsys):
    import qa.embedders.base

    monkeypatch.setattr(qa.embedders.base, "make_embedder", lambda settings: fake_embedder)
    (project.seeds_dir / "a.txt").write_text("debt bondage is a form of forced labour", encoding="utf-8")
    assert main(["index", "--root", str(project.root), "--model", "fake-model"]) == 0
    err = capsys.readouterr().err
    assert f"first build: no index in {project.index_dir} yet" in err and "run `qa index`" not in err
    # said before the build's work, not after it: the reason precedes the reading and embedding
    assert err.index("first build") < err.index("reading documents") < err.index("\nembedding:")


def test_qa_serve_on_a_fresh_index_says_first_build_before_reading(project, fake_embedder, monkeypatch):
    """The server's first start printed "reading documents 1/1" before "first build"."""
    import qa.embedders.base
    from qa.web.server import prepare

    monkeypatch.setattr(qa.embedders.base, "make_embedder", lambda settings: fake_embedder)
    (project.seeds_dir / "a.txt").write_text("debt bondage is a form of forced labour", encoding="utf-8")
    lines: list[str] = []
    prepare(project, say=lines.append)
    told = [line.strip().split(":")[0] for line in lines]
    assert told[:3] == [f"checking the index in {project.index_dir} ...", "first build", "reading documents"]
    assert told.index("reading documents") < told.index("embedding"), lines


def test_the_reason_is_said_before_anything_is_embedded(project, fake_embedder):
    (project.seeds_dir / "a.txt").write_text("debt bondage is a form of forced labour", encoding="utf-8")
    heard: list[tuple] = []
    encode = fake_embedder.encode
    fake_embedder.encode = lambda texts, **kw: (heard.append(("encode",)), encode(texts, **kw))[1]
    report = ensure_index(project, fake_embedder, why=lambda said: heard.append(said))
    assert heard[0] == report.said == (f"first build: no index in {project.index_dir} yet",)
    assert ("encode",) in heard[1:]
    heard.clear()
    ensure_index(project, fake_embedder, why=lambda said: heard.append(said))
    assert heard == []  # up to date: nothing to say


def _forget_version(project, key: str) -> None:
    """Make the live build's manifest look written before ``key`` had a version."""
    import json

    from qa.index.files import MANIFEST, POINTER

    build = project.index_dir / (project.index_dir / POINTER).read_text(encoding="utf-8").strip()
    manifest = json.loads((build / MANIFEST).read_text(encoding="utf-8"))
    del manifest["versions"][key]
    (build / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")


def test_a_chinese_text_indexed_before_letters_were_words_is_cut_again(project, fake_embedder):
    (project.seeds_dir / "a.txt").write_text("debt bondage is a form of forced labour", encoding="utf-8")
    (project.seeds_dir / "b.txt").write_text("债务奴役是指一个人以劳务来偿还债务。", encoding="utf-8")
    ensure_index(project, fake_embedder)
    _forget_version(project, "words")
    report = ensure_index(project, fake_embedder)
    assert report.said == (
        "rebuilt because: words of seeds/b.txt are now split letter by letter "
        "(Chinese or Japanese; word splitting version 1 -> 2)",
    )
    assert report.reused == len(report.index.windows.of_document(0))  # the English text's vectors
    assert ensure_index(project, fake_embedder).said == ()


def test_an_index_without_such_letters_is_not_rebuilt_for_them(project, fake_embedder):
    (project.seeds_dir / "a.txt").write_text("debt bondage is a form of forced labour", encoding="utf-8")
    ensure_index(project, fake_embedder)
    _forget_version(project, "words")
    assert ensure_index(project, fake_embedder).said == ()


def test_a_text_with_a_range_indexed_before_en_dashes_parted_words_is_read_again(project, fake_embedder):
    (project.seeds_dir / "a.txt").write_text("debt bondage is a form of forced labour", encoding="utf-8")
    (project.seeds_dir / "b.txt").write_text(
        "The office is open Monday\u2013Friday, 2001\u20132022.", encoding="utf-8"
    )
    ensure_index(project, fake_embedder)
    _forget_version(project, "terms")
    report = ensure_index(project, fake_embedder)
    assert report.said == (
        "rebuilt because: terms of seeds/b.txt are now read otherwise (an en dash parts the words "
        "beside it; term reading version 1 -> 2)",
    )
    assert report.reused == len(report.index.windows)  # the text and its windows are the same
    assert ensure_index(project, fake_embedder).said == ()
    assert report.index.lexical.term_row("friday").any()


def test_an_index_without_en_dashes_is_not_rebuilt_for_them(project, fake_embedder):
    (project.seeds_dir / "a.txt").write_text(
        "debt bondage is a form of forced labour - or worse", encoding="utf-8"
    )
    ensure_index(project, fake_embedder)
    _forget_version(project, "terms")
    assert ensure_index(project, fake_embedder).said == ()
