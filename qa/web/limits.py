"""Per-client limits for the guard: a sliding-window rate limiter, the client's address (with
``X-Forwarded-For`` counted only from trusted proxies), and request bodies read with a byte cap.
"""

from __future__ import annotations

import ipaddress
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence

__all__ = ["BodyTooLarge", "ClientDisconnected", "RateLimiter", "client_address", "read_body"]

Receive = Callable[[], Awaitable[dict]]


class RateLimiter:
    """At most ``per_minute`` events per key in any sliding 60-second window; thread-safe.

    Memory is bounded: at most ``max_keys`` clients are tracked (idle ones are forgotten first,
    then the oldest), each with at most ``per_minute`` timestamps.
    """

    def __init__(
        self, per_minute: int, *, clock: Callable[[], float] = time.monotonic, max_keys: int = 10_000
    ) -> None:
        self.per_minute = per_minute
        self.clock = clock
        self.max_keys = max_keys
        self._events: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def check(self, key: str) -> float:
        """0 if the event is allowed (and counted), else seconds to wait before retrying."""
        now = self.clock()
        with self._lock:
            events = self._expire(key, now)
            if len(events) >= self.per_minute:
                return max(events[0] + 60 - now, 0.001)
            events.append(now)
            self._forget_idle(now)
            return 0.0

    def peek(self, key: str) -> float:
        """Like :meth:`check` but counts nothing: 0 if an event would be allowed now."""
        now = self.clock()
        with self._lock:
            events = self._events.get(key)
            if events is None:
                return 0.0
            events = self._expire(key, now)
            return max(events[0] + 60 - now, 0.001) if len(events) >= self.per_minute else 0.0

    def _expire(self, key: str, now: float) -> deque[float]:
        events = self._events.setdefault(key, deque())
        while events and events[0] <= now - 60:
            events.popleft()
        return events

    def _forget_idle(self, now: float) -> None:
        if len(self._events) <= self.max_keys:
            return
        for other in [k for k, v in self._events.items() if not v or v[-1] <= now - 60]:
            del self._events[other]
        while len(self._events) > self.max_keys:  # all busy: drop the oldest-inserted clients
            del self._events[next(iter(self._events))]


def _networks(trusted: Sequence[str]) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [ipaddress.ip_network(t, strict=False) for t in trusted]


def _is_trusted(address: str, networks) -> bool:
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return False
    return any(ip in net for net in networks)


def client_address(peer: str, forwarded_for: str | None, trusted: Sequence[str]) -> str:
    """Who the client is: the peer address, unless the peer is a trusted proxy; then the
    rightmost ``X-Forwarded-For`` entry that is not itself a trusted proxy.

    With no trusted proxies (the default) ``X-Forwarded-For`` is ignored entirely, so a client
    cannot pick its own identity to slip past the per-client limits.
    """
    if not trusted or not forwarded_for:
        return peer
    networks = _networks(trusted)
    if not _is_trusted(peer, networks):
        return peer
    hops = [h.strip() for h in forwarded_for.split(",") if h.strip()]
    for hop in reversed(hops):
        if not _is_trusted(hop, networks):
            return hop
    return hops[0] if hops else peer


class BodyTooLarge(Exception):
    """The request body went past the limit while it arrived."""


class ClientDisconnected(Exception):
    """The client went away before sending its whole body."""


async def read_body(receive: Receive, limit: int) -> bytes:
    """The whole request body, counted as it arrives; raises :class:`BodyTooLarge` as soon as
    more than ``limit`` bytes came (whatever ``Content-Length`` claimed), so at most ``limit``
    bytes are ever held."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnected
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)
