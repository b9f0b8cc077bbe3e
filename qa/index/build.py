"""Building the index: windows of every document, their vectors (only what changed is embedded
again), BM25, a store; whether an existing index still fits; one build at a time."""

from __future__ import annotations

import contextlib
import functools
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import metadata

import numpy as np

from qa.config import Settings
from qa.embedders.base import Embedder, window_embedder
from qa.embedders.precision import BF16_RECIPE, accepts, wanted_description, window_precision
from qa.embedders.quantize import recipe_id
from qa.embedders.tokens import TokenEmbedder
from qa.errors import (
    BuildStoppedError,
    ConfigError,
    IndexCorruptError,
    IndexMissingError,
    IndexReadOnlyError,
    IndexStaleError,
    IndexWriteError,
    NoSourcesError,
    QAError,
)
from qa.index.embedding import Embedded, embed_texts
from qa.index.files import load_index, read_manifest, remove_leftovers, save_index
from qa.index.lock import ProgressNote, build_lock
from qa.index.model import FORMAT_VERSION, Index, Manifest, Windows
from qa.index.progress import (
    CUTTING,
    EMBEDDING,
    LOADING,
    READING,
    SAVING,
    BuildProgress,
    RecentRate,
    format_progress,
)
from qa.index.stopping import StopCheck, record_stop
from qa.index.vectors import WindowSpans, document_vectors, model_rows, model_windows
from qa.ingest.chunking import WORDS_VERSION, chunk_text, has_unspaced_script
from qa.ingest.formats import reader_change, reader_versions
from qa.ingest.normalize import TERMS_VERSION, reads_otherwise
from qa.ingest.sources import Document, ScanProgress, scan_sources
from qa.lexical.bm25 import LexicalIndex
from qa.store.base import check_store, make_store

__all__ = [
    "BuildReport",
    "build_index",
    "build_lock",
    "check_sources",
    "ensure_index",
    "open_index",
    "stale_reasons",
]

log = logging.getLogger(__name__)

FIRST_BUILD = "first build: "
"""Opens the reason of a build that found no index."""


@dataclass(frozen=True)
class BuildReport:
    """What :func:`ensure_index` did."""

    index: Index
    status: str
    """"up to date", "updated" or "built"."""
    embedded: int = 0
    """Windows the model embedded."""
    reused: int = 0
    """Windows whose vectors came from the previous build."""
    skipped: tuple[str, ...] = ()
    """Messages for source files that could not be read."""
    reasons: tuple[str, ...] = ()
    """Why the previous index was not used as it was."""

    @property
    def said(self) -> tuple[str, ...]:
        """The reasons as a build says them: "first build: no index in embeddings/ yet" when there
        was none (not the loader's advice to run ``qa index``, which is running), else
        "rebuilt because: ..." each."""
        return _said(self.reasons)


def _said(reasons: Sequence[str]) -> tuple[str, ...]:
    return tuple(r if r.startswith(FIRST_BUILD) else f"rebuilt because: {r}" for r in reasons)


INT8_RECIPE = "int8-recipe"
"""The manifest's ``versions`` key of :func:`~qa.embedders.quantize.recipe_id`."""
BF16_RECIPE_KEY = "bf16-recipe"
"""The manifest's ``versions`` key of :data:`~qa.embedders.precision.BF16_RECIPE`."""


WORDS_KEY = "words"
"""The manifest's ``versions`` key of :data:`~qa.ingest.chunking.WORDS_VERSION`."""


def _words_changed(manifest: Manifest, doc: Document) -> bool:
    """Whether ``doc``'s words split otherwise now than when the index of ``manifest`` was built."""
    return manifest.versions.get(WORDS_KEY, "1") != str(WORDS_VERSION) and has_unspaced_script(doc.text)


TERMS_KEY = "terms"
"""The manifest's ``versions`` key of :data:`~qa.ingest.normalize.TERMS_VERSION`."""


def _terms_changed(manifest: Manifest, doc: Document) -> bool:
    """Whether ``doc``'s words read as other terms now than when the index of ``manifest`` was
    built (its windows and vectors stay; its lexical terms do not)."""
    then = manifest.versions.get(TERMS_KEY, "1")
    return then != str(TERMS_VERSION) and then.isdigit() and reads_otherwise(doc.text, int(then))


def _recipes() -> dict[str, str]:
    return {INT8_RECIPE: recipe_id(), BF16_RECIPE_KEY: BF16_RECIPE}


def _versions() -> dict[str, str]:
    out = {}
    for name in ("qa", "faiss-cpu", "sentence-transformers", "torch", "numpy", "bm25s"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            out[name] = metadata.version(name)
    reading = {WORDS_KEY: str(WORDS_VERSION), TERMS_KEY: str(TERMS_VERSION)}
    return out | reader_versions() | _recipes() | reading


def _recipe_changed(manifest: Manifest) -> bool:
    """Whether the int8 or bf16 window vectors of ``manifest`` were made by another recipe than
    this version's."""
    key = {"int8": INT8_RECIPE, "bf16": BF16_RECIPE_KEY}.get(manifest.embed_precision)
    return key is not None and manifest.versions.get(key) != _recipes()[key]


def _window_texts(
    documents: Sequence[Document],
    sizes: Sequence[int],
    stages: Callable[[BuildProgress], None] | None = None,
) -> tuple[Windows, list[list[str]]]:
    """The window table of ``documents`` and each document's window texts, in table order.
    ``stages`` follows the cutting by characters of text, once per document and window size (a
    text of some megabytes takes seconds)."""
    columns: dict[str, list[int]] = {name: [] for name in Windows.columns()}
    texts: list[list[str]] = []
    total = sum(len(doc.text) for doc in documents)
    done, started = 0, time.perf_counter()
    for d, doc in enumerate(documents):
        mine = []
        for i, size in enumerate(sizes):
            if stages:
                at = done + len(doc.text) * i // len(sizes)
                stages(BuildProgress(CUTTING, at, total, time.perf_counter() - started, current=doc.source))
            for c in chunk_text(doc.text, source=doc.source, size=size, stride=max(size // 2, 1)):
                for name, value in zip(
                    Windows.columns(), (d, size, c.start, c.end, c.word_start, c.word_end)
                ):
                    columns[name].append(value)
                mine.append(c.text)
        texts.append(mine)
        done += len(doc.text)
    if stages:
        stages(BuildProgress(CUTTING, total, total, time.perf_counter() - started))
    return Windows.from_mapping(columns), texts


def _reusable_vectors(previous: Index | None, doc: Document, n_windows: int) -> np.ndarray | None:
    """The previous build's vectors of ``doc`` if its text and windows are unchanged."""
    if previous is None or previous.manifest.sources.get(doc.source) != doc.sha256:
        return None
    if _words_changed(previous.manifest, doc):
        return None
    rows = previous.windows.of_document(previous.document_index(doc.source))
    return previous.store.vectors(rows) if len(rows) == n_windows else None


def _token_encoder(embedder: Embedder, settings: Settings, progress: Callable[[int], None]):
    """``encode_tokens`` for contextual window vectors (None for the other ways)."""
    if settings.window_vectors != "contextual":
        return None
    if not isinstance(embedder, TokenEmbedder):
        raise ConfigError(
            f"embedder {embedder.name!r} gives no token states for contextual window vectors; "
            "set QA_WINDOW_VECTORS=embedded"
        )

    def encode_tokens(texts: list[str]):
        out = embedder.encode_tokens(texts)
        progress(len(out))
        return out

    return encode_tokens


def _spans(windows: Windows, rows: np.ndarray) -> WindowSpans:
    return WindowSpans(
        windows.scale[rows],
        windows.word_start[rows],
        windows.word_end[rows],
        windows.start[rows],
        windows.end[rows],
    )


def _indexed_at(previous: Index | None, source: str) -> str:
    """When ``previous`` made the vectors of ``source`` (its build time if it did not say)."""
    if previous is None:
        return ""
    return previous.manifest.indexed_at.get(source, previous.manifest.built_at)


def _fits(previous: Index, embedder: Embedder, settings: Settings, precision: str) -> bool:
    """Whether ``previous`` vectors can be reused by a build embedding in ``precision`` (same
    model, windows and arithmetic)."""
    m = previous.manifest
    return (
        m.model == embedder.name
        and list(m.window_sizes) == list(settings.window_sizes)
        and m.format_version == FORMAT_VERSION
        and m.window_vectors == settings.window_vectors
        and m.embed_precision == precision
        and not _recipe_changed(m)
    )


def build_index(
    documents: Sequence[Document],
    *,
    settings: Settings,
    embedder: Embedder,
    previous: Index | None = None,
    progress: Callable[[int, int], None] | None = None,
    stages: Callable[[BuildProgress], None] | None = None,
) -> tuple[Index, int, int]:
    """A new index of ``documents``; windows of unchanged documents reuse ``previous`` vectors.

    ``progress(done, total)`` and ``stages`` (a :class:`BuildProgress`) follow the embedding.
    Returns the index, the number of windows the model embedded and the number whose vectors
    were reused. ``settings.window_vectors`` says which windows of the documents that changed
    go through the model (:mod:`qa.index.vectors`), ``settings.embed_precision`` in which form
    (``embedder`` itself, or its int8 or bf16 form: :func:`~qa.embedders.base.window_embedder`).
    All the texts to embed go through the model together, in order of token count
    (:mod:`qa.index.embedding`).
    """
    if not documents:
        raise NoSourcesError(f"no documents in {settings.seeds_dir}; add some first")
    precision = window_precision(settings.embed_precision, embedder)
    if previous is not None and not _fits(previous, embedder, settings, precision):
        previous = None
    windows, texts = _window_texts(documents, settings.window_sizes, stages)
    parts = [_reusable_vectors(previous, doc, len(t)) for doc, t in zip(documents, texts)]
    rows = [windows.of_document(d) for d in range(len(documents))]
    reused = sum(len(r) for r, p in zip(rows, parts) if p is not None)
    total = sum(
        model_windows(windows.scale[r], settings.window_vectors) for r, p in zip(rows, parts) if p is None
    )
    done, started, recent = 0, 0.0, RecentRate()

    def step(n: int) -> None:
        nonlocal done, total
        done += n
        total = max(total, done)  # contextual: a few windows embedded on their own besides
        if progress:
            progress(done, total)
        if stages:
            seconds = time.perf_counter() - started
            stages(BuildProgress(EMBEDDING, done, total, seconds, since=recent.add(seconds, done)))

    window_texts = [t for doc_texts in texts for t in doc_texts]
    # BM25 needs no vectors: built on a thread of its own while the model embeds
    # it stops on a request as the embedding does (alone when every vector is reused)
    lexical_index = functools.partial(LexicalIndex, check=StopCheck(settings.index_dir))
    with _beside(lexical_index, window_texts, windows.scale) as lexical_job:
        ahead: list[str] = []  # every text the model embeds for ``encode``, sent together
        if total:
            if stages:
                stages(BuildProgress(LOADING, 0, 1, 0.0))
            embedder = window_embedder(embedder, settings)  # loaded only when something is embedded
            embedder.dimension  # noqa: B018  loads it (a first start exports it) before counting windows
            started = time.perf_counter()
            step(0)
            ahead = [
                t[j]
                for t, r, p in zip(texts, rows, parts)
                if p is None
                for j in model_rows(windows.scale[r], settings.window_vectors)
            ]
        vectors_ahead = embed_texts(embedder, ahead, step) if ahead else None
        encode = Embedded(ahead, vectors_ahead, lambda batch: embed_texts(embedder, batch, step))
        encode_tokens = _token_encoder(embedder, settings, step) if total else None
        now = datetime.now(timezone.utc).isoformat(timespec="seconds")
        indexed_at = {}
        for i, (doc, t) in enumerate(zip(documents, texts)):
            indexed_at[doc.source] = now if parts[i] is None else _indexed_at(previous, doc.source)
            if parts[i] is None:
                parts[i] = document_vectors(
                    t,
                    _spans(windows, rows[i]),
                    encode=encode,
                    window_vectors=settings.window_vectors,
                    encode_tokens=encode_tokens,
                )
        vectors = np.ascontiguousarray(np.concatenate(parts), dtype=np.float32)
        store = make_store(settings, vectors, columns=windows.as_dict(), texts=window_texts)
        lexical = lexical_job.result()
    manifest = Manifest(
        format_version=FORMAT_VERSION,
        model=embedder.name,
        dimension=int(vectors.shape[1]),
        window_sizes=list(settings.window_sizes),
        sources={d.source: d.sha256 for d in documents},
        chunks=len(vectors),
        faiss_index=store.description,
        built_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        store=store.kind,
        versions=_versions(),
        window_vectors=settings.window_vectors,
        indexed_at=indexed_at,
        embed_precision=precision,
        stored_vectors=getattr(store, "stored_dtype", "float32"),
    )
    index = Index(manifest=manifest, documents=documents, windows=windows, store=store, lexical=lexical)
    return index, done, reused


class _Abandonable(Sequence[str]):
    """Texts that raise :class:`~qa.errors.BuildStoppedError` when read once ``given_up`` is set."""

    def __init__(self, texts: Sequence[str], given_up: threading.Event) -> None:
        self._texts, self._given_up = texts, given_up

    def __len__(self) -> int:
        return len(self._texts)

    def __getitem__(self, i):  # type: ignore[override]
        if self._given_up.is_set():
            raise BuildStoppedError("the build ended without it; not needed")
        return self._texts[i]


@contextlib.contextmanager
def _beside(build: Callable, texts: Sequence[str], *args) -> Iterator[Future]:
    """``build(texts, *args)`` (the BM25 index) on a daemon thread of its own while the block runs
    (a stopped ``qa index`` exits without waiting for it), its result or error in the future
    yielded. When the block ends by an exception (a stop, Ctrl-C, a failure) the build is given
    up: reading ``texts`` raises from then on, and :class:`~qa.lexical.bm25.LexicalIndex` reads
    each as it takes its terms, so it ends at the next text instead of finishing for nothing."""
    given_up = threading.Event()
    future: Future = Future()

    def run() -> None:
        future.set_running_or_notify_cancel()
        try:
            future.set_result(build(_Abandonable(texts, given_up), *args))
        except BaseException as exc:  # handed to the build when it asks for the result
            future.set_exception(exc)

    threading.Thread(target=run, name="qa-bm25", daemon=True).start()
    try:
        yield future
    except BaseException:
        given_up.set()
        raise


def _store_reasons(manifest: Manifest, settings: Settings) -> list[str]:
    """Why the store of an index with ``manifest`` does not fit the settings and this version."""
    from qa.store.faiss import faiss_factory, stored_dtype

    reasons = []
    if manifest.store != settings.store:
        reasons.append(f"built with store {manifest.store!r}, settings ask for {settings.store!r}")
    elif manifest.store == "faiss" and manifest.stored_vectors != stored_dtype(manifest.chunks):
        reasons.append(
            f"window vectors stored as {manifest.stored_vectors}; this version stores "
            f"{manifest.chunks:,} windows' as {stored_dtype(manifest.chunks)} (their vectors are reused)"
        )
    wanted = faiss_factory(manifest.chunks, manifest.dimension, settings.faiss_index)
    if settings.faiss_index and manifest.faiss_index != wanted:
        reasons.append(f"built as FAISS {manifest.faiss_index!r}, settings ask for {wanted!r}")
    return reasons


def stale_reasons(manifest: Manifest, documents: Sequence[Document], settings: Settings) -> list[str]:
    """Why an index with ``manifest`` does not fit the current sources and settings (empty: fits)."""
    reasons = []
    if manifest.model != settings.model:
        reasons.append(f"built with model {manifest.model!r}, settings ask for {settings.model!r}")
    if list(manifest.window_sizes) != list(settings.window_sizes):
        reasons.append(
            f"built with window sizes {list(manifest.window_sizes)}, "
            f"settings ask for {list(settings.window_sizes)}"
        )
    if manifest.window_vectors != settings.window_vectors:
        reasons.append(
            f"built with {manifest.window_vectors} window vectors, "
            f"settings ask for {settings.window_vectors} (QA_WINDOW_VECTORS)"
        )
    if not accepts(settings.embed_precision, manifest.embed_precision):
        reasons.append(
            f"windows embedded in {manifest.embed_precision}, "
            f"settings ask for {wanted_description(settings.embed_precision)} (QA_EMBED_PRECISION)"
        )
    elif _recipe_changed(manifest):
        made = manifest.embed_precision
        reasons.append(f"{made} window vectors made by another recipe than this version's")
    reasons += _store_reasons(manifest, settings)
    current = {d.source: d.sha256 for d in documents}
    for source in sorted(current.keys() - manifest.sources.keys()):
        reasons.append(f"new source {source}")
    for source in sorted(manifest.sources.keys() - current.keys()):
        reasons.append(f"source removed: {source}")
    for source in sorted(current.keys() & manifest.sources.keys()):
        if current[source] != manifest.sources[source]:
            why = reader_change(manifest.versions, source)
            reasons.append(f"source changed: {source}" + (f" ({why})" if why else ""))
    return reasons + _reading_reasons(manifest, documents)


def _reading_reasons(manifest: Manifest, documents: Sequence[Document]) -> list[str]:
    """Why documents unchanged since ``manifest`` are read again: this version splits their words
    or reads their terms otherwise."""
    reasons = []
    for doc in documents:
        if manifest.sources.get(doc.source) != doc.sha256:
            continue  # changed or new: read again anyway, said as such
        if _words_changed(manifest, doc):
            then = manifest.versions.get(WORDS_KEY, "1")
            reasons.append(
                f"words of {doc.source} are now split letter by letter (Chinese or Japanese; "
                f"word splitting version {then} -> {WORDS_VERSION})"
            )
        elif _terms_changed(manifest, doc):
            then = manifest.versions.get(TERMS_KEY, "1")
            reasons.append(
                f"terms of {doc.source} are now read otherwise (an en dash parts the words beside "
                f"it; term reading version {then} -> {TERMS_VERSION})"
            )
    return reasons


def _loaded(settings: Settings) -> tuple[Index | None, list[str]]:
    """The existing index, or None and why it cannot be used (none yet, corrupt, too old)."""
    try:
        return load_index(settings.index_dir, settings=settings), []
    except IndexMissingError:
        return None, [f"{FIRST_BUILD}no index in {settings.index_dir} yet"]
    except (IndexCorruptError, IndexStaleError) as exc:
        return None, [str(exc)]


def ensure_index(
    settings: Settings,
    embedder: Embedder,
    *,
    rebuild: bool = False,
    progress: Callable[[int, int], None] | None = None,
    stages: Callable[[BuildProgress], None] | None = None,
    why: Callable[[tuple[str, ...]], None] | None = None,
) -> BuildReport:
    """Load the index if it fits the sources and settings; otherwise (re)build what is stale.

    ``progress(done, total)`` follows the embedding; ``stages`` gets a :class:`BuildProgress`
    while documents are read (pages/s), windows embedded (windows/s) and the index saved; ``why``
    gets the build's reasons as :attr:`BuildReport.said` words them once they are known, before
    anything is embedded (a long build says first why it runs), and before them that it waits
    for another process's build of the folder, if it must. A stop requested meanwhile
    (:func:`qa.index.stopping.request_stop`) or Ctrl-C ends it with nothing written: the live
    build stays, and :func:`qa.index.stopping.stopped` says what happened. A stop standing when
    the build would begin, or coming while it waits for the lock, cancels it the same way: it
    was asked for before the stop (a caller asking for a new build withdraws a standing stop
    first, :func:`qa.index.stopping.withdraw_stop`).
    """
    check_store(settings)
    index_dir = settings.index_dir
    stop = StopCheck(index_dir)
    try:
        waiting = (lambda line: why((line,))) if why else None
        with build_lock(index_dir, waiting=waiting, check=lambda: _cancel_queued(index_dir, stop, False)):
            _cancel_queued(index_dir, stop, True)
            note = ProgressNote(index_dir)
            note("reading documents")
            try:
                return _ensure_locked(settings, embedder, rebuild, progress, _noted(note, stages, stop), why)
            except (BuildStoppedError, KeyboardInterrupt):
                remove_leftovers(index_dir)  # a save cut short; the live build is kept
                record_stop(index_dir, answers_from=_answers_from(index_dir))
                raise
            finally:
                note.close()
    except IndexReadOnlyError:  # a read-only volume: its index is served as it is, when it fits
        return _read_only(settings, rebuild, stages)
    except OSError as exc:  # the folder is not one, is read-only, or the disk is full
        raise IndexWriteError(
            f"cannot write the index in {index_dir}: {exc.strerror or exc}"
            + (f" ({exc.filename})" if exc.filename and str(exc.filename) != str(index_dir) else "")
            + "; make the folder writable or free some space, or set QA_INDEX_DIR (--index-dir) to another"
        ) from None


def _cancel_queued(index_dir, stop: StopCheck, locked: bool) -> None:
    """Cancel a build that has not begun (queued, or waiting for the lock: not ``locked``, when
    the running build carries the request out itself) if a stop stands, recording that it was."""
    try:
        stop(queued=True)
    except BuildStoppedError:
        record_stop(index_dir, answers_from=_answers_from(index_dir), queued=True, carried_out=locked)
        raise


def _answers_from(index_dir) -> str:
    """When the live build of ``index_dir`` was built ('' if there is none to answer from)."""
    try:
        return read_manifest(index_dir).built_at
    except QAError:
        return ""


def _noted(
    note: ProgressNote, stages: Callable[[BuildProgress], None] | None, stop: Callable[[], None]
) -> Callable[[BuildProgress], None]:
    """``stages``, also writing each line to the index folder's note for other processes, and
    stopping the build there (between documents, stages and embedding batches) if asked to."""

    def report(p: BuildProgress) -> None:
        stop()
        note(format_progress(p))
        if stages:
            stages(p)

    return report


def _as_it_is(
    previous: Index | None,
    reasons: list[str],
    documents: Sequence[Document],
    *,
    rebuild: bool,
    skipped: tuple[str, ...],
) -> tuple[BuildReport | None, list[str]]:
    """The existing index as an "up to date" report when it fits ``documents`` as it is (None,
    and why not, otherwise)."""
    if previous is not None and not reasons and not rebuild:
        meta = {(d.source, d.title, d.url, d.license) for d in documents}
        if meta == {(d.source, d.title, d.url, d.license) for d in previous.documents}:
            return BuildReport(previous, "up to date", reused=len(previous), skipped=skipped), []
        reasons = ["titles or links changed"]
    return None, reasons


def _read_only(
    settings: Settings, rebuild: bool, stages: Callable[[BuildProgress], None] | None
) -> BuildReport:
    """:func:`ensure_index` on a read-only index folder (a volume mounted read-only, an index
    built elsewhere): the index as it is when it fits the sources and settings, as no build can
    be written (nor its lock taken); IndexWriteError saying what a build would need otherwise."""
    index_dir = settings.index_dir
    documents, problems = scan_sources(
        settings.seeds_dir,
        settings.root,
        max_file_mb=settings.max_file_mb,
        progress=_reading(stages, lambda: None) if stages else None,
    )
    skipped = tuple(str(p) for p in problems)
    previous, reasons = _loaded(settings) if documents else (None, ["no readable documents"])
    if previous is not None:
        reasons = stale_reasons(previous.manifest, documents, settings)
    report, reasons = _as_it_is(previous, reasons, documents, rebuild=rebuild, skipped=skipped)
    if report is not None:
        return report
    need = "a rebuild was asked for" if rebuild else "; ".join(reasons)
    raise IndexWriteError(
        f"the index folder {index_dir} is read-only and the index needs a build ({need}); "
        "make the folder writable, or set QA_INDEX_DIR (--index-dir) to a writable one"
    )


def _ensure_locked(
    settings: Settings,
    embedder: Embedder,
    rebuild: bool,
    progress: Callable[[int, int], None] | None,
    stages: Callable[[BuildProgress], None],
    why: Callable[[tuple[str, ...]], None] | None,
) -> BuildReport:
    """:func:`ensure_index`'s work, under the build lock. Why the index is built is said as soon
    as it is known: before the documents are read when there is no usable index (a first build),
    after them when they decide (a source changed)."""
    remove_leftovers(settings.index_dir)
    previous, unusable = _loaded(settings)
    untold = list(unusable) if why else []

    def tell() -> None:  # once, before the first document is read (not when there are none)
        if untold and why:
            why(_said(untold))
            untold.clear()

    documents, problems = scan_sources(
        settings.seeds_dir,
        settings.root,
        max_file_mb=settings.max_file_mb,
        progress=_reading(stages, tell),
    )
    skipped = tuple(str(p) for p in problems)
    if not documents:
        raise NoSourcesError(
            f"no readable documents in {settings.seeds_dir}" + (f" ({'; '.join(skipped)})" if skipped else "")
        )
    tell()
    reasons = stale_reasons(previous.manifest, documents, settings) if previous is not None else unusable
    report, reasons = _as_it_is(previous, reasons, documents, rebuild=rebuild, skipped=skipped)
    if report is not None:
        return report
    if why and not unusable:
        why(_said(reasons))
    index, embedded, reused = build_index(
        documents,
        settings=settings,
        embedder=embedder,
        previous=None if rebuild else previous,
        progress=progress,
        stages=stages,
    )
    stages(BuildProgress(SAVING, 0, 1, 0.0))
    save_index(index, settings.index_dir)
    status = "built" if previous is None or rebuild else "updated"
    return BuildReport(index, status, embedded, reused, skipped, tuple(reasons))


def _reading(
    stages: Callable[[BuildProgress], None], first: Callable[[], None]
) -> Callable[[ScanProgress], None]:
    def report(p: ScanProgress) -> None:
        first()
        stages(BuildProgress(READING, p.files_done, p.files_total, p.seconds, p.pages_done, p.current))

    return report


def open_index(settings: Settings) -> Index:
    """The live index, refusing one built for another model or other chunk settings."""
    check_store(settings)
    index = load_index(settings.index_dir, settings=settings)
    if index.manifest.model != settings.model:
        raise IndexStaleError(
            f"the index was built with model {index.manifest.model!r} but QA_MODEL is "
            f"{settings.model!r}; run `qa index` to rebuild it"
        )
    return index


def check_sources(settings: Settings, manifest: Manifest | None = None) -> list[str]:
    """Reasons the sources on disk no longer match ``manifest`` (default: the live build's);
    cheap: hashes only."""
    documents, _ = scan_sources(settings.seeds_dir, settings.root, max_file_mb=settings.max_file_mb)
    return stale_reasons(manifest or read_manifest(settings.index_dir), documents, settings)
