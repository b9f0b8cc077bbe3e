"""Collections on disk and their retrievers: names, folders, uploads, background rebuilds."""

from __future__ import annotations

import logging
import threading
import time

import pytest

from qa.errors import (
    CollectionExistsError,
    CollectionNameError,
    EmptyCollectionError,
    UnknownCollectionError,
    UploadError,
)
from qa.index.build import ensure_index
from qa.index.collections import (
    CollectionConfig,
    collection_names,
    collection_settings,
    create_collection,
    delete_collection,
    delete_document,
    get_collection,
    list_files,
    save_document,
)
from qa.retrieval.registry import Registry

CELLS = (
    "# Cells\n\nThe mitochondria is the powerhouse of the cell and makes energy from glucose. "
    "Ribosomes build proteins from amino acids following the messenger RNA. "
    "The nucleus keeps the chromosomes and controls the cell's growth and division.\n"
)
ROME = (
    "# Rome\n\nJulius Caesar crossed the Rubicon river with his legion and started a civil war. "
    "The senate of the republic met in the curia near the forum. "
    "Augustus became the first emperor after the battle of Actium.\n"
)
VOLCANO = (
    "# Volcanoes\n\nMagma rises through the crust and erupts as lava from the volcano's crater. "
    "Basalt forms when lava cools quickly at the surface of the earth.\n"
)


def sources(answer) -> set[str]:
    return {p.citation.source for p in answer.passages}


@pytest.fixture
def two(project, fake_embedder):
    """A default collection about Rome and a ``biology`` collection about cells, both indexed."""
    (project.seeds_dir / "rome.md").write_text(ROME, encoding="utf-8")
    create_collection(
        project, "biology", CollectionConfig(title="Biology 101", examples=("What is a ribosome?",))
    )
    save_document(project, "biology", "cells.md", CELLS.encode())
    for name in ("default", "biology"):
        ensure_index(collection_settings(project, name), fake_embedder)
    return project


@pytest.mark.parametrize("bad", ["../etc", "Bio", "a/b", "-x", "x-", "", "a" * 40, "é", 3])
def test_malformed_names_are_refused_with_a_message(project, bad):
    if bad == "":
        assert get_collection(project, bad).name == "default"
        return
    with pytest.raises(CollectionNameError, match="collection name"):
        get_collection(project, bad)


@pytest.mark.parametrize("reserved", ["onnx", "build-1", "tmp"])
def test_reserved_names_are_no_collection_and_cannot_be_created(project, reserved):
    with pytest.raises(UnknownCollectionError):
        get_collection(project, reserved)
    with pytest.raises(CollectionNameError, match="reserved"):
        create_collection(project, reserved)


def test_unknown_collection_names_the_known_ones(two):
    # the names go to the operator's command line (qa.cli), not into the message an API returns
    with pytest.raises(UnknownCollectionError, match="no collection 'chemistry'") as raised:
        get_collection(two, "chemistry")
    assert raised.value.names == ("default", "biology") and "biology" not in str(raised.value)


def test_collections_live_beside_the_default_and_are_not_part_of_it(two, fake_embedder):
    assert collection_names(two) == ["default", "biology"]
    bio = get_collection(two, "biology")
    assert bio.seeds_dir == two.seeds_dir / "biology" and bio.index_dir == two.index_dir / "biology"
    assert bio.title == "Biology 101" and bio.config.examples == ("What is a ribosome?",)
    default = ensure_index(collection_settings(two, "default"), fake_embedder).index
    assert [d.source for d in default.documents] == ["seeds/rome.md"]
    assert [f.source for f in list_files(two, "default")] == ["seeds/rome.md"]
    assert [f.name for f in list_files(two, "biology")] == ["cells.md"]


def test_each_collection_answers_only_from_its_own_documents(two, fake_embedder):
    registry = Registry(two, fake_embedder)
    bio = registry.get("biology").ask("what do ribosomes build from amino acids")
    rome = registry.get(None).ask("who crossed the rubicon river")
    assert sources(bio) == {"seeds/biology/cells.md"}
    assert sources(rome) == {"seeds/rome.md"}
    with pytest.raises(UnknownCollectionError):
        registry.get("chemistry")
    with pytest.raises(CollectionNameError):
        registry.get("../seeds")


def test_a_name_typed_as_a_title_is_refused_with_a_name_to_use(project):
    """'Biology 101' or 'Chimie générale' typed as a course's name were refused with the rule
    only (1–32 lowercase letters ...); the message gives a name made from them to use."""
    from qa.index.collections import NAME_RULE

    for typed, suggested in [
        ("Biology 101", "biology-101"),
        ("Chimie générale", "chimie-generale"),
        ("Physique / Chimie", "physique-chimie"),
    ]:
        with pytest.raises(CollectionNameError) as refused:
            create_collection(project, typed)
        assert str(refused.value) == (
            f"{typed!r} is not a collection name: use {NAME_RULE}; for example {suggested!r}, "
            f"with {typed!r} as its title"
        )
    for typed in ("???", "tmp files", "Default"):  # nothing usable: the rule alone
        with pytest.raises(CollectionNameError) as refused:
            create_collection(project, typed)
        assert str(refused.value).endswith(NAME_RULE)
    assert collection_names(project) == ["default"]


def test_create_twice_and_delete(two):
    with pytest.raises(CollectionExistsError):
        create_collection(two, "biology")
    with pytest.raises(CollectionExistsError):
        create_collection(two, "default")
    delete_collection(two, "biology")
    assert collection_names(two) == ["default"]
    assert not (two.seeds_dir / "biology").exists() and not (two.index_dir / "biology").exists()
    with pytest.raises(CollectionNameError, match="cannot be deleted"):
        delete_collection(two, "default")


@pytest.mark.parametrize(
    ("filename", "data", "fragment"),
    [
        ("../evil.md", b"# x\n\nsome words here", "plain file name"),
        ("sub/evil.md", b"# x\n\nsome words here", "plain file name"),
        (".hidden.md", b"# x\n\nsome words here", "plain file name"),
        ("tool.exe", b"MZ\x00\x00", "not a readable type"),
        ("notes.txt.meta.json", b"{}", "not a readable type"),
        ("binary.txt", b"\x00\x01\x02garbage", "binary"),
        ("latin.txt", "caf\u00e9 cr\u00e8me".encode("latin-1"), "UTF-8"),
        ("empty.md", b"   \n", "empty"),
    ],
)
def test_bad_uploads_are_refused_and_change_nothing(two, filename, data, fragment):
    before = sorted(p.name for p in (two.seeds_dir / "biology").iterdir())
    with pytest.raises(UploadError, match=fragment):
        save_document(two, "biology", filename, data)
    assert sorted(p.name for p in (two.seeds_dir / "biology").iterdir()) == before
    assert not (two.seeds_dir / "evil.md").exists()


def test_ordinary_file_names_are_taken_and_a_refused_one_is_told_which_characters(two):
    """An upload named "Week 1's notes.md" was refused, with the list of what a name may hold
    and not what was wrong with it."""
    for filename in ("Week 1's notes [draft].md", "Q&A - week 2!.md", "Lab’s guide.md"):
        assert save_document(two, "biology", filename, CELLS.encode()).name == filename
        assert (two.seeds_dir / "biology" / filename).is_file()
    with pytest.raises(UploadError, match=r"'a<b>#1\.md' holds '#', '<', '>': a document name is"):
        save_document(two, "biology", "a<b>#1.md", CELLS.encode())


def test_delete_document_then_rebuild_removes_its_passages(two, fake_embedder):
    save_document(two, "biology", "volcano.md", VOLCANO.encode())
    registry = Registry(two, fake_embedder)
    registry.rebuild("biology")
    assert registry.wait("biology").state == "done"
    assert "seeds/biology/volcano.md" in sources(
        registry.get("biology").ask("lava from the volcano crater", k=5)
    )
    delete_document(two, "biology", "volcano.md")
    registry.rebuild("biology")
    status = registry.wait("biology")
    assert status.state == "done" and status.documents == 1
    assert "seeds/biology/volcano.md" not in sources(registry.get("biology").ask("lava volcano crater", k=5))


def test_a_build_published_by_another_replica_is_answered_from(two, fake_embedder, caplog):
    """Two server processes on one index (QA_WORKERS, or replicas behind a balancer): an upload
    built by one was never seen by the other, which kept answering from the old index (and its
    admin listing showed the new document as pending) until it restarted."""
    from functools import partial

    from qa.web.live import LiveRetriever

    caplog.set_level(logging.INFO, logger="qa.web.live")
    follow = partial(LiveRetriever, every=0)
    other = Registry(two, fake_embedder, live=follow)
    assert "seeds/biology/volcano.md" not in sources(other.get("biology").ask("lava volcano crater", k=5))
    save_document(two, "biology", "volcano.md", VOLCANO.encode())
    builder = Registry(two, fake_embedder, live=follow)
    builder.rebuild("biology")
    assert builder.wait("biology").state == "done"
    deadline = time.monotonic() + 30
    # what the admin listing and a document page read, in a thread that asked before the build
    while "seeds/biology/volcano.md" not in {d.source for d in other.get("biology").index.documents}:
        assert time.monotonic() < deadline, "the other replica still lists the old index"
        time.sleep(0.05)
    assert "seeds/biology/volcano.md" in sources(other.get("biology").ask("lava volcano crater", k=5))
    assert other.status("biology").state == "ready"  # it built nothing itself
    # the server's log says which collection's index it now answers from
    swapped = [r.getMessage() for r in caplog.records if "now answering from" in r.getMessage()]
    # a normal swap, not something to look at: INFO, where warnings are left for failures
    assert {r.levelname for r in caplog.records if "now answering from" in r.getMessage()} == {"INFO"}
    assert swapped and all(str(two.index_dir / "biology" / "build-") in m for m in swapped), swapped


def test_deleting_every_document_unpublishes_the_index(two, fake_embedder):
    registry = Registry(two, fake_embedder)
    delete_document(two, "biology", "cells.md")
    registry.rebuild("biology")
    assert registry.wait("biology").state == "empty"
    with pytest.raises(EmptyCollectionError, match="no indexed documents"):
        registry.get("biology")
    with pytest.raises(EmptyCollectionError):
        Registry(two, fake_embedder).get("biology")  # a restarted server too


class GatedEmbedder:
    """The fake embedder, but a build batch containing ``gate_word`` waits for ``open``."""

    def __init__(self, inner, gate_word: str) -> None:
        self.inner, self.gate_word = inner, gate_word
        self.name, self.dimension = inner.name, inner.dimension
        self.entered, self.open = threading.Event(), threading.Event()

    def encode(self, texts):
        if len(texts) > 1 and any(self.gate_word in t.lower() for t in texts):  # a build, not a question
            self.entered.set()
            assert self.open.wait(30)
        return self.inner.encode(texts)


def test_a_question_during_a_rebuild_is_answered_from_the_old_index(two, fake_embedder):
    gated = GatedEmbedder(fake_embedder, "basalt")
    registry = Registry(two, gated)
    old = registry.get("biology")
    save_document(two, "biology", "volcano.md", VOLCANO.encode())
    registry.rebuild("biology")
    assert gated.entered.wait(30)
    during = registry.get("biology").ask("what forms when lava cools quickly? basalt")
    assert registry.status("biology").state == "indexing"
    assert registry.get("biology") is old
    assert sources(during) == {"seeds/biology/cells.md"}  # whole answer from the old index
    gated.open.set()
    assert registry.wait("biology").state == "done"
    after = registry.get("biology").ask("what forms when lava cools quickly? basalt")
    assert registry.get("biology") is not old and registry.status("biology").generation == 1
    assert "seeds/biology/volcano.md" in sources(after)


def test_two_uploads_during_a_build_are_both_indexed(two, fake_embedder):
    gated = GatedEmbedder(fake_embedder, "basalt")
    registry = Registry(two, gated)
    save_document(two, "biology", "volcano.md", VOLCANO.encode())
    registry.rebuild("biology")
    assert gated.entered.wait(30)
    rome_copy = ROME.replace("Rome", "Roman history")
    threads = [
        threading.Thread(
            target=lambda: (
                save_document(two, "biology", "a.md", rome_copy.encode()),
                registry.rebuild("biology"),
            )
        ),
        threading.Thread(
            target=lambda: (
                save_document(two, "biology", "b.md", CELLS.upper().encode()),
                registry.rebuild("biology"),
            )
        ),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert registry.status("biology").busy
    gated.open.set()
    status = registry.wait("biology")
    assert status.state == "done" and status.documents == 4
    indexed = {d.source for d in registry.get("biology").index.documents}
    assert {"seeds/biology/a.md", "seeds/biology/b.md", "seeds/biology/volcano.md"} <= indexed


class FailingEmbedder:
    """The fake embedder, but a build batch holding ``word`` fails (a question still embeds)."""

    def __init__(self, inner, word: str) -> None:
        self.inner, self.word = inner, word
        self.name, self.dimension = inner.name, inner.dimension

    def encode(self, texts):
        if len(texts) > 1 and any(self.word in t.lower() for t in texts):
            raise RuntimeError("the embedding service went away")
        return self.inner.encode(texts)


def test_forgetting_a_deleted_collection_drops_its_last_build(two, fake_embedder):
    """A course made again under a deleted one's name starts clean, not with its failed build."""
    registry = Registry(two, FailingEmbedder(fake_embedder, "basalt"))
    create_collection(two, "geology", CollectionConfig(title="Rocks"))
    save_document(two, "geology", "v.md", VOLCANO.encode())
    registry.rebuild("geology")
    assert registry.wait("geology").state == "failed"
    delete_collection(two, "geology")
    registry.forget("geology")
    create_collection(two, "geology", CollectionConfig(title="Rocks"))
    assert registry.status("geology") == Registry(two, fake_embedder).status("geology")  # as never built
    assert registry.status("geology").message == ""


def test_a_build_running_when_its_collection_is_forgotten_leaves_no_status(two, fake_embedder):
    gated = GatedEmbedder(fake_embedder, "basalt")
    registry = Registry(two, gated)
    create_collection(two, "geology", CollectionConfig(title="Rocks"))
    save_document(two, "geology", "v.md", VOLCANO.encode())
    registry.rebuild("geology")
    assert gated.entered.wait(30)
    registry.forget("geology")
    assert registry.status("geology").state == "indexing"  # still running: its status stays till it ends
    threading.Timer(0.3, gated.open.set).start()  # the build sees the stop request once let go
    delete_collection(two, "geology")
    create_collection(two, "geology", CollectionConfig(title="Rocks"))
    assert registry.wait("geology").state == "ready" and registry.status("geology").message == ""
    save_document(two, "geology", "v.md", VOLCANO.encode())  # the new course builds as any other
    registry.rebuild("geology")
    assert registry.wait("geology").state == "done"


def test_a_course_deleted_by_another_replica_and_made_again_starts_clean_here(two, fake_embedder):
    """The admin status on a replica whose registry built the deleted course (its forget ran
    on the other replica): not the old course's failed build."""
    from qa.web.build_state import build_state

    here = Registry(two, FailingEmbedder(fake_embedder, "basalt"))
    create_collection(two, "geology", CollectionConfig(title="Rocks"))
    save_document(two, "geology", "v.md", VOLCANO.encode())
    here.rebuild("geology")
    assert here.wait("geology").state == "failed"
    delete_collection(two, "geology")
    Registry(two, fake_embedder).forget("geology")  # the replica the delete was asked of
    create_collection(two, "geology", CollectionConfig(title="Rocks"))
    status = build_state(two, here, "geology")
    assert status.state == "empty" and status.message == "no indexed documents yet"
