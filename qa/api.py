"""The versioned JSON API (filled in by the portal-embedding work)."""

from __future__ import annotations

from .config import Settings
from .retrieval import Retriever

__all__ = ["api_router"]


def api_router(settings: Settings, retriever: Retriever):
    from fastapi import APIRouter

    router = APIRouter(prefix="/api/v1")

    @router.get("/health")
    def health() -> dict:
        m = retriever.index.manifest
        return {"status": "ok", "model": m.model, "passages": len(retriever.index), "built_at": m.built_at}

    return router
