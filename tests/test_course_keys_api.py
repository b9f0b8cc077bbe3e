"""Course keys through HTTP: the server key opens every course, a course key its own course only
(the API, sources, originals and document pages), a revoked or unknown key nothing; keys are
made, listed and revoked through the admin API, follow the course (deleted, re-created,
renamed) and count on every replica at once."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest

from qa.index.collections import CollectionConfig, create_collection, update_config
from tests.test_admin import LEARNER, PORTAL, admin, cited, courses, make_app  # noqa: F401  (fixture)

OTHER = "this key is for another course"


def bearer(key: str) -> dict:
    return {"Authorization": f"Bearer {key}"}


def new_key(client, course: str, label: str = "Moodle prod") -> str:
    res = client.post(f"/api/v1/admin/collections/{course}/keys", json={"label": label}, headers=admin())
    assert res.status_code == 201, res.text
    return res.json()["key"]


@pytest.fixture
def keyed(courses, fake_embedder):  # noqa: F811
    """A server with a server key (and the admin key), and a course key for biology."""
    client, _ = make_app(courses, fake_embedder, api_key=LEARNER)
    return client, new_key(client, "biology"), courses, fake_embedder


def ask(client, key: str, question: str, collection: str | None = None):
    body = {"question": question, **({"collection": collection} if collection else {})}
    return client.post("/api/v1/ask", json=body, headers=bearer(key))


def test_the_server_key_opens_every_course_as_before(keyed):
    client, _, _, _ = keyed
    assert cited(ask(client, LEARNER, "who crossed the rubicon").json()) == {"seeds/rome.md"}
    bio = ask(client, LEARNER, "what do ribosomes build", "biology")
    assert cited(bio.json()) == {"seeds/biology/cells.md"}


def test_a_course_key_asks_its_own_course_and_by_default(keyed):
    client, key, _, _ = keyed
    named = ask(client, key, "what do ribosomes build", "biology")
    unnamed = ask(client, key, "what do ribosomes build")  # no collection: the key's course
    assert named.status_code == unnamed.status_code == 200
    assert cited(named.json()) == cited(unnamed.json()) == {"seeds/biology/cells.md"}


@pytest.mark.parametrize("collection", ["default", "physics"])
def test_a_course_key_for_another_course_is_a_403_naming_no_course(keyed, collection):
    client, key, _, _ = keyed
    res = ask(client, key, "who crossed the rubicon", collection)
    assert res.status_code == 403 and res.json() == {"error": OTHER}
    res = client.get(
        f"/api/v1/sources/seeds/rome.md?start=0&end=5&collection={collection}", headers=bearer(key)
    )
    assert res.status_code == 403 and res.json() == {"error": OTHER}


def test_a_course_key_reads_its_own_sources_and_no_others(keyed):
    client, key, _, _ = keyed
    passage = ask(client, key, "what do ribosomes build").json()["passages"][0]
    context = client.get(passage["context_url"], headers=bearer(key))
    assert context.status_code == 200 and context.json()["source"] == "seeds/biology/cells.md"
    # without ?collection= the key's course is meant
    unnamed = client.get("/api/v1/sources/seeds/biology/cells.md?start=0&end=10", headers=bearer(key))
    assert unnamed.status_code == 200
    # another course's source is not in the key's course
    assert client.get("/api/v1/sources/seeds/rome.md?start=0&end=10", headers=bearer(key)).status_code == 404


def test_a_course_key_opens_its_courses_originals_and_pages_only(keyed):
    client, key, _, _ = keyed
    for prefix in ("/originals/", "/context/"):
        own = client.get(prefix + "seeds/biology/cells.md", headers=bearer(key))
        assert own.status_code == 200, (prefix, own.text)
        other = client.get(prefix + "seeds/rome.md", headers={**bearer(key), "Accept": "application/json"})
        assert other.status_code == 403 and other.json() == {"error": OTHER}
        missing = client.get(
            prefix + "seeds/biology/none.md", headers={**bearer(key), "Accept": "application/json"}
        )
        assert missing.status_code == 404
        # the server key still opens every course's documents
        assert client.get(prefix + "seeds/rome.md", headers=bearer(LEARNER)).status_code == 200


def test_signed_links_of_a_course_keys_answer_open_that_file_only(keyed):
    client, key, _, _ = keyed
    citation = ask(client, key, "what do ribosomes build").json()["passages"][0]["citation"]
    for field in ("original_url", "context_page"):
        link = citation[field]
        assert "sig=" in link, link
        parts = urlsplit(link)
        assert client.get(f"{parts.path}?{parts.query}").status_code == 200  # no key: the link is signed
        replayed = parts.path.replace("seeds/biology/cells.md", "seeds/rome.md") + "?" + parts.query
        res = client.get(replayed, headers={"Accept": "application/json"})
        assert res.status_code == 401, field


@pytest.mark.parametrize("junk", ["qack_biology_abcdefgh_" + "x" * 43, "not-a-key", LEARNER + "x"])
def test_an_unknown_key_is_a_401_as_before(keyed, junk):
    client, _, _, _ = keyed
    res = ask(client, junk, "what do ribosomes build", "biology")
    assert res.status_code == 401 and res.headers["www-authenticate"] == 'Bearer realm="qa"'
    assert client.get("/originals/seeds/biology/cells.md", headers=bearer(junk)).status_code == 401


def test_a_revoked_key_is_a_401_at_once_on_every_replica(keyed):
    client, key, folders, embedder = keyed
    replica, _ = make_app(folders, embedder, api_key=LEARNER)  # another process on the same folders
    made_here = new_key(client, "biology", "Canvas")
    assert ask(replica, made_here, "what do ribosomes build").status_code == 200  # made on the other
    listed = client.get("/api/v1/admin/collections/biology/keys", headers=admin()).json()["keys"]
    gone = next(k for k in listed if k["label"] == "Moodle prod")
    assert (
        client.delete(f"/api/v1/admin/collections/biology/keys/{gone['id']}", headers=admin()).status_code
        == 204
    )
    for server in (client, replica):
        assert ask(server, key, "what do ribosomes build").status_code == 401
        assert ask(server, made_here, "what do ribosomes build").status_code == 200


def test_a_deleted_courses_keys_die_with_it_and_a_new_course_of_the_name_has_none(keyed):
    client, key, folders, _ = keyed
    assert client.delete("/api/v1/admin/collections/biology", headers=admin()).status_code == 204
    assert ask(client, key, "what do ribosomes build").status_code == 401
    create_collection(folders, "biology")
    assert ask(client, key, "what do ribosomes build").status_code == 401
    assert client.get("/api/v1/admin/collections/biology/keys", headers=admin()).json()["keys"] == []


def test_renaming_a_course_keeps_its_keys(keyed):
    client, key, _, _ = keyed
    res = client.put(
        "/api/v1/admin/collections/biology/settings", json={"title": "Cell Biology"}, headers=admin()
    )
    assert res.status_code == 200 and res.json()["title"] == "Cell Biology"
    assert ask(client, key, "what do ribosomes build").status_code == 200


def test_a_course_key_does_not_open_the_chat_page(keyed):
    client, key, _, _ = keyed
    res = client.get("/", headers=bearer(key), follow_redirects=False)
    assert res.status_code == 403 and "chat page" in res.json()["error"]
    assert client.get("/config", headers=bearer(key)).status_code == 403
    # typed into the sign-in form, it is told apart from a wrong key
    res = client.post("/session", data={"key": key}, follow_redirects=False)
    assert (
        res.status_code == 401
        and "That is a course key" in res.text
        and "qa_session" not in res.headers.get("set-cookie", "")
    )
    wrong = client.post("/session", data={"key": "wrong-key-123"}, follow_redirects=False)
    assert wrong.status_code == 401 and "That key is not right" in wrong.text


def test_health_stays_open(keyed):
    client, _, _, _ = keyed
    assert client.get("/api/v1/health").status_code == 200
    assert client.get("/api/v1/health?collection=biology").status_code == 200


def test_a_key_is_shown_once_and_listed_by_its_prefix(keyed):
    client, key, _, _ = keyed
    res = client.post("/api/v1/admin/collections/biology/keys", json={"label": "Canvas"}, headers=admin())
    assert res.status_code == 201 and res.headers["cache-control"] == "no-store"
    made = res.json()
    assert made["key"].startswith(made["prefix"] + "_") and made["label"] == "Canvas"
    listing = client.get("/api/v1/admin/collections/biology/keys", headers=admin())
    assert listing.status_code == 200 and listing.json()["required"] is True
    rows = listing.json()["keys"]
    assert [r["label"] for r in rows] == ["Moodle prod", "Canvas"]
    assert key not in listing.text and made["key"] not in listing.text
    assert set(rows[0]) == {"id", "label", "prefix", "created", "last_used"}
    ask(client, key, "what do ribosomes build")
    used = client.get("/api/v1/admin/collections/biology/keys", headers=admin()).json()["keys"]
    assert used[0]["last_used"] and not used[1]["last_used"]
    assert key not in client.get("/api/v1/admin/collections/biology", headers=admin()).text


def test_the_key_routes_need_the_admin_key_and_say_what_is_wrong(keyed):
    client, key, _, _ = keyed
    route = "/api/v1/admin/collections/biology/keys"
    for who in ({}, bearer(LEARNER), bearer(key)):
        assert client.get(route, headers=who).status_code == 401
        assert client.post(route, json={"label": "x"}, headers=who).status_code == 401
    res = client.post(route, json={"label": "  "}, headers=admin())
    assert res.status_code == 422 and "label" in res.json()["error"]
    assert client.post(route, json={"label": "x", "course": "y"}, headers=admin()).status_code == 422
    res = client.delete(route + "/abcdefgh", headers=admin())
    assert res.status_code == 404 and "no such key" in res.json()["error"]
    assert client.get("/api/v1/admin/collections/physics/keys", headers=admin()).status_code == 404


def test_on_an_open_server_keys_are_made_but_the_api_stays_open(courses, fake_embedder):  # noqa: F811
    """Without QA_API_KEY nothing asks for a key: a course key changes nothing until one is set."""
    client, _ = make_app(courses, fake_embedder)
    key = new_key(client, "biology")
    listing = client.get("/api/v1/admin/collections/biology/keys", headers=admin()).json()
    assert listing["required"] is False and len(listing["keys"]) == 1
    assert cited(client.post("/api/v1/ask", json={"question": "who crossed the rubicon"}).json()) == {
        "seeds/rome.md"
    }
    res = ask(client, key, "who crossed the rubicon", "default")
    assert res.status_code == 200 and cited(res.json()) == {"seeds/rome.md"}


def test_a_portal_allowed_for_its_course_asks_with_its_course_key(courses, fake_embedder):  # noqa: F811
    update_config(courses, "biology", CollectionConfig(title="Biology 101", allowed_origins=(PORTAL,)))
    client, _ = make_app(courses, fake_embedder, api_key=LEARNER)
    key = new_key(client, "biology")
    res = client.post(
        "/api/v1/ask", json={"question": "what do ribosomes build"}, headers={**bearer(key), "Origin": PORTAL}
    )
    assert res.status_code == 200 and res.headers["access-control-allow-origin"] == PORTAL


def test_the_openapi_document_lists_the_course_key_403(keyed):
    client, _, _, _ = keyed
    paths = client.get("/openapi.json").json()["paths"]
    for path, method in [
        ("/api/v1/ask", "post"),
        ("/api/v1/sources/{source}", "get"),
        ("/originals/{source}", "get"),
    ]:
        assert "another course" in paths[path][method]["responses"]["403"]["description"], path
    keys = paths["/api/v1/admin/collections/{name}/keys"]
    assert {"get", "post"} <= set(keys)


def test_a_revoked_keys_signed_links_open_nothing_at_once(keyed):
    client, key, _, _ = keyed
    citation = ask(client, key, "what do ribosomes build").json()["passages"][0]["citation"]
    links = [urlsplit(citation[f]) for f in ("original_url", "context_page")]
    assert all("ck=biology." in link.query for link in links)
    page = client.get(f"{links[1].path}?{links[1].query}")
    assert page.status_code == 200 and "ck=biology." in page.text  # its download link is bound too
    # the binding cannot be dropped or changed: the signature covers it
    for query in (
        re.sub(r"ck=[^&]*&", "", links[0].query),
        re.sub(r"ck=biology\.", "ck=biology.x", links[0].query),
    ):
        assert client.get(f"{links[0].path}?{query}").status_code == 401
    server = ask(client, LEARNER, "what do ribosomes build", "biology").json()["passages"][0]["citation"]
    assert "ck=" not in server["original_url"]  # the server key's links are bound to no course key
    key_id = key.split("_")[2]
    assert (
        client.delete(f"/api/v1/admin/collections/biology/keys/{key_id}", headers=admin()).status_code == 204
    )
    for link in links:
        res = client.get(f"{link.path}?{link.query}", headers={"Accept": "application/json"})
        assert res.status_code == 401 and "revoked" in res.json()["error"]
    assert (
        client.get(
            urlsplit(server["original_url"]).path + "?" + urlsplit(server["original_url"]).query
        ).status_code
        == 200
    )
