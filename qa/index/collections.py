"""Collections: named sets of documents, each with its own index, on one server.

The default collection is the seeds folder itself with its index in the index folder, as
before. Any other collection ``NAME`` keeps its documents in ``SEEDS/NAME/`` and its index in
``INDEX/NAME/``; the folder holds a ``collection.json`` settings file (title shown, example
questions, origins allowed to embed it), which is also what marks it as a collection, so the
default collection never indexes another collection's documents.

Names are short slugs checked here, never paths. Uploaded files are checked by reading them
the way the index will before they are moved into place atomically, so a bad file is refused
with the reader's message and the collection's documents stay as they were.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import shutil
import tempfile
import unicodedata
from dataclasses import asdict, dataclass, field
from pathlib import Path

from qa.atomic import atomic_write
from qa.config import Settings
from qa.errors import (
    CollectionExistsError,
    CollectionNameError,
    QAError,
    UnknownCollectionError,
    UnknownSourceError,
    UploadError,
)
from qa.index.lock import build_lock, build_running
from qa.index.stopping import request_stop
from qa.ingest.sources import COLLECTION_FILE, META_SUFFIX, SOURCE_SUFFIXES, scan_sources

log = logging.getLogger(__name__)
"""What changed (collections made or deleted, documents stored or removed): ``qa serve`` logs it."""

__all__ = [
    "COLLECTION_FILE",
    "DEFAULT",
    "DEFAULT_TITLE",
    "MAX_UPLOAD_BYTES",
    "NAME_PATTERN",
    "NAME_RULE",
    "Collection",
    "CollectionConfig",
    "StoredFile",
    "check_name",
    "collection_names",
    "collection_origins",
    "collection_settings",
    "create_collection",
    "delete_collection",
    "delete_document",
    "get_collection",
    "list_files",
    "own_origins",
    "save_document",
    "set_document_title",
    "update_config",
]

DEFAULT = "default"
"""The name of the collection in the seeds folder itself."""
DEFAULT_TITLE = "Course documents"
"""The default collection's title when its settings give none: on the chat page (its heading
and tab), the sign-in page, ``/embed``, the course picker and the admin page alike."""
MAX_UPLOAD_BYTES = 50 * 2**20
NAME_PATTERN = r"^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$"
NAME_RULE = "1–32 lowercase letters, digits and inner hyphens (e.g. history-101)"
"""What a collection (course) name may hold, in words: :data:`NAME_PATTERN` for people."""
_NAME = re.compile(NAME_PATTERN)
_RESERVED = ("onnx", "build", "tmp")
"""Name prefixes used by the index folder for other things (the ONNX model, build folders)."""
_FILE_CHARS = r"\w .()+,'’&!\[\]-"
_FILE_NAME = re.compile(rf"^[^\W_][{_FILE_CHARS}]{{0,150}}$")
"""A plain file name: it starts with a letter or digit of any script ("Übung 1.pdf", "課程.md"),
then letters, digits, spaces and ._()+,'’&![]- ("Week 1's notes [draft].pdf"); no control,
format or path characters."""
MAX_EXAMPLES = 10
MAX_TITLE_CHARS = 120


@dataclass(frozen=True)
class CollectionConfig:
    """What ``collection.json`` holds."""

    title: str = ""
    examples: tuple[str, ...] = ()
    """Example questions shown on the collection's chat page."""
    allowed_origins: tuple[str, ...] = ()
    """Portals (``https://host``) allowed to call the API for this collection, besides the server's."""

    def __post_init__(self) -> None:
        if not isinstance(self.title, str) or len(self.title) > MAX_TITLE_CHARS:
            raise CollectionNameError(f"a collection title is text of at most {MAX_TITLE_CHARS} characters")
        examples = tuple(str(e).strip() for e in self.examples if str(e).strip())
        if len(examples) > MAX_EXAMPLES or any(len(e) > 300 for e in examples):
            raise CollectionNameError(f"at most {MAX_EXAMPLES} example questions of 300 characters each")
        origins = tuple(str(o).strip().rstrip("/") for o in self.allowed_origins if str(o).strip())
        bad = [o for o in origins if not re.match(r"^https?://[A-Za-z0-9.-]+(:\d+)?$", o)]
        if bad:
            raise CollectionNameError(f"allowed origins look like https://host[:port], not {bad[0]!r}")
        object.__setattr__(self, "examples", examples)
        object.__setattr__(self, "allowed_origins", origins)

    @classmethod
    def from_dict(cls, data: object) -> CollectionConfig:
        if not isinstance(data, dict):
            raise CollectionNameError(f"{COLLECTION_FILE} must hold a JSON object")
        return cls(
            title=str(data.get("title") or ""),
            examples=tuple(data.get("examples") or ()),
            allowed_origins=tuple(data.get("allowed_origins") or ()),
        )


@dataclass(frozen=True)
class Collection:
    """One collection: its name, folders and settings file."""

    name: str
    seeds_dir: Path
    index_dir: Path
    config: CollectionConfig = field(default_factory=CollectionConfig)

    @property
    def title(self) -> str:
        """What learners and authors see it called: its settings' title, else its name (the
        default collection: :data:`DEFAULT_TITLE`)."""
        return self.config.title or (DEFAULT_TITLE if self.name == DEFAULT else self.name)


@dataclass(frozen=True)
class StoredFile:
    """A document file of a collection as it is on disk."""

    name: str
    """Path inside the collection's folder, with forward slashes."""
    source: str
    """How citations name it (relative to the project root)."""
    bytes: int
    format: str


def suggest_name(typed: str) -> str:
    """A collection name made from ``typed`` (a title, "Chimie générale 2" -> "chimie-generale-2"),
    or '' when nothing of it can be one."""
    plain = unicodedata.normalize("NFKD", typed).encode("ascii", "ignore").decode("ascii").lower()
    name = re.sub(r"[^a-z0-9]+", "-", plain).strip("-")[:32].strip("-")
    return name if _NAME.match(name) and name != DEFAULT and not name.startswith(_RESERVED) else ""


def check_name(name: object) -> str:
    """``name`` if it is a valid collection name (``None`` or empty means the default)."""
    if name is None or name == "":
        return DEFAULT
    if not isinstance(name, str) or not _NAME.match(name):
        shown = name if isinstance(name, str) else type(name).__name__
        raise CollectionNameError(f"{str(shown)[:60]!r} is not a collection name: use {NAME_RULE}")
    return name


def _folders(settings: Settings, name: str) -> tuple[Path, Path]:
    if name == DEFAULT:
        return settings.seeds_dir, settings.index_dir
    return settings.seeds_dir / name, settings.index_dir / name


def _read_config(seeds_dir: Path) -> CollectionConfig:
    path = seeds_dir / COLLECTION_FILE
    if not path.exists():
        return CollectionConfig()
    try:
        return CollectionConfig.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CollectionNameError(f"{path.name} in {seeds_dir.name}/ is not valid JSON ({exc})") from None


def get_collection(settings: Settings, name: object) -> Collection:
    """The collection called ``name``; UnknownCollectionError if there is none."""
    name = check_name(name)
    seeds_dir, index_dir = _folders(settings, name)
    reserved = name != DEFAULT and name.startswith(_RESERVED)
    if reserved or (name != DEFAULT and not (seeds_dir / COLLECTION_FILE).is_file()):
        raise UnknownCollectionError(
            f"there is no collection {name!r}", names=tuple(collection_names(settings))
        )
    return Collection(name, seeds_dir, index_dir, _read_config(seeds_dir))


def collection_names(settings: Settings) -> list[str]:
    """``default`` first, then every other collection by name."""
    names = [DEFAULT]
    if settings.seeds_dir.is_dir():
        for path in sorted(settings.seeds_dir.iterdir()):
            ok = _NAME.match(path.name) and not path.name.startswith(_RESERVED) and path.name != DEFAULT
            if ok and (path / COLLECTION_FILE).is_file():
                names.append(path.name)
    return names


def collection_origins(settings: Settings) -> frozenset[str]:
    """Every origin some collection's settings file allows (each only for that collection)."""
    return frozenset().union(*(own_origins(settings, name) for name in collection_names(settings)))


def own_origins(settings: Settings, name: object) -> frozenset[str]:
    """The origins collection ``name``'s settings file allows (none for an unknown name or a
    broken file): they may frame its ``/embed`` page and call the API for it."""
    try:
        return frozenset(get_collection(settings, name).config.allowed_origins)
    except QAError:
        return frozenset()


def collection_settings(settings: Settings, name: object) -> Settings:
    """``settings`` pointed at collection ``name``'s documents and index."""
    collection = get_collection(settings, name)
    return settings.replace(seeds_dir=collection.seeds_dir, index_dir=collection.index_dir)


def _write_config(seeds_dir: Path, config: CollectionConfig) -> None:
    data = {**asdict(config), "examples": list(config.examples)}
    data["allowed_origins"] = list(config.allowed_origins)
    atomic_write(seeds_dir / COLLECTION_FILE, (json.dumps(data, indent=2) + "\n").encode("utf-8"))


def create_collection(settings: Settings, name: object, config: CollectionConfig | None = None) -> Collection:
    """A new, empty collection; CollectionExistsError if the name is taken. A name typed as a
    title ("Biology 101", "Chimie générale") is refused with a name made from it to use."""
    try:
        name = check_name(name)
    except CollectionNameError as exc:
        suggested = suggest_name(name) if isinstance(name, str) else ""
        if not suggested:
            raise
        raise CollectionNameError(f"{exc}; for example {suggested!r}, with {name!r} as its title") from None
    seeds_dir, index_dir = _folders(settings, name)
    if name.startswith(_RESERVED) and name != DEFAULT:
        raise CollectionNameError(
            f"{name!r} is reserved (names starting {', '.join(_RESERVED)}); pick another"
        )
    if name == DEFAULT or seeds_dir.exists():
        raise CollectionExistsError(
            f"a collection or folder named {name!r} exists already; pick another name"
        )
    settings.seeds_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".new-{name}-", dir=settings.seeds_dir))
    _write_config(staging, config or CollectionConfig(title=name))
    try:
        os.rename(staging, seeds_dir)  # fails if the name was taken meanwhile
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)
        raise CollectionExistsError(
            f"a collection named {name!r} exists already; pick another name"
        ) from None
    if index_dir.exists():  # left over from an earlier collection of this name
        shutil.rmtree(index_dir, ignore_errors=True)
    log.info("collection %s created", name)
    return get_collection(settings, name)


def update_config(settings: Settings, name: object, config: CollectionConfig) -> Collection:
    """Replace a collection's settings file."""
    collection = get_collection(settings, name)
    collection.seeds_dir.mkdir(parents=True, exist_ok=True)
    _write_config(collection.seeds_dir, config)
    return get_collection(settings, collection.name)


def delete_collection(settings: Settings, name: object, *, wait: float = 120.0) -> None:
    """Remove a collection's documents and index (the default collection cannot be deleted).

    A build of it running meanwhile (in this process or another sharing the index folder) is
    stopped first and waited for (up to ``wait`` seconds): left running, it published the
    deleted documents' index into the collection's folder once done, so a collection made
    again under the name answered from them."""
    collection = get_collection(settings, name)
    if collection.name == DEFAULT:
        raise CollectionNameError("the default collection cannot be deleted; delete its documents instead")
    if build_running(collection.index_dir) is not None:
        request_stop(collection.index_dir)  # it ends at its next step, publishing nothing
    trash = []
    with build_lock(collection.index_dir, timeout=wait):  # no build of it runs while it goes
        for folder in (collection.seeds_dir, collection.index_dir):
            if folder.exists():
                trash.append(folder.with_name(f".deleted-{folder.name}-{os.getpid()}-{id(folder)}"))
                os.rename(folder, trash[-1])  # gone from view at once, removed below
    for folder in trash:
        shutil.rmtree(folder, ignore_errors=True)
    log.info("collection %s deleted with its documents and index", collection.name)


def _format(path: Path) -> str:
    return path.suffix.lower().lstrip(".")


def list_files(settings: Settings, name: object) -> list[StoredFile]:
    """The document files of a collection on disk (indexed or not yet), by name."""
    collection = get_collection(settings, name)
    root = collection.seeds_dir
    if not root.is_dir():
        return []
    nested = [c.parent for c in root.rglob(COLLECTION_FILE) if c.parent != root]
    out = []
    for path in sorted(root.rglob("*")):
        inside = path.relative_to(root)
        if (
            not path.is_file()
            or path.suffix.lower() not in SOURCE_SUFFIXES
            or any(part.startswith(".") for part in inside.parts)
            or any(folder in path.parents for folder in nested)
        ):
            continue
        out.append(StoredFile(inside.as_posix(), settings.relpath(path), path.stat().st_size, _format(path)))
    return out


def check_file_name(filename: object) -> str:
    """``filename`` (in Unicode's composed form, as a Mac's decomposed "Übung" is stored as
    Windows and Linux write it) if it is a plain file name of a readable type; UploadError otherwise."""
    if isinstance(filename, str):
        filename = unicodedata.normalize("NFC", filename)
    if not isinstance(filename, str) or not _FILE_NAME.fullmatch(filename) or ".." in filename:
        raise UploadError(_why_not_a_file_name(filename))
    suffix = Path(filename).suffix.lower()
    if suffix not in SOURCE_SUFFIXES or filename.lower().endswith(META_SUFFIX):
        raise UploadError(
            f"{filename}: {suffix or 'no extension'} is not a readable type; "
            f"upload one of {', '.join(SOURCE_SUFFIXES)}"
        )
    return filename


def _why_not_a_file_name(filename: object) -> str:
    """What is wrong with an upload's name, naming the characters it may not hold."""
    rule = "a document name is a plain file name (letters, digits, spaces, ._()+,'&![]-), no folders"
    if not isinstance(filename, str) or not filename:
        return f"{rule}, e.g. week-1.pdf"
    bad = sorted({c for c in filename if not re.fullmatch(f"[{_FILE_CHARS}]", c)})
    if bad:
        shown = ", ".join(repr(c) if c.isprintable() and not c.isspace() else f"U+{ord(c):04X}" for c in bad)
        return f"{filename[:80]!r} holds {shown}: {rule}; rename the file"
    return f"{filename[:80]!r}: {rule}, starting with a letter or digit and without '..'; rename the file"


def save_document(settings: Settings, name: object, filename: object, data: bytes) -> StoredFile:
    """Check ``data`` as a document and store it in the collection atomically (replacing a
    document of the same name). A file the reader refuses raises UploadError with its message
    and changes nothing."""
    collection = get_collection(settings, name)
    filename = check_file_name(filename)
    if len(data) > MAX_UPLOAD_BYTES:
        raise UploadError(f"{filename}: larger than {MAX_UPLOAD_BYTES // 2**20} MiB; split it")
    collection.index_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".incoming-", dir=collection.index_dir) as tmp:
        trial = Path(tmp) / filename
        trial.write_bytes(data)
        docs, problems = scan_sources(Path(tmp), Path(tmp), max_file_mb=settings.max_file_mb)
        if problems or not docs:
            message = str(problems[0]) if problems else "nothing readable in it"
            raise UploadError(message if message.startswith(filename) else f"{filename}: {message}")
    collection.seeds_dir.mkdir(parents=True, exist_ok=True)
    target = collection.seeds_dir / filename
    replaced = target.exists()
    atomic_write(target, data)
    log.info(
        "collection %s: %s %s (%s bytes)",
        collection.name,
        "replaced" if replaced else "added",
        filename,
        f"{len(data):,}",
    )
    return StoredFile(filename, settings.relpath(target), len(data), _format(target))


def delete_document(settings: Settings, name: object, filename: str) -> None:
    """Remove one document (and its title sidecar) from a collection."""
    known = {f.name for f in list_files(settings, name)}
    if filename not in known:
        raise UnknownSourceError(f"the collection has no document {filename!r}")
    collection = get_collection(settings, name)
    path = collection.seeds_dir / filename
    path.unlink()
    with contextlib.suppress(FileNotFoundError):
        path.with_name(path.name + META_SUFFIX).unlink()
    log.info("collection %s: deleted %s", collection.name, filename)


MAX_TITLE_CHARS = 200


def set_document_title(settings: Settings, name: object, filename: str, title: str) -> None:
    """Set the title citations give one document of a collection, in its sidecar
    (``NAME.meta.json``, whose URL and licence are kept); an empty ``title`` removes it, so the
    document's own (front matter, first heading, file name) counts again. The next build reads it."""
    known = {f.name for f in list_files(settings, name)}
    if filename not in known:
        raise UnknownSourceError(f"the collection has no document {filename!r}")
    title = " ".join(title.split())
    if len(title) > MAX_TITLE_CHARS:
        raise UploadError(f"a title is at most {MAX_TITLE_CHARS} characters")
    collection = get_collection(settings, name)
    path = collection.seeds_dir / filename
    sidecar = path.with_name(path.name + META_SUFFIX)
    try:
        meta = json.loads(sidecar.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        meta = {}  # none yet, or one the reader refuses anyway: replaced
    meta = {k: v for k, v in meta.items() if k != "title"} if isinstance(meta, dict) else {}
    if title:
        meta = {"title": title, **meta}
    if meta:
        atomic_write(sidecar, json.dumps(meta, ensure_ascii=False, indent=2) + "\n", mode=0o666)
    else:
        with contextlib.suppress(FileNotFoundError):
            sidecar.unlink()
    if title:
        log.info("collection %s: title of %s set to %r", collection.name, filename, title)
    else:
        log.info("collection %s: title of %s reset to the document's own", collection.name, filename)
