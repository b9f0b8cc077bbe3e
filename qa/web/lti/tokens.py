"""Session tokens: what a verified launch hands the chat page instead of a cookie.

Browsers block third-party cookies, and an LMS shows the tool in an iframe of another site,
so a cookie set by the tool is never sent back. After a launch the tool puts a signed token
in the chat page's URL path (``/lti/chat/TOKEN/``); the page's script calls the API under the
same path. The token names the collection and the role, expires after
``Settings.lti_session_minutes``, and is signed with HMAC-SHA256 under the tool's session
secret (:mod:`qa.web.lti.keys`), so it cannot be altered to reach another collection or role.
The page sends ``Referrer-Policy: same-origin``, so the token never leaves in a Referer.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass

__all__ = ["LEARNER", "INSTRUCTOR", "SessionToken", "TokenError", "TokenSigner"]

LEARNER = "learner"
INSTRUCTOR = "instructor"
_VERSION = "t1"


class TokenError(Exception):
    """A session token is malformed, altered or expired (the message says which, for the page)."""


@dataclass(frozen=True)
class SessionToken:
    """What a launch allows: one collection, as a learner or an instructor, until ``expires``."""

    collection: str
    role: str
    expires: int
    course: str = ""
    """A short hash of the platform and course the launch came from (for the logs)."""
    k: int = 0
    """Passages per answer the link asked for (0: the server's default)."""
    title: str = ""

    @property
    def instructor(self) -> bool:
        return self.role == INSTRUCTOR


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class TokenSigner:
    """Makes and checks session tokens under one secret."""

    def __init__(self, secret: bytes, *, clock=time.time) -> None:
        self._key = hmac.new(secret, b"qa-lti-session-v1", hashlib.sha256).digest()
        self.clock = clock

    def _mac(self, payload: str) -> str:
        return _b64(hmac.new(self._key, payload.encode("ascii"), hashlib.sha256).digest())

    def issue(self, token: SessionToken) -> str:
        body = {"c": token.collection, "r": token.role, "x": token.expires, "n": secrets.token_hex(6)}
        body.update({k: v for k, v in (("o", token.course), ("k", token.k), ("t", token.title)) if v})
        payload = f"{_VERSION}.{_b64(json.dumps(body, separators=(',', ':')).encode())}"
        return f"{payload}.{self._mac(payload)}"

    def new(self, collection: str, role: str, *, minutes: int, **extra) -> str:
        return self.issue(SessionToken(collection, role, int(self.clock()) + minutes * 60, **extra))

    def verify(self, text: str) -> SessionToken:
        """The token's content; TokenError when it was not made here, was altered or expired."""
        payload, _, mac = (text or "").rpartition(".")
        if not payload.startswith(_VERSION + ".") or len(text) > 2000:
            raise TokenError("this link is not a session of the course assistant")
        try:
            payload.encode("ascii")
            mac.encode("ascii")
        except UnicodeEncodeError:
            raise TokenError("this link is not a session of the course assistant") from None
        if not hmac.compare_digest(mac.encode(), self._mac(payload).encode()):
            raise TokenError("this session link was altered or made by another server")
        try:
            body = json.loads(_unb64(payload.split(".", 1)[1]))
            token = SessionToken(
                collection=str(body["c"]),
                role=str(body["r"]),
                expires=int(body["x"]),
                course=str(body.get("o", "")),
                k=int(body.get("k", 0)),
                title=str(body.get("t", "")),
            )
        except (ValueError, KeyError, TypeError):
            raise TokenError("this link is not a session of the course assistant") from None
        if token.expires < self.clock():
            raise TokenError("this session has expired; open the assistant again from your course")
        return token
