"""What a request made with a course key may see: its own course only.

The guard (:mod:`qa.web.security`) recognises a course key (:mod:`qa.index.course_keys`) and
notes its course in the request's ASGI scope; the routes ask here which collection a request
means and refuse another one with 403. A request with the server key, a session or a signed
link carries no course and is answered as before.
"""

from __future__ import annotations

from fastapi import HTTPException, Request

from qa.errors import QAError

__all__ = [
    "COURSE",
    "KEY",
    "OTHER_COURSE",
    "key_binding",
    "key_course",
    "refuse_other_course",
    "scoped_collection",
]

COURSE = "qa.course"
"""The ASGI scope's entry naming the course of the key a request was made with."""
KEY = "qa.course_key"
"""The ASGI scope's entry naming that key (``COURSE.ID``): signed links in its answers are bound
to it, so they open nothing once it is revoked."""
OTHER_COURSE = "this key is for another course"


def key_course(http: Request | None) -> str | None:
    """The course of the key ``http`` was made with (None: the server key, or no key)."""
    return http.scope.get(COURSE) if http is not None else None


def key_binding(http: Request | None) -> str:
    """The course key ``http`` was made with, as signed links name it (``COURSE.ID``; '' none)."""
    return http.scope.get(KEY, "") if http is not None else ""


def refuse_other_course() -> HTTPException:
    return HTTPException(403, OTHER_COURSE)


def scoped_collection(http: Request | None, requested: str | None) -> str | None:
    """The collection a request means: the one it names, or with a course key and none named,
    the key's course. A course key naming another collection (known or not: the key's holder
    learns nothing of the others) is a 403."""
    from qa.index.collections import check_name

    course = key_course(http)
    if course is None or requested is None or requested == "":
        return course if course is not None else requested
    try:
        named = check_name(requested)
    except QAError:
        named = None
    if named != course:
        raise refuse_other_course()
    return course
