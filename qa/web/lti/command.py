"""``qa lti``: make the tool's keys and platforms file if missing, check the file, and print
the configuration an LMS administrator pastes in (as text for Moodle and Canvas, or JSON)."""

from __future__ import annotations

import json

from qa.config import Settings
from qa.web.lti.configuration import ToolUrls, canvas_json, config_json, format_text
from qa.web.lti.keys import load_keys
from qa.web.lti.platforms import create_platforms_file, load_platforms, platforms_path

__all__ = ["run_lti"]


def run_lti(settings: Settings, *, as_json: bool = False) -> str:
    """Set up ``settings.lti_dir`` (first run) and return what to print. ConfigError when the
    platforms file is wrong (the message names the entry and the field)."""
    first = not platforms_path(settings).exists()
    path = create_platforms_file(settings)
    keys = load_keys(settings.lti_dir)
    platforms = load_platforms(settings)
    base = settings.public_url or f"http://{settings.host}:{settings.port}"
    urls = ToolUrls(base)
    if as_json:
        data = {
            **config_json(urls),
            "canvas": canvas_json(urls),
            "jwks": keys.jwks(),
            "platforms_file": str(path),
        }
        return json.dumps(data, indent=2)
    text = format_text(urls, platforms_file=str(path), platforms=len(platforms.platforms))
    if first:  # the server reads lti/ when it starts (README, step 1)
        text += (
            f"\n\nnote: {settings.lti_dir} was made now; a server already running offers the tool "
            "only once restarted (its /lti/... pages say it is not set up until then)"
        )
    if not settings.public_url:
        text += (
            "\n\nnote: these URLs use this machine's address; set QA_PUBLIC_URL (or --url) to the HTTPS "
            "address the LMS reaches, e.g. https://qa.example.edu"
        )
    return text
