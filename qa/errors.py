"""The exceptions the library raises; the CLI, UI and HTTP edges turn them into messages."""

from __future__ import annotations

__all__ = [
    "QAError",
    "ConfigError",
    "SourceError",
    "NoSourcesError",
    "IndexMissingError",
    "IndexCorruptError",
    "IndexStaleError",
    "IndexLockedError",
    "IndexReadOnlyError",
    "BuildStoppedError",
    "IndexWriteError",
    "ModelError",
    "QuestionError",
    "UnknownSourceError",
    "CollectionNameError",
    "UnknownCollectionError",
    "CourseKeyError",
    "UnknownKeyError",
    "CollectionExistsError",
    "EmptyCollectionError",
    "UploadError",
    "StoreUnavailableError",
    "StoreAuthError",
    "EvaluationError",
    "QuestionFileError",
    "RecordFileError",
]


class QAError(Exception):
    """Base class of every error the qa library raises on purpose."""


class ConfigError(QAError):
    """A setting has a value that cannot work."""


class SourceError(QAError):
    """A source file cannot be read: damaged, encrypted, scanned, too large, mislabelled or not UTF-8."""


class NoSourcesError(QAError):
    """There is no readable document to index."""


class IndexMissingError(QAError):
    """No built index exists where the settings point."""


class IndexCorruptError(QAError):
    """The index on disk is unreadable or inconsistent with its manifest."""


class IndexStaleError(QAError):
    """The index was built for other sources, another model or other chunk settings."""


class IndexLockedError(QAError):
    """Another process is building the index right now."""


class BuildStoppedError(QAError):
    """A build was stopped on request (the admin page, Ctrl-C); the previous index is untouched."""


class IndexWriteError(QAError):
    """The index folder cannot be created or written (not a folder, read-only, disk full)."""


class IndexReadOnlyError(IndexLockedError):
    """The index folder is read-only, so its build lock cannot be taken (an index served from a
    read-only volume can still be read when it fits)."""


class ModelError(QAError):
    """The embedding model cannot be found or loaded."""


class QuestionError(QAError):
    """The question is empty, too long, or otherwise unusable."""


class UnknownSourceError(QAError):
    """A citation or request names a source that is not in the index, or offsets outside it."""


class CollectionNameError(QAError):
    """A collection name is not a short slug (lowercase letters, digits, hyphens)."""


class UnknownCollectionError(QAError):
    """No collection by that name exists. ``names`` holds the collections there are, for an
    operator's command line; the message leaves them out, as a learner or portal asking the API
    about one course has no business learning the names of the others."""

    def __init__(self, message: str, *, names: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.names = names


class CourseKeyError(QAError):
    """A course key cannot be made: a label that is empty or too long, or too many keys."""


class UnknownKeyError(QAError):
    """A course has no key by that id (it was revoked, or never made)."""


class CollectionExistsError(QAError):
    """A collection by that name exists already."""


class EmptyCollectionError(QAError):
    """The collection has no indexed documents yet (none uploaded, or its index is being built)."""


class UploadError(QAError):
    """An uploaded document is refused: wrong type, too large, unreadable, or a bad file name."""


class StoreUnavailableError(QAError):
    """The vector store (a Milvus server or Milvus Lite file) cannot be reached or opened."""


class StoreAuthError(QAError):
    """The Milvus server refused the token given in ``vector_store_token``."""


class EvaluationError(QAError):
    """An evaluation cannot run: no usable question, or two runs with nothing to compare."""


class QuestionFileError(EvaluationError):
    """A questions, run or review file cannot be read or written."""


class RecordFileError(QAError):
    """An append-only record file (feedback, the question log) is full, cannot be written, or a
    record is too large."""
