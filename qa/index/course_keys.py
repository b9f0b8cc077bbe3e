"""Course keys: API keys that open one collection (course) only.

An operator hosting many courses on one server gives each portal a key for its own course,
instead of the server key (``QA_API_KEY``), which opens every course. A key is
``qack_<course>_<id>_<secret>``: the course it opens, an id that tells the keys apart (the
non-secret prefix, ``qack_<course>_<id>``, is what the admin page lists) and 256 random bits.
The whole key is shown once, when it is made; the store keeps only its SHA-256 (a fast hash
suffices for a random key of this length: nothing short to guess), compared in constant time.

The keys of a collection are in ``course-keys.json`` beside its ``collection.json``, written
atomically under a file lock, so server processes sharing the folders (replicas,
``QA_WORKERS``) see a key made or revoked on one of them at their next request (a course's
keys file is read again whenever its ``stat`` changes). Deleting a collection deletes its folder and so
its keys; a collection made again under the name starts without any. Renaming (the title) keeps
them. When a key was last used is the time of a file touched in the collection's index folder
(``.key-used-<id>``), at most once a minute per key and process, so using a key never rewrites
the keys file.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import logging
import os
import re
import secrets
import string
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from qa.atomic import atomic_write
from qa.config import Settings
from qa.errors import CourseKeyError, QAError, UnknownCollectionError, UnknownKeyError
from qa.index.collections import COLLECTION_FILE, DEFAULT, check_name, get_collection

log = logging.getLogger(__name__)

__all__ = [
    "KEYS_FILE",
    "MAX_KEYS",
    "MAX_LABEL_CHARS",
    "CourseKey",
    "CourseKeyRing",
    "last_used",
    "list_keys",
    "make_key",
    "revoke_key",
]

KEYS_FILE = "course-keys.json"
MAX_KEYS = 50
"""Keys a course may have at once."""
MAX_LABEL_CHARS = 80
_LOCK = ".course-keys.lock"
_USED = ".key-used-"
_SCHEME = "qack"
_ID_CHARS = "abcdefghijklmnopqrstuvwxyz234567"
_SECRET_CHARS = string.ascii_letters + string.digits
_KEY = re.compile(r"qack_([a-z0-9-]{1,32})_([a-z2-7]{8})_([A-Za-z0-9]{43})")
_USE_EVERY = 60.0
"""Seconds between two notes of a key's use by one process."""


@dataclass(frozen=True)
class CourseKey:
    """One key of a course as stored: never the key itself, only its digest."""

    course: str
    id: str
    label: str
    created: str
    """When it was made (ISO 8601, UTC)."""
    sha256: str
    """SHA-256 of the whole key (hex)."""

    @property
    def binding(self) -> str:
        """``COURSE.ID``: what a signed link given to this key names it by (not secret)."""
        return f"{self.course}.{self.id}"

    @property
    def prefix(self) -> str:
        """The key's start, not secret: what tells it apart from the course's other keys."""
        return f"{_SCHEME}_{self.course}_{self.id}"


def _digest(key: bytes) -> str:
    return hashlib.sha256(key).hexdigest()


def _folders(settings: Settings, course: str) -> tuple[Path, Path]:
    """The folders of ``course`` (seeds, index) without reading its settings."""
    if course == DEFAULT:
        return settings.seeds_dir, settings.index_dir
    return settings.seeds_dir / course, settings.index_dir / course


def _read(path: Path, course: str) -> tuple[CourseKey, ...]:
    """The keys in ``path`` (none for a missing or unreadable file: no key opens anything then)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return ()
    try:
        rows = json.loads(text)["keys"]
        return tuple(
            CourseKey(course, str(r["id"]), str(r["label"]), str(r["created"]), str(r["sha256"]))
            for r in rows
        )
    except (ValueError, KeyError, TypeError):
        log.warning("%s is not a keys file the server wrote; none of its keys opens anything", path)
        return ()


def _write(path: Path, keys: tuple[CourseKey, ...]) -> None:
    rows = [{"id": k.id, "label": k.label, "created": k.created, "sha256": k.sha256} for k in keys]
    text = json.dumps({"version": 1, "keys": rows}, ensure_ascii=False, indent=2) + "\n"
    try:
        atomic_write(path, text, make_folder=False)  # never makes a deleted course's folder again
    except FileNotFoundError:
        raise UnknownCollectionError(f"there is no collection {path.parent.name!r}") from None


@contextlib.contextmanager
def _locked(settings: Settings, course: str):
    """The course's keys, read and changed by one process at a time."""
    from filelock import FileLock

    _, index_dir = _folders(settings, course)
    index_dir.mkdir(parents=True, exist_ok=True)
    with FileLock(index_dir / _LOCK, timeout=10):
        yield


def _secret() -> str:
    """43 letters and digits: 256 random bits, and one word to a double click."""
    return "".join(secrets.choice(_SECRET_CHARS) for _ in range(43))


def _new_id() -> str:
    return "".join(secrets.choice(_ID_CHARS) for _ in range(8))


def _label(label: object) -> str:
    text = " ".join(str(label or "").split())
    if not text or len(text) > MAX_LABEL_CHARS or not text.isprintable():
        raise CourseKeyError(
            f"a key's label is 1–{MAX_LABEL_CHARS} printable characters saying where it is used, "
            "e.g. 'Moodle prod'"
        )
    return text


def list_keys(settings: Settings, name: object) -> list[CourseKey]:
    """The keys of collection ``name``, oldest first; UnknownCollectionError for no such collection."""
    collection = get_collection(settings, name)
    return list(_read(collection.seeds_dir / KEYS_FILE, collection.name))


def make_key(
    settings: Settings, name: object, label: object, *, now: datetime | None = None
) -> tuple[str, CourseKey]:
    """A new key for collection ``name``: the key itself (to show once) and what is stored."""
    collection = get_collection(settings, name)
    label = _label(label)
    path = collection.seeds_dir / KEYS_FILE
    with _locked(settings, collection.name):
        keys = _read(path, collection.name)
        if len(keys) >= MAX_KEYS:
            raise CourseKeyError(f"a course has at most {MAX_KEYS} keys; revoke one it no longer needs")
        taken = {k.id for k in keys}
        key_id = _new_id()
        while key_id in taken:
            key_id = _new_id()
        key = f"{_SCHEME}_{collection.name}_{key_id}_{_secret()}"
        created = (now or datetime.now(UTC)).replace(microsecond=0).isoformat()
        stored = CourseKey(collection.name, key_id, label, created, _digest(key.encode("ascii")))
        _write(path, (*keys, stored))
    return key, stored


def revoke_key(settings: Settings, name: object, key_id: str) -> CourseKey:
    """Remove key ``key_id`` of collection ``name`` (it opens nothing from the next request on,
    in every process); UnknownKeyError if the collection has no such key."""
    collection = get_collection(settings, name)
    path = collection.seeds_dir / KEYS_FILE
    with _locked(settings, collection.name):
        keys = _read(path, collection.name)
        gone = next((k for k in keys if k.id == key_id), None)
        if gone is None:
            raise UnknownKeyError("this course has no such key (revoked already?)")
        _write(path, tuple(k for k in keys if k.id != key_id))
    with contextlib.suppress(OSError):
        (collection.index_dir / f"{_USED}{key_id}").unlink()
    return gone


def last_used(settings: Settings, key: CourseKey) -> str:
    """When ``key`` was last used (ISO 8601 UTC, to the minute it is noted at), '' if never."""
    _, index_dir = _folders(settings, key.course)
    try:
        when = (index_dir / f"{_USED}{key.id}").stat().st_mtime
    except OSError:
        return ""
    return datetime.fromtimestamp(when, UTC).replace(microsecond=0).isoformat()


class CourseKeyRing:
    """Which course a presented key opens, for the guard; thread-safe.

    Each course's keys file is read again when its ``stat`` (inode, time, size) changes, so a key
    made or revoked by another process counts from the next request; a file that is gone (the
    course deleted) opens nothing."""

    def __init__(self, settings: Settings, *, clock=time.monotonic) -> None:
        self.settings = settings
        self.clock = clock
        self._lock = threading.Lock()
        self._files: dict[str, tuple[tuple[int, int, int], tuple[CourseKey, ...]]] = {}
        self._noted: dict[str, float] = {}

    def course_of(self, token: bytes) -> str | None:
        """The course ``token`` is a key of, or None (not a course key, unknown or revoked)."""
        found = self.find(token)
        return found.course if found is not None else None

    def find(self, token: bytes) -> CourseKey | None:
        """The stored key ``token`` is, or None (not a course key, unknown or revoked)."""
        match = _KEY.fullmatch(token.decode("ascii", "replace"))
        if match is None:
            return None
        found = self._stored(match.group(1), match.group(2))
        if found is None or not hmac.compare_digest(_digest(token).encode(), found.sha256.encode()):
            return None
        self._note_use(found)
        return found

    def alive(self, binding: str) -> bool:
        """Whether the key a signed link is bound to (``COURSE.ID``, :attr:`CourseKey.binding`)
        is still there (not revoked, its course not deleted)."""
        course, _, key_id = binding.partition(".")
        return self._stored(course, key_id) is not None

    def _stored(self, course: str, key_id: str) -> CourseKey | None:
        try:
            course = check_name(course)
        except QAError:
            return None
        return next((k for k in self._keys(course) if k.id == key_id), None)

    def _keys(self, course: str) -> tuple[CourseKey, ...]:
        seeds_dir, _ = _folders(self.settings, course)
        path = seeds_dir / KEYS_FILE
        try:
            st = path.stat()
        except OSError:
            return ()
        if course != DEFAULT and not (seeds_dir / COLLECTION_FILE).is_file():
            return ()  # a folder that is not (or no longer) a collection
        stamp = (st.st_ino, st.st_mtime_ns, st.st_size)
        with self._lock:
            cached = self._files.get(course)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        keys = _read(path, course)
        with self._lock:
            self._files[course] = (stamp, keys)
        return keys

    def _note_use(self, key: CourseKey) -> None:
        now = self.clock()
        with self._lock:
            if now - self._noted.get(key.id, -1e9) < _USE_EVERY:
                return
            self._noted[key.id] = now
        _, index_dir = _folders(self.settings, key.course)
        with contextlib.suppress(OSError):  # a read-only index folder: the time is not kept
            fd = os.open(index_dir / f"{_USED}{key.id}", os.O_WRONLY | os.O_CREAT, 0o644)
            os.close(fd)
            os.utime(index_dir / f"{_USED}{key.id}")
