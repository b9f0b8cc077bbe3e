"""The admin API's course keys (:mod:`qa.index.course_keys`): list, make and revoke the keys
that open one course's API, under ``/api/v1/admin/collections/{name}/keys``.

A new key is in the answer that makes it, once (``Cache-Control: no-store``); afterwards only
its label, its non-secret prefix, when it was made and last used are shown.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response
from pydantic import BaseModel, ConfigDict, Field

from qa.config import Settings
from qa.index.course_keys import MAX_LABEL_CHARS, CourseKey, last_used, list_keys, make_key, revoke_key
from qa.web.api import ErrorOut

__all__ = ["key_routes"]

NAME = Annotated[str, Path(description="Collection name: a short slug, e.g. `biology-101`.", max_length=64)]
KEY_ID = Annotated[str, Path(description="The key's id (the last part of its prefix).", max_length=16)]


class KeyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    label: str = Field(
        description="Where the key is used, e.g. 'Moodle prod' (shown in the list of keys).",
        max_length=MAX_LABEL_CHARS,
    )


class CourseKeyOut(BaseModel):
    id: str
    label: str
    prefix: str = Field(description="The start of the key, not secret: tells the course's keys apart.")
    created: str = Field(description="When it was made (ISO 8601, UTC).")
    last_used: str = Field(
        description="When a request last came with it (to the minute or so; '' never, or not kept "
        "on a read-only index folder)."
    )


class NewCourseKeyOut(CourseKeyOut):
    key: str = Field(description="The key itself: shown in this answer only, never again.")


class CourseKeysOut(BaseModel):
    keys: list[CourseKeyOut]
    required: bool = Field(
        description="Whether the server asks for keys (QA_API_KEY is set). False: the API is open to "
        "all and course keys have no effect until QA_API_KEY is set."
    )


def _out(settings: Settings, key: CourseKey) -> CourseKeyOut:
    return CourseKeyOut(
        id=key.id, label=key.label, prefix=key.prefix, created=key.created, last_used=last_used(settings, key)
    )


def key_routes(router: APIRouter, settings: Settings, errors: dict) -> None:
    """The key routes, on the admin ``router`` (which checks the admin key and origin)."""

    @router.get(
        "/collections/{name}/keys",
        response_model=CourseKeysOut,
        summary="The course keys of a collection",
        responses=errors,
    )
    def keys(name: NAME) -> CourseKeysOut:
        listed = [_out(settings, k) for k in list_keys(settings, name)]
        return CourseKeysOut(keys=listed, required=bool(settings.api_key))

    @router.post(
        "/collections/{name}/keys",
        response_model=NewCourseKeyOut,
        status_code=201,
        summary="Make a course key (the key is in this answer only)",
        responses=errors,
    )
    def make(name: NAME, body: KeyIn, response: Response) -> NewCourseKeyOut:
        key, stored = make_key(settings, name, body.label)
        response.headers["Cache-Control"] = "no-store"
        return NewCourseKeyOut(**_out(settings, stored).model_dump(), key=key)

    @router.delete(
        "/collections/{name}/keys/{key_id}",
        status_code=204,
        summary="Revoke a course key (it opens nothing from the next request on)",
        responses={**errors, 404: {"model": ErrorOut, "description": "No such collection, or no such key."}},
    )
    def revoke(name: NAME, key_id: KEY_ID) -> None:
        revoke_key(settings, name, key_id)
