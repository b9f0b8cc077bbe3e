"""An index folder that cannot be written (not a folder, read-only, a full disk) is a one-line
error naming the folder and what to do, from the library and from ``qa index``, not a traceback."""

from __future__ import annotations

import dataclasses
import errno

import pytest

from qa.cli import main
from qa.errors import IndexWriteError
from qa.index import build
from qa.index.build import ensure_index


def test_an_index_folder_under_a_file_is_named_with_what_to_do(project, fake_embedder):
    (project.seeds_dir / "a.txt").write_text("Office hours are on Tuesdays.", encoding="utf-8")
    (project.root / "blocker").write_text("a file, not a folder", encoding="utf-8")
    settings = dataclasses.replace(project, index_dir=project.root / "blocker" / "index")
    with pytest.raises(IndexWriteError, match=r"in .*blocker/index: Not a directory; "):
        ensure_index(settings, fake_embedder)


def test_a_full_disk_while_saving_names_the_file_and_the_setting(project, fake_embedder, monkeypatch):
    (project.seeds_dir / "a.txt").write_text("Office hours are on Tuesdays.", encoding="utf-8")

    def full(index, index_dir, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(index_dir / "vectors.npy"))

    monkeypatch.setattr(build, "save_index", full)
    with pytest.raises(IndexWriteError) as caught:
        ensure_index(project, fake_embedder)
    message = str(caught.value)
    assert "No space left on device" in message and "vectors.npy" in message
    assert "QA_INDEX_DIR" in message


def test_qa_index_says_it_in_one_line(tmp_path, capsys, monkeypatch):
    (tmp_path / "seeds").mkdir()
    (tmp_path / "seeds" / "a.txt").write_text("Office hours are on Tuesdays.", encoding="utf-8")
    (tmp_path / "blocker").write_text("", encoding="utf-8")
    monkeypatch.setenv("QA_INDEX_DIR", str(tmp_path / "blocker" / "index"))
    assert main(["index", "--root", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("qa: error: cannot write the index in ") and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
