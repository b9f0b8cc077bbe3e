"""The script and style files pages load (the widget, the admin page's), served as UTF-8.

``widget.js`` runs inside other sites' pages: without a charset on its response a browser
decodes it in the host page's encoding, so on a portal page in windows-1252 (or one that
declares none) every "↗" and "…" of the widget showed as "â†—" and "â€¦". The charset is named
on every one of these responses, so the file reads the same on any page.
"""

from __future__ import annotations

from importlib import resources
from typing import Literal

from fastapi.responses import Response

__all__ = ["MEDIA_TYPES", "STATIC", "static_file"]

STATIC = resources.files("qa.web") / "static"
MEDIA_TYPES = {"js": "application/javascript; charset=utf-8", "css": "text/css; charset=utf-8"}


def static_file(name: str, kind: Literal["js", "css"], headers: dict[str, str] | None = None) -> Response:
    """``static/NAME.KIND`` with its media type and charset."""
    text = (STATIC / f"{name}.{kind}").read_text(encoding="utf-8")
    return Response(text, media_type=MEDIA_TYPES[kind], headers=headers)
