"""A collection's build status as every server process sharing its index folder sees it.

The registry knows only the builds of its own process. Replicas (or ``qa index``) share the
index folder, whose build lock and progress note (:func:`qa.index.lock.build_running`) tell
that another process is building; an idle registry that was asked nothing since it started
("ready") takes its counts from the published index it answers from.
"""

from __future__ import annotations

import re
from dataclasses import replace

from qa.config import Settings
from qa.errors import EmptyCollectionError, QAError
from qa.index.collections import collection_settings, list_files
from qa.index.lock import build_running
from qa.index.stopping import stopped
from qa.retrieval.registry import BuildStatus, Registry

__all__ = ["ELSEWHERE", "build_state"]

ELSEWHERE = "another process is building this index: a replica, or qa index"
_EMBEDDING = re.compile(r"embedding: ([\d,]+)/([\d,]+) windows")


def build_state(settings: Settings, registry: Registry, name: object = None) -> BuildStatus:
    """``registry``'s status of collection ``name``, or ``indexing`` while another process holds
    its build lock (the message that process's progress line), ``stopped`` after a build stopped
    on request (here or in another process), with the live index's counts when idle."""
    status = registry.status(name)
    if status.busy:
        return status
    index_dir = collection_settings(settings, status.collection).index_dir
    line = build_running(index_dir)
    if line is not None:
        embedding = _EMBEDDING.match(line)
        done, total = (int(g.replace(",", "")) for g in embedding.groups()) if embedding else (0, 0)
        message = f"{line} ({ELSEWHERE})" if line else ELSEWHERE
        return replace(status, state="indexing", message=message, embedded=done, to_embed=total)
    record = stopped(index_dir)
    if record is None and status.state != "ready" and not _has_documents(settings, status.collection):
        # what this registry says of its last build is of files no longer there: the collection
        # was emptied, or deleted and made again under its name by another process (a replica:
        # a delete here forgets the build itself, Registry.forget), and a new one starts clean
        status = BuildStatus(status.collection)
    if record is not None:  # stopped on request, here or by another process; nothing newer began
        status = replace(status, state="stopped", message=record.message)
    elif status.state == "stopped":  # its record is gone: the collection was deleted (and made again)
        status = replace(status, state="ready", message="")
    elif status.state not in ("ready", "done"):
        return status
    try:
        index = registry.get(status.collection).index
    except EmptyCollectionError:
        if record is not None:
            return replace(status, documents=0, windows=0, built_at="")
        return replace(status, state="empty", message="no indexed documents yet", documents=0, windows=0)
    except QAError:
        return status
    return replace(
        status, documents=len(index.documents), windows=len(index), built_at=index.manifest.built_at
    )


def _has_documents(settings: Settings, name: str) -> bool:
    """Whether collection ``name`` has document files on disk (indexed or not); True when that
    cannot be told (a collection deleted meanwhile keeps the status it had)."""
    try:
        return bool(list_files(settings, name))
    except QAError:
        return True
