"""Without ``qa lti`` (no platforms file), ``/lti/...`` answers a page that says how to set the
tool up, not FastAPI's bare ``{"detail": "Not Found"}``, and launches nothing."""

from __future__ import annotations

from fastapi.testclient import TestClient

from qa.index.build import ensure_index
from tests.test_collections import ROME


def test_lti_pages_say_how_to_set_the_tool_up(project, fake_embedder):
    from qa.retrieval.retriever import Retriever
    from qa.web.server import create_app

    (project.seeds_dir / "rome.md").write_text(ROME, encoding="utf-8")
    default = Retriever(ensure_index(project, fake_embedder).index, fake_embedder, project)
    client = TestClient(create_app(project, default))
    for method, path in [("GET", "/lti/config"), ("GET", "/lti/jwks"), ("POST", "/lti/launch")]:
        res = client.request(method, path)
        assert res.status_code == 404, path
        assert res.headers["content-type"].startswith("text/html")
        assert "qa lti --url" in res.text and "restart the server" in res.text
    assert "/lti/{rest}" not in client.get("/openapi.json").json()["paths"]
    assert not project.lti_dir.exists()
