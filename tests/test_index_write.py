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


def _read_only_volume(monkeypatch):
    """The index folder as on a volume mounted read-only: its build lock cannot be opened for
    writing (as root, permissions would not stop the tests' own writes)."""
    import filelock

    def refused(self, *args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system", str(self.lock_file))

    monkeypatch.setattr(filelock.FileLock, "acquire", refused)


def test_an_index_on_a_read_only_volume_is_served_when_it_fits(project, fake_embedder, monkeypatch, capsys):
    """An index built elsewhere (in CI) and mounted read-only could not be served: `qa serve`
    and `qa index` stopped at 'cannot take the build lock .../.lock (Read-only file system);
    fix or remove it' though nothing needed writing. It is used as it is when it fits; when it
    does not, the message says what a build needs and that the folder is read-only."""
    (project.seeds_dir / "a.txt").write_text("Office hours are on Tuesdays.", encoding="utf-8")
    built = ensure_index(project, fake_embedder)
    _read_only_volume(monkeypatch)
    report = ensure_index(project, fake_embedder)
    assert report.status == "up to date" and report.index.manifest.built_at == built.index.manifest.built_at
    (project.seeds_dir / "b.txt").write_text("Labs are on Fridays.", encoding="utf-8")
    with pytest.raises(IndexWriteError) as caught:
        ensure_index(project, fake_embedder)
    assert str(caught.value) == (
        f"the index folder {project.index_dir} is read-only and the index needs a build (new source "
        "seeds/b.txt); make the folder writable, or set QA_INDEX_DIR (--index-dir) to a writable one"
    )
