"""What every subcommand shares: the settings options, the collection option, and the message
that says where a missing index or missing documents were looked for."""

from __future__ import annotations

import argparse
import shutil
from contextlib import contextmanager
from pathlib import Path

from qa.config import EMBED_PRECISIONS, WINDOW_VECTORS, Settings
from qa.errors import IndexMissingError, NoSourcesError

WHERE_HINT = "run qa from the project folder, or pass --root DIR or set QA_ROOT"


def root_arg(p: argparse.ArgumentParser) -> argparse._ArgumentGroup:
    """The settings group with ``--root`` alone (a command that uses no index settings)."""
    g = p.add_argument_group("settings (also QA_* environment variables)")
    g.add_argument("--root", type=Path, help="project root (default: current folder)")
    return g


def settings_args(p: argparse.ArgumentParser) -> None:
    g = root_arg(p)
    g.add_argument("--seeds-dir", type=Path, help="source documents folder (default: ROOT/seeds)")
    g.add_argument("--index-dir", type=Path, help="index folder (default: ROOT/embeddings)")
    g.add_argument("--model", help="embedding model name or directory")
    g.add_argument(
        "--vector-store", help="faiss (default), a Milvus Lite file (.db) or a Milvus URL http(s)://host:port"
    )
    g.add_argument(
        "--window-vectors",
        choices=WINDOW_VECTORS,
        help="how windows get their vectors: embedded (default), composed or contextual",
    )
    g.add_argument(
        "--embed-precision",
        choices=EMBED_PRECISIONS,
        help="the model's arithmetic when windows are embedded: fp32, bf16, auto (bf16 on CPUs with native "
        "bf16, else fp32) or int8 (questions stay fp32)",
    )


def collection_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--collection", help="a collection other than the default (its documents in seeds/NAME/)")


def settings_from(args: argparse.Namespace, **extra) -> Settings:
    """Settings from defaults, ``QA_*`` variables and the command's options, in that order."""
    settings = Settings.load(
        root=args.root,
        seeds_dir=getattr(args, "seeds_dir", None),
        index_dir=getattr(args, "index_dir", None),
        model=getattr(args, "model", None),
        vector_store=getattr(args, "vector_store", None),
        window_vectors=getattr(args, "window_vectors", None),
        embed_precision=getattr(args, "embed_precision", None),
        **extra,
    )
    if getattr(args, "collection", None):
        from qa.index.collections import collection_settings

        settings = collection_settings(settings, args.collection)
    return settings


@contextmanager
def project(settings: Settings, collection: str | None = None):
    """Say where a missing index or missing documents were looked for, and leave no empty
    index folder behind when nothing could be built. A ``collection`` without an index is told
    the command that builds it (``qa index`` alone builds the default collection's)."""
    existed = settings.index_dir.exists()
    try:
        yield
    except (IndexMissingError, NoSourcesError) as exc:
        if not existed and settings.index_dir.is_dir():
            leftovers = {p.name for p in settings.index_dir.iterdir()}
            if leftovers <= {".lock"}:
                shutil.rmtree(settings.index_dir, ignore_errors=True)
        if isinstance(exc, IndexMissingError) and collection:
            raise IndexMissingError(
                f"the collection {collection!r} has no index yet: add documents to {settings.seeds_dir} "
                f"(or upload them on the admin page) and run `qa index --collection {collection}`"
            ) from None
        if isinstance(exc, NoSourcesError) and not settings.seeds_dir.is_dir():  # not "no readable documents"
            exc = NoSourcesError(
                f"no documents in {settings.seeds_dir}: the folder does not exist (QA_SEEDS_DIR or "
                "--seeds-dir name another)"
            )
        raise type(exc)(f"{exc} (project root: {settings.root}; {WHERE_HINT})") from None


def open_retriever(settings: Settings, collection: str | None = None):
    from qa.retrieval.retriever import Retriever

    with project(settings, collection):
        return Retriever.open(settings)
