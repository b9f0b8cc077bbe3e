"""Server-side storage for the OIDC state, the nonces and the launch data: no cookies.

pylti1p3 keeps the login's ``state`` in a cookie and checks it at the launch. Inside an LMS
iframe with third-party cookies blocked (Chrome, Safari and Firefox's defaults now) that
cookie never comes back, so the launch would fail. Here the state, the nonce and the launch
data live in a small SQLite file beside the platforms file, shared by every worker process:
the login stores them, the launch *takes* them (each can be used once, and only within a few
minutes), so a replayed ``id_token`` finds its nonce gone. :class:`LaunchStore` is the cache
behind pylti1p3's ``CacheDataStorage`` ("launch data storage"), and :class:`StateCookies` is
pylti1p3's cookie service pointed at that store instead of the browser.

What a cookie would add, binding the login to one browser, is lost in an iframe anyway; the
state here still proves the launch answers a login this tool started minutes ago, once. (The
LTI "client-side postMessage storage" that some LMSs offer for this is not used.)
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path

from pylti1p3.cookie import CookieService
from pylti1p3.launch_data_storage.cache import CacheDataStorage

__all__ = ["LaunchStore", "ServerLaunchStorage", "StateCookies"]

STORE_FILE = "launches.sqlite3"
STATE_SECONDS = 5 * 60


class LaunchStore:
    """A key → JSON value store with expiry, safe across threads and processes; ``take``
    reads and deletes a value in one transaction (a value taken once is gone for everyone)."""

    def __init__(self, folder: Path, *, clock=time.time) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / STORE_FILE
        self.clock = clock
        self._local = threading.local()
        with self._db() as db:
            db.execute("CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT, expires REAL)")

    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=10, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            self._local.db = db
        return db

    def set(self, key: str, value: object, exp: int | None = None) -> None:
        expires = self.clock() + (exp or 86400)
        db = self._db()
        db.execute("INSERT OR REPLACE INTO kv VALUES (?, ?, ?)", (key, json.dumps(value), expires))
        if hash(key) % 50 == 0:  # now and then, forget what has expired
            db.execute("DELETE FROM kv WHERE expires < ?", (self.clock(),))

    def get(self, key: str) -> object:
        row = (
            self._db()
            .execute("SELECT value FROM kv WHERE key = ? AND expires >= ?", (key, self.clock()))
            .fetchone()
        )
        return json.loads(row[0]) if row else None

    def take(self, key: str) -> object:
        """The value, deleted in the same step (None if absent, expired or taken already)."""
        db = self._db()
        db.execute("BEGIN IMMEDIATE")
        try:
            row = db.execute("SELECT value, expires FROM kv WHERE key = ?", (key,)).fetchone()
            db.execute("DELETE FROM kv WHERE key = ?", (key,))
        finally:
            db.execute("COMMIT")
        return json.loads(row[0]) if row and row[1] >= self.clock() else None


class ServerLaunchStorage(CacheDataStorage):
    """pylti1p3's launch data storage over a :class:`LaunchStore`, with no session cookie."""

    def __init__(self, store: LaunchStore) -> None:
        super().__init__()
        self._cache = store

    def get_session_cookie_name(self) -> str | None:
        return None  # nothing is keyed by a browser cookie: it would not come back in an iframe

    def take_value(self, key: str) -> object:
        return self._cache.take(self._prepare_key(key))


class StateCookies(CookieService):
    """pylti1p3's cookie service, kept on the server: ``set_cookie`` stores the login's state
    for five minutes and ``get_cookie`` hands it out once."""

    def __init__(self, store: LaunchStore) -> None:
        self.store = store

    def _key(self, name: str) -> str:
        return f"{self._cookie_prefix}-cookie-{name}"

    def set_cookie(self, name: str, value: str | int, exp: int | None = 3600) -> None:
        self.store.set(self._key(name), value, min(exp or STATE_SECONDS, STATE_SECONDS))

    def get_cookie(self, name: str) -> str | None:
        value = self.store.take(self._key(name))
        return None if value is None else str(value)
