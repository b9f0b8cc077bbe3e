"""Links to originals that open without the key: ``/originals/SOURCE?exp=T&sig=S#page=3`` (and
to a document's page, ``/context/SOURCE?start=..&exp=T&sig=S#cited``).

With ``QA_API_KEY`` set, ``/originals/`` needs the key or the chat page's session cookie. A
portal's widget calls the API with the key in a header, but a citation's "original" link opens
in a new tab, which sends neither, so it would answer 401. The API therefore signs the links to
originals in its answers: HMAC-SHA256 of the file's path and an expiry time, under a secret
derived from the key (another label than the session cookie's, so neither passes for the
other; changing the key voids both). A signed link opens that one file until it expires (the
expiry is rounded up to the hour, so the same answer gives the same link for a while).
"""

from __future__ import annotations

import hashlib
import hmac
import math
import time
from urllib.parse import parse_qs, unquote

__all__ = ["LINK_SECONDS", "LinkSigner"]

LINK_SECONDS = 12 * 3600
_HOUR = 3600


class LinkSigner:
    """Signs and checks links to originals for one API key."""

    def __init__(self, api_key: bytes, *, lifetime: int = LINK_SECONDS, clock=time.time) -> None:
        self._secret = hmac.new(api_key, b"qa-original-link-v1", hashlib.sha256).digest()
        self.lifetime = lifetime
        self.clock = clock

    def _sign(self, path: str, expires: int) -> str:
        message = f"{expires}\n{path}".encode("utf-8", "surrogateescape")
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()

    def sign(self, url: str) -> str:
        """``url`` (``/originals/...`` or ``/context/...``, maybe with a query and a
        ``#fragment``) with ``exp`` and ``sig`` added to its query; the signature covers the
        decoded path, as the server sees it (the rest of the query only says where to look)."""
        address, hash_, fragment = url.partition("#")
        path, _, query = address.partition("?")
        expires = math.ceil((self.clock() + self.lifetime) / _HOUR) * _HOUR
        signed = f"exp={expires}&sig={self._sign(unquote(path), expires)}"
        return f"{path}?{query + '&' if query else ''}{signed}{hash_}{fragment}"

    def valid(self, path: str, query_string: bytes) -> bool:
        """Whether the request's query signs ``path`` (decoded) and has not expired."""
        query = parse_qs(query_string.decode("latin-1"))
        expires, signature = query.get("exp", [""])[0], query.get("sig", [""])[0]
        if not expires.isdigit() or len(expires) > 12 or not signature:
            return False
        expected = self._sign(path, int(expires)).encode()
        if not hmac.compare_digest(signature.encode("ascii", "replace"), expected):
            return False
        return int(expires) > self.clock()
