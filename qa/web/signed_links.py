"""Links to originals that open without the key: ``/originals/SOURCE?exp=T&sig=S#page=3`` (and
to a document's page, ``/context/SOURCE?start=..&exp=T&sig=S#cited``).

With ``QA_API_KEY`` set, ``/originals/`` needs the key or the chat page's session cookie. A
portal's widget calls the API with the key in a header, but a citation's "original" link opens
in a new tab, which sends neither, so it would answer 401. The API therefore signs the links to
originals in its answers: HMAC-SHA256 of the file's path and an expiry time, under a secret
derived from the key (another label than the session cookie's, so neither passes for the
other; changing the key voids both). A signed link opens that one file until it expires (the
expiry is rounded up to the hour, so the same answer gives the same link for a while). A link in
an answer given to a course key is bound to that key (``ck=COURSE.ID``, signed with the rest), so
revoking the key voids its links at once.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import time
from urllib.parse import parse_qs, unquote

__all__ = ["LINK_SECONDS", "LinkSigner", "bound_key"]

LINK_SECONDS = 12 * 3600
_HOUR = 3600


class LinkSigner:
    """Signs and checks links to originals for one API key."""

    def __init__(self, api_key: bytes, *, lifetime: int = LINK_SECONDS, clock=time.time) -> None:
        self._secret = hmac.new(api_key, b"qa-original-link-v1", hashlib.sha256).digest()
        self.lifetime = lifetime
        self.clock = clock

    def _sign(self, path: str, expires: int, key: str = "") -> str:
        message = f"{expires}\n{path}" + (f"\n{key}" if key else "")
        return hmac.new(self._secret, message.encode("utf-8", "surrogateescape"), hashlib.sha256).hexdigest()

    def sign(self, url: str, *, key: str = "") -> str:
        """``url`` (``/originals/...`` or ``/context/...``, maybe with a query and a
        ``#fragment``) with ``exp`` and ``sig`` added to its query; the signature covers the
        decoded path, as the server sees it (the rest of the query only says where to look).
        ``key``: the course key the link was given to (``COURSE.ID``), added as ``ck`` and
        signed too, so the link opens nothing once that key is revoked (:func:`bound_key`)."""
        address, hash_, fragment = url.partition("#")
        path, _, query = address.partition("?")
        expires = math.ceil((self.clock() + self.lifetime) / _HOUR) * _HOUR
        signed = (
            f"ck={key}&" if key else ""
        ) + f"exp={expires}&sig={self._sign(unquote(path), expires, key)}"
        return f"{path}?{query + '&' if query else ''}{signed}{hash_}{fragment}"

    def valid(self, path: str, query_string: bytes) -> bool:
        """Whether the request's query signs ``path`` (decoded) and has not expired (the course
        key it is bound to, :func:`bound_key`, is for the caller to check)."""
        query = parse_qs(query_string.decode("latin-1"))
        expires, signature = query.get("exp", [""])[0], query.get("sig", [""])[0]
        if not expires.isdigit() or len(expires) > 12 or not signature:
            return False
        expected = self._sign(path, int(expires), bound_key(query_string)).encode()
        if not hmac.compare_digest(signature.encode("ascii", "replace"), expected):
            return False
        return int(expires) > self.clock()


def bound_key(query_string: bytes) -> str:
    """The course key (``COURSE.ID``) a signed link's query is bound to, '' for none."""
    return parse_qs(query_string.decode("latin-1")).get("ck", [""])[0]
