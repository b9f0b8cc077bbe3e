"""A light HTTP/1.1 load client on asyncio: keep-alive connections from chosen local addresses.

A load test on the same 2-core machine as the server must not spend a core of its own on
building requests: one thread client per connection with ``httpx`` costs about as much CPU per
request as the server's routing does. This one writes a fixed request and reads the response
with asyncio streams (status line, headers, ``Content-Length`` body), nothing more.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit


@dataclass
class Tally:
    """What one connection saw: seconds per request, error descriptions, workers that answered."""

    times: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    workers: set[str] = field(default_factory=set)

    def add(self, other: Tally) -> None:
        self.times += other.times
        self.errors += other.errors
        self.workers |= other.workers


def post_json(path: str, host: str, body: dict) -> bytes:
    """The bytes of one keep-alive ``POST`` of ``body`` as JSON."""
    data = json.dumps(body).encode()
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(data)}\r\nConnection: keep-alive\r\n\r\n"
    )
    return head.encode() + data


async def _response(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return status, headers, body


async def connection(url: str, local_address: str, requests: list[bytes], timeout: float = 120) -> Tally:
    """Send ``requests`` one after another on one connection from ``local_address``; reconnect
    after an error. Any status but 200 is an error."""
    parts = urlsplit(url)
    tally = Tally()
    stream = None
    for request in requests:
        start = time.perf_counter()
        try:
            if stream is None:
                stream = await asyncio.open_connection(
                    parts.hostname, parts.port, local_addr=(local_address, 0)
                )
            reader, writer = stream
            writer.write(request)
            status, headers, body = await asyncio.wait_for(_response(reader), timeout)
            tally.workers.add(headers.get("x-qa-worker", "-"))
            if status != 200:
                tally.errors.append(f"{status} {body[:100]!r}")
            if headers.get("connection", "").lower() == "close":
                writer.close()
                stream = None
        except (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError, ValueError) as exc:
            tally.errors.append(type(exc).__name__)
            stream = None
        tally.times.append(time.perf_counter() - start)
    if stream is not None:
        stream[1].close()
    return tally


async def _run_all(url: str, plans: list[tuple[str, list[bytes]]]) -> Tally:
    total = Tally()
    for tally in await asyncio.gather(*(connection(url, address, reqs) for address, reqs in plans)):
        total.add(tally)
    return total


def run_connections(url: str, plans: list[tuple[str, list[bytes]]]) -> Tally:
    """Run one connection per ``(local address, requests)`` at once; everything they saw."""
    return asyncio.run(_run_all(url, plans))
