"""Which collection a launch opens, and what the user may do there.

A course (the launch's ``context.id`` on one platform) opens, in this order:

1. the collection the platforms file maps it to (``courses``), which always wins;
2. the collection of the link an instructor made with deep linking: its custom parameters
   carry ``collection`` and ``qa_link``, an HMAC of issuer, course and collection under the
   tool's secret, so a link copied into another course, or a custom parameter typed by hand,
   does not open that collection;
3. the platform's ``default_collection``.

Otherwise the launch is refused with a page saying how to connect the course. Instructors
(and content developers and administrators of the course) get the collection's admin page as
well; everyone else, the chat.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass

from qa.web.lti.platforms import Platform
from qa.web.lti.tokens import INSTRUCTOR, LEARNER

__all__ = ["CourseLink", "choose_collection", "link_signature", "role_of"]

CONTEXT = "https://purl.imsglobal.org/spec/lti/claim/context"
CUSTOM = "https://purl.imsglobal.org/spec/lti/claim/custom"
ROLES = "https://purl.imsglobal.org/spec/lti/claim/roles"
_STAFF = ("Instructor", "ContentDeveloper", "Administrator", "Mentor#Administrator")
_MEMBERSHIP = "http://purl.imsglobal.org/vocab/lis/v2/membership#"
_INSTITUTION = "http://purl.imsglobal.org/vocab/lis/v2/institution/person#Administrator"
_SYSTEM = "http://purl.imsglobal.org/vocab/lis/v2/system/person#Administrator"


class MappingRefused(Exception):
    """The launch's course is not connected to a collection it may open."""


@dataclass(frozen=True)
class CourseLink:
    """The collection a launch opens, and the link's options."""

    collection: str
    k: int = 0
    title: str = ""
    source: str = ""
    """How it was decided: ``settings``, ``link`` or ``default``."""


def context_id(claims: Mapping) -> str:
    return str((claims.get(CONTEXT) or {}).get("id") or "")


def link_signature(secret: bytes, issuer: str, course: str, collection: str) -> str:
    """The ``qa_link`` custom parameter binding a deep link to one course of one platform."""
    message = "\x1f".join(("qa-lti-link-v1", issuer, course, collection)).encode("utf-8")
    return hmac.new(secret, message, hashlib.sha256).hexdigest()[:32]


def _k(value: object) -> int:
    try:
        k = int(str(value))
    except ValueError:
        return 0
    return k if 1 <= k <= 10 else 0


def choose_collection(claims: Mapping, platform: Platform, secret: bytes) -> CourseLink:
    """The collection this launch opens (see the module docstring); MappingRefused if none."""
    course = context_id(claims)
    custom = claims.get(CUSTOM) or {}
    custom = custom if isinstance(custom, Mapping) else {}
    k, title = _k(custom.get("passages")), str(custom.get("title") or "")[:120]
    mapped = platform.course_collection(course) if course else ""
    if mapped:
        return CourseLink(mapped, k, title, "settings")
    wanted, proof = str(custom.get("collection") or ""), str(custom.get("qa_link") or "")
    if wanted:
        expected = link_signature(secret, platform.issuer, course, wanted)
        if not course or not hmac.compare_digest(proof.encode(), expected.encode()):
            raise MappingRefused(
                "This link was made for another course (or its settings were edited by hand). "
                "An instructor can add the assistant to this course again with the LMS's "
                "'select content' (deep linking) button."
            )
        if platform.collections and wanted not in platform.collections:
            raise MappingRefused(f"This LMS may not open the collection {wanted!r} any more.")
        return CourseLink(wanted, k, title, "link")
    if platform.default_collection:
        return CourseLink(platform.default_collection, k, title, "default")
    raise MappingRefused(
        f"This course (id {course or 'none'}) is not connected to a collection yet. An instructor "
        "adds the assistant with the LMS's 'select content' (deep linking) button, or the "
        "administrator maps the course in lti/platforms.json."
    )


def role_of(claims: Mapping) -> str:
    """``instructor`` for the course's instructors, content developers and administrators
    (and the platform's administrators), else ``learner``. Course roles decide when there
    are any (Canvas sends institution roles even where the user is a student)."""
    roles = [str(r) for r in claims.get(ROLES) or ()]
    course_roles = [r for r in roles if r.startswith(_MEMBERSHIP)]
    if course_roles:
        return INSTRUCTOR if any(r[len(_MEMBERSHIP) :] in _STAFF for r in course_roles) else LEARNER
    return INSTRUCTOR if any(r in (_INSTITUTION, _SYSTEM) for r in roles) else LEARNER
