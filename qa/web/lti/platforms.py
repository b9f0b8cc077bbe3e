"""The LMSs this tool trusts, from ``LTI_DIR/platforms.json`` (``Settings.lti_dir``).

One entry per registration an LMS administrator made for this tool::

    {"platforms": [{
        "name": "Moodle at example.edu",
        "issuer": "https://moodle.example.edu",
        "client_id": "mJ0x0Gyc7ZmHKkq",
        "deployment_ids": ["3"],
        "auth_login_url": "https://moodle.example.edu/mod/lti/auth.php",
        "auth_token_url": "https://moodle.example.edu/mod/lti/token.php",
        "key_set_url": "https://moodle.example.edu/mod/lti/certs.php",
        "frame_origins": ["https://moodle.example.edu"],
        "collections": ["biology", "chemistry"],
        "courses": {"42": "biology"},
        "default_collection": ""
    }]}

``courses`` maps a course (the launch's ``context.id``) to a collection and wins over what a
link says; ``collections`` limits what instructors may pick when adding the tool (empty: any);
``default_collection`` answers courses with neither; ``frame_origins`` (default: the issuer's
and the login URL's origins) may frame the chat, e.g. Canvas's ``https://school.instructure.com``.
The file is read again when it changes, so adding a platform needs no restart.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from qa.config import Settings
from qa.errors import ConfigError

__all__ = ["PLATFORMS_FILE", "Platform", "Platforms", "load_platforms", "platforms_path"]

PLATFORMS_FILE = "platforms.json"
TEMPLATE = {"platforms": []}


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme in ("http", "https") and parts.netloc else ""


@dataclass(frozen=True)
class Platform:
    """One registration of this tool in an LMS (see the module docstring for the fields)."""

    issuer: str
    client_id: str
    deployment_ids: tuple[str, ...]
    auth_login_url: str
    auth_token_url: str
    key_set_url: str = ""
    key_set: dict | None = field(default=None, hash=False, compare=False)
    name: str = ""
    frame_origins: tuple[str, ...] = ()
    collections: tuple[str, ...] = ()
    courses: tuple[tuple[str, str], ...] = ()
    default_collection: str = ""

    @classmethod
    def from_dict(cls, data: object, where: str) -> Platform:
        if not isinstance(data, dict):
            raise ConfigError(f"{where}: each platform is an object with issuer, client_id, ...")
        known = {f for f in cls.__dataclass_fields__}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(
                f"{where}: unknown field(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
            )
        missing = [
            k
            for k in ("issuer", "client_id", "deployment_ids", "auth_login_url", "auth_token_url")
            if not data.get(k)
        ]
        if not data.get("key_set_url") and not data.get("key_set"):
            missing.append("key_set_url")
        if missing:
            raise ConfigError(
                f"{where}: missing {', '.join(missing)} (the LMS shows them when the tool is registered)"
            )
        for key in ("auth_login_url", "auth_token_url", "key_set_url"):
            if data.get(key) and not _origin(str(data[key])):
                raise ConfigError(f"{where}: {key} {data[key]!r} is not an http(s) URL")
        ids = data["deployment_ids"]
        if not isinstance(ids, list) or not all(isinstance(i, (str, int)) for i in ids):
            raise ConfigError(f'{where}: deployment_ids must be a list, e.g. ["1"]')
        courses = data.get("courses") or {}
        if not isinstance(courses, dict):
            raise ConfigError(f"{where}: courses maps a course id (context.id) to a collection name")
        frames = tuple(str(o).rstrip("/") for o in data.get("frame_origins") or ())
        defaults = tuple(o for o in (_origin(str(data["issuer"])), _origin(str(data["auth_login_url"]))) if o)
        return cls(
            issuer=str(data["issuer"]),
            client_id=str(data["client_id"]),
            deployment_ids=tuple(str(i) for i in ids),
            auth_login_url=str(data["auth_login_url"]),
            auth_token_url=str(data["auth_token_url"]),
            key_set_url=str(data.get("key_set_url") or ""),
            key_set=data.get("key_set"),
            name=str(data.get("name") or data["issuer"]),
            frame_origins=tuple(dict.fromkeys(frames or defaults)),
            collections=tuple(str(c) for c in data.get("collections") or ()),
            courses=tuple((str(k), str(v)) for k, v in courses.items()),
            default_collection=str(data.get("default_collection") or ""),
        )

    def course_collection(self, context_id: str) -> str:
        """The collection the settings file maps this course to ('' if none)."""
        return dict(self.courses).get(context_id, "")


@dataclass(frozen=True)
class Platforms:
    """Every registered platform, looked up by issuer and client id."""

    platforms: tuple[Platform, ...] = ()

    def find(self, issuer: str, client_id: str | None = None) -> Platform | None:
        """The registration for ``issuer`` (and ``client_id``; without it, the issuer's only one)."""
        found = [p for p in self.platforms if p.issuer == issuer]
        if client_id:
            found = [p for p in found if p.client_id == client_id]
        return found[0] if len(found) == 1 or (found and client_id) else None

    def frame_origins(self) -> tuple[str, ...]:
        """Origins that may frame the tool's pages (every platform's)."""
        return tuple(dict.fromkeys(o for p in self.platforms for o in p.frame_origins))

    def tool_conf_data(self) -> dict:
        """The registrations in pylti1p3's ``ToolConfDict`` shape (one issuer, many clients)."""
        data: dict[str, list] = {}
        for p in self.platforms:
            data.setdefault(p.issuer, []).append(
                {
                    "default": False,
                    "client_id": p.client_id,
                    "auth_login_url": p.auth_login_url,
                    "auth_token_url": p.auth_token_url,
                    "key_set_url": p.key_set_url or None,
                    "key_set": p.key_set,
                    "deployment_ids": list(p.deployment_ids),
                }
            )
        return data


def platforms_path(settings: Settings) -> Path:
    return Path(settings.lti_dir) / PLATFORMS_FILE


def create_platforms_file(settings: Settings) -> Path:
    """Write an empty platforms file if there is none (``qa lti`` does, on first use)."""
    path = platforms_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        path.write_text(json.dumps(TEMPLATE, indent=2) + "\n", encoding="utf-8")
    return path


_cache: dict[Path, tuple[float, int, Platforms]] = {}
_cache_lock = threading.Lock()


def load_platforms(settings: Settings) -> Platforms:
    """The platforms file, parsed (read again only when it changed). ConfigError says which
    entry is wrong and how; a missing file is no platform at all."""
    path = platforms_path(settings)
    try:
        stat = path.stat()
    except FileNotFoundError:
        return Platforms()
    with _cache_lock:
        cached = _cache.get(path)
        if cached and cached[:2] == (stat.st_mtime, stat.st_size):
            return cached[2]
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(
            f"{path} is not readable JSON ({exc}); see README, 'Add the assistant to an LMS'"
        ) from None
    entries = data.get("platforms") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise ConfigError(f'{path} must hold {{"platforms": [...]}}')
    platforms = Platforms(
        tuple(Platform.from_dict(e, f"{path.name} platform {i + 1}") for i, e in enumerate(entries))
    )
    seen = set()
    for p in platforms.platforms:
        if (p.issuer, p.client_id) in seen:
            raise ConfigError(f"{path.name}: {p.issuer} client {p.client_id} is registered twice")
        seen.add((p.issuer, p.client_id))
    with _cache_lock:
        _cache[path] = (stat.st_mtime, stat.st_size, platforms)
    return platforms
