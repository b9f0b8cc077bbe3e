"""How the chat page authenticates when ``QA_API_KEY`` is set: a signed session cookie.

A person opens ``/session`` and types the key (or follows a key-protected link
``/session?key=KEY``); the server answers with a cookie ``qa_session`` and sends them to the
chat page. The cookie holds an expiry time and a random nonce, signed with HMAC-SHA256 under a
secret derived from the API key, so changing the key signs everyone out. It is ``HttpOnly``
(scripts cannot read it), ``SameSite=Lax`` (not sent with cross-site requests) and ``Secure``
when the request came over HTTPS.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import re
import secrets
import time
from importlib import resources

from qa.index.collections import DEFAULT_TITLE

__all__ = ["COOKIE", "DEFAULT_TITLE", "SessionSigner", "after_sign_in", "login_page", "wanted_collection"]

COOKIE = "qa_session"
SESSION_SECONDS = 12 * 3600
_COLLECTION = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$")


class SessionSigner:
    """Makes and checks session cookie values for one API key."""

    def __init__(self, api_key: bytes, *, lifetime: int = SESSION_SECONDS, clock=time.time) -> None:
        self._secret = hmac.new(api_key, b"qa-session-cookie-v1", hashlib.sha256).digest()
        self.lifetime = lifetime
        self.clock = clock

    def _sign(self, payload: str) -> str:
        return hmac.new(self._secret, payload.encode("ascii"), hashlib.sha256).hexdigest()

    def issue(self) -> str:
        """A fresh cookie value, valid for ``lifetime`` seconds."""
        payload = f"v1.{int(self.clock()) + self.lifetime}.{secrets.token_hex(8)}"
        return f"{payload}.{self._sign(payload)}"

    def valid(self, value: str) -> bool:
        """Whether ``value`` was issued by this signer and has not expired."""
        payload, _, signature = value.rpartition(".")
        parts = payload.split(".")
        if len(parts) != 3 or parts[0] != "v1" or not parts[1].isdigit():
            return False
        try:
            payload.encode("ascii")
        except UnicodeEncodeError:
            return False
        if not hmac.compare_digest(signature.encode("ascii", "replace"), self._sign(payload).encode()):
            return False
        return int(parts[1]) > self.clock()

    def set_cookie_header(self, *, secure: bool) -> bytes:
        """A ``Set-Cookie`` header value carrying a fresh session."""
        flags = f"Path=/; Max-Age={self.lifetime}; HttpOnly; SameSite=Lax" + ("; Secure" if secure else "")
        return f"{COOKIE}={self.issue()}; {flags}".encode("ascii")


def cookie_value(cookie_header: str) -> str:
    """The ``qa_session`` value in a ``Cookie`` header ('' if absent)."""
    for part in cookie_header.split(";"):
        name, _, value = part.strip().partition("=")
        if name == COOKIE:
            return value
    return ""


def wanted_collection(query: dict[str, list[str]]) -> str:
    """The chat page's ``collection`` in a parsed query, if it is a well-formed name ('' else),
    so that signing in opens the collection the link named."""
    name = (query.get("collection") or [""])[0]
    return name if _COLLECTION.match(name) else ""


def after_sign_in(collection: str) -> bytes:
    """Where a right key goes: the chat page, of ``collection`` when one was asked for."""
    return f"./?collection={collection}".encode() if collection else b"./"


def login_page(message: str = "", collection: str = "", title: str = "") -> bytes:
    """The small form where a person types the key to open the chat page (of ``collection``),
    headed by the course's ``title``."""
    page = (resources.files("qa.web") / "static" / "login.html").read_text(encoding="utf-8")
    page = page.replace("{{TITLE}}", html.escape(title or DEFAULT_TITLE))
    note = f"<p class='error' role='alert'>{html.escape(message)}</p>" if message else ""
    keep = f'<input type="hidden" name="collection" value="{html.escape(collection)}">' if collection else ""
    return page.replace("{{MESSAGE}}", note).replace("{{COLLECTION}}", keep).encode("utf-8")
