"""Real-model indexes for the tests, built once per test session for each corpus and each
setting that changes the index (the ``index_builds`` fixture of ``tests/conftest.py``), and the
model's ONNX export, made once per session and linked into the index folders that need one.

Several modules ask questions of the same manuals; each used to build its own index of them
(about a minute each on two cores). Here the first module to ask builds it and the others read
the same build. A corpus that shares documents with one built before starts from a copy of that
build's folder, so :func:`~qa.index.build.ensure_index` embeds only the documents that are new
to it and reuses the others' vectors, as an update of a live index does. A module that changes
its project (a server writing feedback, an upload) takes :meth:`IndexBuilds.copy`, a root of
its own with the build in it, never the shared one.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qa.config import Settings

if TYPE_CHECKING:
    from qa.index.model import Index

__all__ = ["Built", "IndexBuilds", "set_session_base", "share_onnx_export"]

_SESSION_BASE: list[Path] = []
"""The test session's temp folder (set by conftest; this module is imported as ``tests.index_builds``
only, so every test module sees the same value)."""


def set_session_base(base: Path) -> None:
    _SESSION_BASE[:] = [base]


def share_onnx_export(index_dir: Path, model: str) -> None:
    """Put the session's one ONNX export of ``model`` in ``index_dir`` (hard links), unless it
    has one: a server or ONNX embedder on a fresh folder would export the model first (about 11 s
    each) where the test is not about exporting (tests/test_embedding.py tests the export)."""
    from qa.embedders.onnx import export_onnx, onnx_folder, read_onnx_meta

    target = onnx_folder(index_dir, model)
    if target.exists():
        return
    source = onnx_folder(_SESSION_BASE[0] / "onnx-export", model)
    if read_onnx_meta(source, model) is None:
        export_onnx(model, source)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(source, target, copy_function=os.link)


@dataclass(frozen=True)
class Built:
    """One shared build: its settings (root, seeds/, embeddings/) and the index it loaded."""

    settings: Settings
    index: Index


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class IndexBuilds:
    """Builds under ``base`` with ``embedder``, kept for the session, keyed by the documents'
    names and contents and by the settings given."""

    def __init__(self, base: Path, embedder: Any) -> None:
        self._base = base
        self._embedder = embedder
        self._built: dict[tuple, Built] = {}

    def build(self, files: Iterable[Path], **changes: Any) -> Built:
        """The index of a project whose ``seeds/`` holds ``files`` (under their own names), built
        with ``Settings(**changes)``: shared by every test that asks for the same, so read it only."""
        files = tuple(files)
        documents = frozenset((f.name, _sha256(f)) for f in files)
        key = (documents, tuple(sorted(changes.items())))
        if key not in self._built:
            self._built[key] = self._make(files, documents, changes)
        return self._built[key]

    def copy(self, files: Iterable[Path], root: Path, **changes: Any) -> Settings:
        """Settings over ``root``, a project of its own holding the shared build of ``files`` (for
        a test that writes in its project)."""
        built = self.build(files, **changes)
        shutil.copytree(built.settings.root, root, dirs_exist_ok=True)
        return Settings(root=root, **changes)

    def _make(self, files: tuple[Path, ...], documents: frozenset, changes: Mapping[str, Any]) -> Built:
        from qa.index.build import ensure_index

        root = self._base / f"corpus-{len(self._built)}"
        (root / "seeds").mkdir(parents=True)
        for f in files:
            shutil.copyfile(f, root / "seeds" / f.name)
        settings = Settings(root=root, **changes)
        donor = self._donor(documents, changes)
        if donor is not None:  # its unchanged documents' vectors are reused, the others embedded
            shutil.copytree(donor.index_dir, settings.index_dir, ignore=shutil.ignore_patterns("onnx"))
        return Built(settings, ensure_index(settings, self._embedder).index)

    def _donor(self, documents: frozenset, changes: Mapping[str, Any]) -> Settings | None:
        """The earlier build with the same settings sharing the most documents with ``documents``."""
        same = tuple(sorted(changes.items()))
        shared = [
            (len(documents & key[0]), built.settings)
            for key, built in self._built.items()
            if key[1] == same and documents & key[0]
        ]
        return max(shared, key=lambda pair: pair[0])[1] if shared else None
