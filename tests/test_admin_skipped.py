"""The admin listing says why a file in a collection's folder is not indexed, also when it was
skipped by a build this server did not run (``qa index``, or the build at start)."""

from __future__ import annotations

from qa.index.build import ensure_index
from tests.test_admin import admin, courses, make_app  # noqa: F401  (courses is a fixture)


def _documents(client, name: str = "default") -> dict[str, dict]:
    res = client.get(f"/api/v1/admin/collections/{name}", headers=admin())
    assert res.status_code == 200, res.text
    return {d["name"]: d for d in res.json()["documents"]}


def test_files_skipped_before_the_server_started_show_the_readers_reason(courses, fake_embedder):  # noqa: F811
    seeds = courses.seeds_dir
    (seeds / "empty.txt").write_bytes(b"")
    (seeds / "broken.pdf").write_bytes(b"%PDF-1.7\n1 0 obj <<")
    (seeds / "latin1.txt").write_bytes("caf\xe9 cr\xe8me".encode("latin-1"))
    (seeds / "page.docx").write_text("<html><body>not Word</body></html>", encoding="utf-8")
    report = ensure_index(courses, fake_embedder)  # as `qa index` or the server's start would
    assert len(report.skipped) == 4
    client, _ = make_app(courses, fake_embedder)
    docs = _documents(client)
    assert docs["rome.md"]["windows"] > 0 and docs["rome.md"]["warnings"] == []
    assert docs["empty.txt"]["warnings"] == ["empty file, nothing to index"]
    assert "PDF" in docs["broken.pdf"]["warnings"][0]
    assert "not UTF-8" in docs["latin1.txt"]["warnings"][0]
    assert "the extension says Word (.docx)" in docs["page.docx"]["warnings"][0]
    assert all(docs[n]["windows"] == 0 for n in ("empty.txt", "broken.pdf", "latin1.txt", "page.docx"))


def test_a_fixed_file_loses_its_warning(courses, fake_embedder):  # noqa: F811
    path = courses.seeds_dir / "notes.txt"
    path.write_bytes(b"")
    ensure_index(courses, fake_embedder)
    client, _ = make_app(courses, fake_embedder)
    assert _documents(client)["notes.txt"]["warnings"] == ["empty file, nothing to index"]
    path.write_text("Notes on the Forum of Rome and its temples.", encoding="utf-8")
    assert _documents(client)["notes.txt"]["warnings"] == []  # readable now: waiting for a build
