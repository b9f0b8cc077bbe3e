"""The HTTP server stack ``qa serve`` runs on: uvicorn with its C parser and libuv loop."""

from __future__ import annotations

import sys

import pytest

from qa.config import Settings
from qa.web.server import uvicorn_options


@pytest.mark.skipif(sys.platform == "win32", reason="uvloop does not run on Windows")
def test_uvicorn_picks_the_c_http_parser_and_uvloop():
    """httptools and uvloop are dependencies because they take CPU off every request on the
    event loop; uvicorn chooses them by itself ("auto"), so a missing one would go unnoticed."""
    from uvicorn.config import Config

    config = Config(lambda scope, receive, send: None, **uvicorn_options(Settings()))
    config.load()
    assert config.http_protocol_class.__module__ == "uvicorn.protocols.http.httptools_impl"
    assert config.get_loop_factory().__module__ == "uvloop"
