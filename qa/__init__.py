"""Retrieval question answering with exact citations.

``import qa`` is cheap: the model, FAISS and the index load only when first used.
"""

from qa.answer import Answer, Citation, Passage, Span
from qa.config import Settings
from qa.errors import (
    BuildStoppedError,
    CollectionExistsError,
    CollectionNameError,
    ConfigError,
    CourseKeyError,
    EmptyCollectionError,
    EvaluationError,
    IndexCorruptError,
    IndexLockedError,
    IndexMissingError,
    IndexReadOnlyError,
    IndexStaleError,
    IndexWriteError,
    ModelError,
    NoSourcesError,
    QAError,
    QuestionError,
    QuestionFileError,
    RecordFileError,
    SourceError,
    StoreAuthError,
    StoreUnavailableError,
    UnknownCollectionError,
    UnknownKeyError,
    UnknownSourceError,
    UploadError,
)
from qa.ingest.chunking import Chunk, chunk_text

__all__ = [
    "Answer",
    "BuildStoppedError",
    "Chunk",
    "Citation",
    "CollectionExistsError",
    "CollectionNameError",
    "ConfigError",
    "CourseKeyError",
    "EmptyCollectionError",
    "EvaluationError",
    "IndexCorruptError",
    "IndexLockedError",
    "IndexReadOnlyError",
    "IndexWriteError",
    "IndexMissingError",
    "IndexStaleError",
    "ModelError",
    "NoSourcesError",
    "Passage",
    "QAError",
    "QuestionError",
    "QuestionFileError",
    "RecordFileError",
    "Retriever",
    "Settings",
    "SourceError",
    "Span",
    "StoreAuthError",
    "StoreUnavailableError",
    "UnknownCollectionError",
    "UnknownKeyError",
    "UnknownSourceError",
    "UploadError",
    "chunk_text",
    "__version__",
]

__version__ = "0.1.0"


def __getattr__(name: str):
    if name == "Retriever":
        from qa.retrieval.retriever import Retriever

        return Retriever
    raise AttributeError(f"module 'qa' has no attribute {name!r}")
