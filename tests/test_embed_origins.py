"""Per-collection allowed origins: ``/embed?collection=X`` may be framed by the server's
allowlist plus X's own origins and by no one else, and X's origins may call the API for X only."""

from __future__ import annotations

import pytest

from qa.index.collections import (
    CollectionConfig,
    collection_settings,
    create_collection,
    own_origins,
    save_document,
    update_config,
)
from tests.test_admin import make_app
from tests.test_collections import CELLS, ROME, VOLCANO

GLOBAL = "https://lms.example"
BIOLOGY_PORTAL = "https://bio.example"
GEOLOGY_PORTAL = "https://geo.example:8443"


@pytest.fixture
def two_portals(project, fake_embedder):
    from qa.index.build import ensure_index

    (project.seeds_dir / "rome.md").write_text(ROME, encoding="utf-8")
    create_collection(project, "biology", CollectionConfig(allowed_origins=(BIOLOGY_PORTAL,)))
    save_document(project, "biology", "cells.md", CELLS.encode())
    create_collection(project, "geology", CollectionConfig(allowed_origins=(GEOLOGY_PORTAL,)))
    save_document(project, "geology", "volcano.md", VOLCANO.encode())
    for name in ("biology", "geology"):
        ensure_index(collection_settings(project, name), fake_embedder)
    client, _ = make_app(project, fake_embedder, allowed_origins=(GLOBAL,))
    return project, client


def frame_ancestors(res) -> list[str]:
    policy = res.headers["content-security-policy"]
    assert policy.startswith("frame-ancestors ")
    return policy.split()[1:]


def test_embed_of_a_collection_is_frameable_by_the_allowlist_and_its_own_origins_only(two_portals):
    _, client = two_portals
    biology = client.get("/embed?collection=biology")
    assert biology.status_code == 200 and 'data-collection="biology"' in biology.text
    assert frame_ancestors(biology) == ["'self'", BIOLOGY_PORTAL, GLOBAL]
    assert frame_ancestors(client.get("/embed?collection=geology")) == ["'self'", GEOLOGY_PORTAL, GLOBAL]


def test_other_pages_and_unknown_collections_keep_the_global_allowlist(two_portals):
    _, client = two_portals
    for path in ("/embed", "/embed?collection=nope", "/embed?collection=Bad%20Name", "/api/v1/health"):
        assert frame_ancestors(client.get(path)) == ["'self'", GLOBAL], path
    # the chat page of a collection is not the embed page: its portal may not frame it
    assert frame_ancestors(client.get("/?collection=biology")) == ["'self'", GLOBAL]
    # a collection's origin named twice in the query does not widen another's page
    both = client.get("/embed?collection=geology&collection=biology")
    assert BIOLOGY_PORTAL not in frame_ancestors(both)


def test_a_changed_settings_file_changes_who_may_frame_without_a_restart(two_portals):
    project, client = two_portals
    update_config(project, "biology", CollectionConfig(allowed_origins=()))
    assert frame_ancestors(client.get("/embed?collection=biology")) == ["'self'", GLOBAL]
    new = "https://new.example"
    update_config(project, "biology", CollectionConfig(allowed_origins=(new,)))
    assert frame_ancestors(client.get("/embed?collection=biology")) == ["'self'", GLOBAL, new]
    assert own_origins(project, "biology") == {"https://new.example"}
    assert own_origins(project, "nope") == frozenset() and own_origins(project, "../x") == frozenset()


def test_a_collection_portal_calls_the_api_for_that_collection_only(two_portals):
    _, client = two_portals
    preflight = client.options(
        "/api/v1/ask",
        headers={"Origin": BIOLOGY_PORTAL, "Access-Control-Request-Method": "POST"},
    )
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == BIOLOGY_PORTAL
    ask = {"question": "what do ribosomes build", "collection": "biology"}
    res = client.post("/api/v1/ask", json=ask, headers={"Origin": BIOLOGY_PORTAL})
    assert res.status_code == 200 and res.headers["access-control-allow-origin"] == BIOLOGY_PORTAL
    geology = {"question": "what is magma", "collection": "geology"}
    refused = client.post("/api/v1/ask", json=geology, headers={"Origin": BIOLOGY_PORTAL})
    assert refused.status_code == 403 and "this collection" in refused.json()["error"]
    assert client.post("/api/v1/ask", json=geology, headers={"Origin": GEOLOGY_PORTAL}).status_code == 200
    assert client.post("/api/v1/ask", json=geology, headers={"Origin": GLOBAL}).status_code == 200
    stranger = client.post("/api/v1/ask", json=ask, headers={"Origin": "https://evil.example"})
    assert stranger.status_code == 403
    assert "access-control-allow-origin" not in stranger.headers


def test_a_malformed_course_name_opens_the_embed_page_with_the_name_escaped(two_portals):
    """/embed?collection=Bio-101 answered a bare JSON 422 inside the portal's frame; the page now
    opens (its widget says the course is not on the server) and the name is written as text."""
    _, client = two_portals
    typo = client.get("/embed?collection=Bio-101")
    assert typo.status_code == 200 and 'data-collection="Bio-101"' in typo.text
    made_up = client.get('/embed?collection="><script>alert(1)</script>')
    assert made_up.status_code == 200 and "<script>alert" not in made_up.text
    assert 'data-collection="&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"' in made_up.text
    assert client.get("/embed?collection=" + "a" * 65).status_code == 422
