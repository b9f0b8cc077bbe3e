import json

from qa.ingest.sources import read_source, scan_sources
from tests.conftest import REPO


def test_seed_has_its_title_and_url():
    docs, problems = scan_sources(REPO / "seeds", REPO)
    assert not problems
    seed = next(d for d in docs if d.source == "seeds/000_64fa240758fee0c1.txt")
    assert seed.title == "Human trafficking"
    assert seed.url == "https://en.wikipedia.org/wiki/Human_trafficking"
    assert seed.license == "CC BY-SA 4.0"


def test_bad_files_are_skipped_with_a_message_naming_them(tmp_path):
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "good.md").write_text("# Good Doc\n\nSome text.", encoding="utf-8")
    (seeds / "latin1.txt").write_bytes("caf\xe9 au lait".encode("latin-1"))
    (seeds / "binary.txt").write_bytes(b"\x00\x01\x02abc")
    (seeds / "empty.txt").write_text("  \n", encoding="utf-8")
    (seeds / "notes.json").write_text("{}", encoding="utf-8")
    docs, problems = scan_sources(seeds, tmp_path)
    assert [d.source for d in docs] == ["seeds/good.md"]
    assert docs[0].title == "Good Doc"
    messages = " ".join(map(str, problems))
    assert "latin1.txt: not UTF-8" in messages
    assert "binary.txt" in messages and "empty.txt" in messages


def test_broken_sidecar_is_reported(tmp_path):
    (tmp_path / "a.txt").write_text("text", encoding="utf-8")
    (tmp_path / "a.txt.meta.json").write_text("{not json", encoding="utf-8")
    docs, problems = scan_sources(tmp_path, tmp_path)
    assert not docs and "a.txt.meta.json" in str(problems[0])


def test_sidecar_sets_title_and_url(tmp_path):
    (tmp_path / "a.txt").write_text("text", encoding="utf-8")
    (tmp_path / "a.txt.meta.json").write_text(json.dumps({"title": "T", "url": "https://x"}))
    (doc,), _ = scan_sources(tmp_path, tmp_path)
    assert (doc.title, doc.url) == ("T", "https://x")


def test_text_is_read_as_python_reads_utf8(tmp_path):
    path = tmp_path / "a.txt"
    path.write_bytes(b"line one\r\nline two\r\n")
    assert read_source(path) == path.read_text(encoding="utf-8")


def test_pages_and_sections_survive_the_saved_index(project, fake_embedder):
    from qa.index.build import ensure_index
    from qa.index.files import load_index
    from tests.test_formats import make_pdf

    make_pdf(project.seeds_dir / "manual.pdf")
    built = ensure_index(project, fake_embedder).index.document("seeds/manual.pdf")
    loaded = load_index(project.index_dir).document("seeds/manual.pdf")
    assert loaded == built and loaded.sha256 == built.sha256
    assert loaded.pages == built.pages and len(loaded.pages) == 3 and loaded.page_unit == "page"
    assert ensure_index(project, fake_embedder).status == "up to date"


def test_page_and_section_lookup_at_the_edges():
    from qa.ingest.sources import Document

    doc = Document(
        "s.pdf", "A\n\nbody\n\nB\n\nmore", "t", pages=[0, 8], sections=[[0, "A", "a"], [8, "A › B", ""]]
    )
    assert [doc.page_at(i) for i in (0, 7, 8, 14)] == [1, 1, 2, 2]
    assert [doc.section_at(i) for i in (0, 7, 8)] == ["A", "A", "A › B"]
    assert (doc.anchor_at(3), doc.anchor_at(9)) == ("a", "")
    plain = Document("s.txt", "text", "t")
    assert (plain.page_at(2), plain.section_at(2), plain.anchor_at(2)) == (None, "", "")


def test_bom_is_dropped_and_markdown_title_kept(tmp_path):
    (tmp_path / "a.md").write_bytes("\ufeff# Título\n\nTexto.\n".encode())
    (doc,), _ = scan_sources(tmp_path, tmp_path)
    assert doc.title == "Título" and not doc.text.startswith("\ufeff") and doc.text.startswith("Título")


def test_max_file_mb_comes_from_the_environment():
    import pytest

    from qa.config import Settings
    from qa.errors import ConfigError

    assert Settings.load(env={"QA_MAX_FILE_MB": "2.5"}).max_file_mb == 2.5
    with pytest.raises(ConfigError, match="max_file_mb"):
        Settings.load(env={"QA_MAX_FILE_MB": "0"})
