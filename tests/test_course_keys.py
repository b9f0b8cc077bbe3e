"""The course-key store: keys are kept only as digests, open their own course only, and follow
the course (revoked at once, gone with a deleted course, kept through a rename), in every
process sharing the folders."""

from __future__ import annotations

import hashlib
import json
import threading

import pytest

from qa.errors import CourseKeyError, UnknownCollectionError, UnknownKeyError
from qa.index.collections import (
    CollectionConfig,
    create_collection,
    delete_collection,
    get_collection,
    update_config,
)
from qa.index.course_keys import (
    KEYS_FILE,
    MAX_LABEL_CHARS,
    CourseKeyRing,
    last_used,
    list_keys,
    make_key,
    revoke_key,
)


@pytest.fixture
def courses(project):
    create_collection(project, "biology", CollectionConfig(title="Biology 101"))
    create_collection(project, "chemistry")
    return project


def test_a_key_is_stored_only_as_its_digest_and_shown_with_a_short_prefix(courses):
    key, stored = make_key(courses, "biology", "  Moodle   prod ")
    assert key.startswith(stored.prefix + "_") and stored.prefix == f"qack_biology_{stored.id}"
    assert len(key) - len(stored.prefix) > 40  # 256 random bits after the prefix
    assert stored.label == "Moodle prod" and stored.created.endswith("+00:00")
    text = (courses.seeds_dir / "biology" / KEYS_FILE).read_text(encoding="utf-8")
    assert key not in text and key.rsplit("_", 1)[1] not in text
    assert json.loads(text)["keys"][0]["sha256"] == hashlib.sha256(key.encode()).hexdigest()
    assert list_keys(courses, "biology") == [stored]
    assert list_keys(courses, "chemistry") == []
    other, _ = make_key(courses, "biology", "Canvas")
    assert other != key and len(list_keys(courses, "biology")) == 2


def test_a_key_opens_its_own_course_and_nothing_else(courses):
    ring = CourseKeyRing(courses)
    bio, _ = make_key(courses, "biology", "Moodle")
    default, _ = make_key(courses, "default", "Intranet")
    assert ring.course_of(bio.encode()) == "biology"
    assert ring.course_of(default.encode()) == "default"
    # the same id and secret claimed for another course, a changed secret, junk: nothing
    assert ring.course_of(bio.replace("_biology_", "_chemistry_").encode()) is None
    assert ring.course_of((bio[:-1] + ("A" if bio[-1] != "A" else "B")).encode()) is None
    for junk in (b"", b"qack_", b"not-a-key", b"qack_biology_abcdefgh_" + b"x" * 43, "qack_ü".encode()):
        assert ring.course_of(junk) is None


def test_a_revoked_key_opens_nothing_at_once_here_and_in_another_process(courses):
    here, there = CourseKeyRing(courses), CourseKeyRing(courses)  # two replicas on one folder
    key, stored = make_key(courses, "biology", "Moodle")
    kept, _ = make_key(courses, "biology", "Canvas")
    assert here.course_of(key.encode()) == there.course_of(key.encode()) == "biology"
    revoke_key(courses, "biology", stored.id)
    assert here.course_of(key.encode()) is None and there.course_of(key.encode()) is None
    assert there.course_of(kept.encode()) == "biology"
    with pytest.raises(UnknownKeyError):
        revoke_key(courses, "biology", stored.id)


def test_a_key_made_by_another_process_counts_at_the_next_request(courses):
    ring = CourseKeyRing(courses)
    first, _ = make_key(courses, "biology", "one")
    assert ring.course_of(first.encode()) == "biology"  # the file is now cached
    second, _ = make_key(courses, "biology", "two")  # as another replica would
    assert ring.course_of(second.encode()) == "biology"


def test_deleting_a_course_removes_its_keys_and_a_new_course_of_the_name_has_none(courses):
    ring = CourseKeyRing(courses)
    key, _ = make_key(courses, "biology", "Moodle")
    assert ring.course_of(key.encode()) == "biology"
    delete_collection(courses, "biology")
    assert ring.course_of(key.encode()) is None
    with pytest.raises(UnknownCollectionError):
        make_key(courses, "biology", "Moodle")
    create_collection(courses, "biology")
    assert list_keys(courses, "biology") == []
    assert ring.course_of(key.encode()) is None
    assert not (courses.seeds_dir / "biology" / KEYS_FILE).exists()


def test_renaming_a_course_keeps_its_keys(courses):
    ring = CourseKeyRing(courses)
    key, stored = make_key(courses, "biology", "Moodle")
    update_config(courses, "biology", CollectionConfig(title="Cell Biology"))
    assert get_collection(courses, "biology").title == "Cell Biology"
    assert list_keys(courses, "biology") == [stored]
    assert ring.course_of(key.encode()) == "biology"


@pytest.mark.parametrize("label", ["", "   ", "x" * (MAX_LABEL_CHARS + 1), "tab\x00"])
def test_a_key_needs_a_short_printable_label(courses, label):
    with pytest.raises(CourseKeyError, match="label"):
        make_key(courses, "biology", label)
    assert list_keys(courses, "biology") == []


def test_keys_of_an_unknown_course_are_refused(courses):
    for call in (lambda: make_key(courses, "physics", "x"), lambda: list_keys(courses, "physics")):
        with pytest.raises(UnknownCollectionError):
            call()


def test_last_use_is_noted_once_a_minute_without_rewriting_the_keys_file(courses):
    clock = [1000.0]
    ring = CourseKeyRing(courses, clock=lambda: clock[0])
    key, stored = make_key(courses, "biology", "Moodle")
    keys_file = courses.seeds_dir / "biology" / KEYS_FILE
    before = keys_file.stat().st_mtime_ns
    assert last_used(courses, stored) == ""
    assert ring.course_of(key.encode()) == "biology"
    used = last_used(courses, stored)
    assert used.endswith("+00:00")
    assert keys_file.stat().st_mtime_ns == before
    revoke_key(courses, "biology", stored.id)
    assert last_used(courses, stored) == ""


def test_keys_made_at_once_are_all_kept(courses):
    made: list[str] = []

    def make(n: int) -> None:
        made.append(make_key(courses, "biology", f"portal {n}")[0])

    threads = [threading.Thread(target=make, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(list_keys(courses, "biology")) == 8
    ring = CourseKeyRing(courses)
    assert all(ring.course_of(k.encode()) == "biology" for k in made)


def test_a_damaged_keys_file_opens_nothing_and_is_said_in_the_log(courses, caplog):
    key, _ = make_key(courses, "biology", "Moodle")
    (courses.seeds_dir / "biology" / KEYS_FILE).write_text("{not json", encoding="utf-8")
    assert CourseKeyRing(courses).course_of(key.encode()) is None
    assert list_keys(courses, "biology") == []
    assert "is not a keys file the server wrote" in caplog.text
