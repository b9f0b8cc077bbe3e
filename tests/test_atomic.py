"""qa.atomic: the one atomic file replacement (index pointer, collection settings, uploads,
evaluation outputs)."""

import pytest

from qa.atomic import atomic_write


def test_a_missing_folder_is_made_or_refused_as_asked(tmp_path):
    atomic_write(tmp_path / "a" / "b.txt", "x")
    assert (tmp_path / "a" / "b.txt").read_text(encoding="utf-8") == "x"
    with pytest.raises(FileNotFoundError):
        atomic_write(tmp_path / "missing" / "c.txt", b"y", make_folder=False)
    assert not (tmp_path / "missing").exists()


def test_text_is_written_as_utf8_and_no_temporary_file_stays(tmp_path):
    target = tmp_path / "t.json"
    atomic_write(target, "é\n")
    atomic_write(target, "ü\n")
    assert target.read_bytes() == "ü\n".encode() and [p.name for p in tmp_path.iterdir()] == ["t.json"]
