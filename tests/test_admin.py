"""Collections through the HTTP API: learners name a collection; authors manage it with the
admin key (upload → indexed → answerable, delete → gone, bad files refused, origin and key rules)."""

from __future__ import annotations

import json
import re
import threading
import time

import pytest
from fastapi.testclient import TestClient

from qa.index.build import ensure_index
from qa.index.collections import (
    NAME_RULE,
    CollectionConfig,
    collection_settings,
    create_collection,
    save_document,
)
from tests.test_collections import CELLS, ROME, VOLCANO, FailingEmbedder, GatedEmbedder

ADMIN = "admin-key-0123456789abcdef"
LEARNER = "learner-key-0123456789"
PORTAL = "https://portal.example"


def make_app(settings, embedder, **changes):
    from qa.retrieval.retriever import Retriever
    from qa.web.server import create_app

    settings = settings.replace(**{"admin_key": ADMIN, "rate_limit": 10_000, **changes})
    default = Retriever(ensure_index(settings, embedder).index, embedder, settings)
    guarded = create_app(settings, default)
    return TestClient(guarded, raise_server_exceptions=False), guarded.app.state.registry


@pytest.fixture
def courses(project, fake_embedder):
    (project.seeds_dir / "rome.md").write_text(ROME, encoding="utf-8")
    create_collection(project, "biology", CollectionConfig(title="Biology 101"))
    save_document(project, "biology", "cells.md", CELLS.encode())
    ensure_index(collection_settings(project, "biology"), fake_embedder)
    return project


@pytest.fixture
def app(courses, fake_embedder):
    return make_app(courses, fake_embedder)


def admin(**extra):
    return {"Authorization": f"Bearer {ADMIN}", **extra}


def cited(body) -> set[str]:
    return {p["citation"]["source"] for p in body["passages"]}


def test_two_collections_answer_only_from_their_own_documents(app):
    client, _ = app
    bio = client.post("/api/v1/ask", json={"question": "what do ribosomes build", "collection": "biology"})
    rome = client.post("/api/v1/ask", json={"question": "who crossed the rubicon"})
    also_rome = client.post(
        "/api/v1/ask", json={"question": "who crossed the rubicon", "collection": "default"}
    )
    assert bio.status_code == rome.status_code == 200
    assert cited(bio.json()) == {"seeds/biology/cells.md"}
    assert cited(rome.json()) == cited(also_rome.json()) == {"seeds/rome.md"}
    context = client.get(bio.json()["passages"][0]["context_url"])
    assert context.status_code == 200 and context.json()["source"] == "seeds/biology/cells.md"
    # a biology source is not known to the default collection
    assert client.get(context.request.url.path + "?start=0&end=10").status_code == 404


def test_a_source_not_in_the_collection_searched_says_which_and_how_to_name_another(app):
    """The 404 names the collection searched and ``?collection=``; it reads the same for a document
    another collection holds and for one no collection holds, so it tells nothing about the others."""
    client, _ = app
    other = client.get("/api/v1/sources/seeds/biology/cells.md?start=0&end=10")
    missing = client.get("/api/v1/sources/seeds/biology/nothing.md?start=0&end=10")
    assert other.status_code == missing.status_code == 404
    assert other.json() == {
        "error": "no indexed source named 'seeds/biology/cells.md' in the default collection; "
        "for a document of another collection, name it with ?collection=NAME"
    }
    assert missing.json()["error"] == other.json()["error"].replace("cells.md", "nothing.md")
    res = client.get("/api/v1/sources/seeds/rome.md?start=0&end=5&collection=biology")
    assert res.status_code == 404 and "in the collection 'biology';" in res.json()["error"]
    found = client.get("/api/v1/sources/seeds/biology/cells.md?start=0&end=10&collection=biology")
    assert found.status_code == 200


@pytest.mark.parametrize(
    ("collection", "status", "fragment"),
    [
        ("chemistry", 404, "no collection 'chemistry'"),
        ("../seeds", 422, "collection: '../seeds' is not a collection name: use " + NAME_RULE),
        ("Biology", 422, "collection: 'Biology' is not a collection name: use " + NAME_RULE),
        ("x" * 65, 422, "collection: '" + "x" * 60 + "' is not a collection name: use " + NAME_RULE),
    ],
)
def test_unknown_or_malformed_collection(app, collection, status, fragment):
    client, _ = app
    res = client.post("/api/v1/ask", json={"question": "what is a cell", "collection": collection})
    assert res.status_code == status and fragment in res.json()["error"]
    assert "biology" not in res.text  # another course's name is not told to whoever asks
    res = client.get(f"/api/v1/sources/seeds/rome.md?start=0&end=5&collection={collection}")
    assert res.status_code == status and fragment in res.json()["error"]
    assert "pattern" not in res.text and "{0,30}" not in res.text


def test_upload_is_indexed_then_answerable_and_delete_removes_it(app):
    client, registry = app
    res = client.put(
        "/api/v1/admin/collections/biology/documents/volcano.md", content=VOLCANO.encode(), headers=admin()
    )
    assert res.status_code == 202 and res.json()["state"] in ("queued", "indexing", "done")
    registry.wait("biology")
    status = client.get("/api/v1/admin/collections/biology/status", headers=admin()).json()
    assert status["state"] == "done" and status["documents"] == 2
    ask = {"question": "what forms when lava cools quickly basalt", "collection": "biology", "k": 5}
    assert "seeds/biology/volcano.md" in cited(client.post("/api/v1/ask", json=ask).json())
    docs = client.get("/api/v1/admin/collections/biology", headers=admin()).json()["documents"]
    volcano = next(d for d in docs if d["name"] == "volcano.md")
    assert volcano["title"] == "Volcanoes" and volcano["windows"] > 0 and volcano["indexed_at"]
    assert (
        client.delete("/api/v1/admin/collections/biology/documents/volcano.md", headers=admin()).status_code
        == 202
    )
    registry.wait("biology")
    assert "seeds/biology/volcano.md" not in cited(client.post("/api/v1/ask", json=ask).json())
    assert (
        client.delete("/api/v1/admin/collections/biology/documents/volcano.md", headers=admin()).status_code
        == 404
    )


def test_a_corrupt_upload_is_refused_with_the_readers_message_and_the_collection_still_answers(app):
    client, registry = app
    bad = b"\x00\x01\x02\x03 not text at all"
    res = client.put("/api/v1/admin/collections/biology/documents/broken.txt", content=bad, headers=admin())
    assert res.status_code == 422 and "broken.txt" in res.json()["error"] and "binary" in res.json()["error"]
    res = client.put("/api/v1/admin/collections/biology/documents/run.exe", content=b"MZ", headers=admin())
    assert res.status_code == 422 and "not a readable type" in res.json()["error"]
    res = client.put(
        "/api/v1/admin/collections/biology/documents/..%2Fescape.md",
        content=b"# x\n\ntext words",
        headers=admin(),
    )
    assert res.status_code in (404, 422)
    assert registry.status("biology").state == "ready"  # nothing started
    names = [
        d["name"]
        for d in client.get("/api/v1/admin/collections/biology", headers=admin()).json()["documents"]
    ]
    assert names == ["cells.md"]
    ok = client.post("/api/v1/ask", json={"question": "what do ribosomes build", "collection": "biology"})
    assert ok.status_code == 200 and cited(ok.json()) == {"seeds/biology/cells.md"}


def test_create_and_delete_collections_through_the_admin_api(app):
    client, registry = app
    res = client.post(
        "/api/v1/admin/collections",
        json={"name": "geology", "title": "Rocks", "examples": ["What is basalt?"]},
        headers=admin(),
    )
    assert res.status_code == 201 and res.json()["title"] == "Rocks"
    assert (
        client.post("/api/v1/admin/collections", json={"name": "geology"}, headers=admin()).status_code == 409
    )
    bad = client.post("/api/v1/admin/collections", json={"name": "Geo/../x"}, headers=admin())
    assert bad.status_code == 422
    empty = client.post("/api/v1/ask", json={"question": "what is basalt", "collection": "geology"})
    assert empty.status_code == 409 and "no indexed documents" in empty.json()["error"]
    client.put("/api/v1/admin/collections/geology/documents/v.md", content=VOLCANO.encode(), headers=admin())
    assert registry.wait("geology").state == "done"
    res = client.post("/api/v1/ask", json={"question": "what is basalt", "collection": "geology"})
    assert cited(res.json()) == {"seeds/geology/v.md"}
    names = [c["name"] for c in client.get("/api/v1/admin/collections", headers=admin()).json()]
    assert names == ["default", "biology", "geology"]
    assert client.delete("/api/v1/admin/collections/geology", headers=admin()).status_code == 204
    assert client.post("/api/v1/ask", json={"question": "basalt", "collection": "geology"}).status_code == 404
    assert client.delete("/api/v1/admin/collections/default", headers=admin()).status_code == 422


def test_a_course_made_again_under_a_deleted_ones_name_starts_clean(courses, fake_embedder):
    client, registry = make_app(courses, FailingEmbedder(fake_embedder, "basalt"))
    made = {"name": "geology", "title": "Rocks"}
    assert client.post("/api/v1/admin/collections", json=made, headers=admin()).status_code == 201
    client.put("/api/v1/admin/collections/geology/documents/v.md", content=VOLCANO.encode(), headers=admin())
    assert registry.wait("geology").state == "failed"
    assert client.get("/api/v1/admin/collections/geology/status", headers=admin()).json()["state"] == "failed"
    assert client.delete("/api/v1/admin/collections/geology", headers=admin()).status_code == 204
    again = client.post("/api/v1/admin/collections", json=made, headers=admin())
    assert again.status_code == 201
    for status in (
        again.json()["status"],
        client.get("/api/v1/admin/collections/geology/status", headers=admin()).json(),
    ):
        assert status["state"] == "empty" and status["message"] == "no indexed documents yet"
        assert status["skipped"] == [] and status["built_at"] == ""


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 401),
        ({"Authorization": f"Bearer {LEARNER}"}, 401),
        ({"Authorization": "Bearer "}, 401),
        ({"Authorization": f"Basic {ADMIN}"}, 401),
        (admin(Origin=PORTAL), 403),
        (admin(Origin="https://evil.example"), 403),
    ],
)
def test_admin_routes_refuse_missing_key_learner_key_and_other_origins(
    courses, fake_embedder, headers, status
):
    client, _ = make_app(courses, fake_embedder, api_key=LEARNER, allowed_origins=(PORTAL,))
    for method, path in [
        ("GET", "/api/v1/admin/collections"),
        ("GET", "/api/v1/admin/collections/biology/status"),
        ("PUT", "/api/v1/admin/collections/biology/documents/x.md"),
        ("DELETE", "/api/v1/admin/collections/biology"),
    ]:
        res = client.request(method, path, headers=headers, content=b"# x\n\nwords")
        assert res.status_code == status, (method, path)
    assert (courses.seeds_dir / "biology" / "cells.md").exists()
    assert client.get("/api/v1/admin/collections", headers=admin()).status_code == 200


def test_wrong_admin_keys_are_throttled_like_wrong_learner_keys(courses, fake_embedder, caplog):
    client, _ = make_app(courses, fake_embedder, auth_fail_limit=3)
    wrong = [
        client.get("/api/v1/admin/collections", headers={"Authorization": f"Bearer guess{i}"}).status_code
        for i in range(5)
    ]
    assert wrong == [401, 401, 401, 429, 429]
    # while throttled even the right key is not tried, so guessing learns nothing
    right = client.get("/api/v1/admin/collections", headers=admin())
    assert right.status_code == 429 and "retry-after" in right.headers
    assert "wrong admin key from" in caplog.text and ADMIN not in caplog.text
    # the right key alone never counts, however often it is sent
    other, _ = make_app(courses, fake_embedder, auth_fail_limit=2)
    assert {other.get("/api/v1/admin/collections", headers=admin()).status_code for _ in range(5)} == {200}


def test_no_admin_routes_without_an_admin_key(courses, fake_embedder):
    client, _ = make_app(courses, fake_embedder, admin_key="")
    assert client.get("/api/v1/admin/collections", headers=admin()).status_code == 404
    assert client.get("/admin").status_code == 404


def test_every_error_the_openapi_document_lists_has_the_shape_sent(app):
    """An integrator's client generated from /openapi.json reads errors as they come:
    ``{"error", "problems"}``, never FastAPI's ``{"detail"}``, on every route it lists."""
    client, _ = app
    schema = client.get("/openapi.json").json()
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                if int(status) >= 400:
                    content = response.get("content", {}).get("application/json", {})
                    assert content.get("schema") == {"$ref": "#/components/schemas/ErrorOut"}, (
                        method,
                        path,
                        status,
                    )
    assert "HTTPValidationError" not in json.dumps(schema["paths"])


def test_an_unknown_collection_is_a_documented_404_on_every_admin_route(app):
    client, _ = app
    paths = client.get("/openapi.json").json()["paths"]
    calls = [
        ("GET", "/api/v1/admin/collections/{name}", "/api/v1/admin/collections/nosuch"),
        ("PUT", "/api/v1/admin/collections/{name}/settings", "/api/v1/admin/collections/nosuch/settings"),
        ("DELETE", "/api/v1/admin/collections/{name}", "/api/v1/admin/collections/nosuch"),
        ("GET", "/api/v1/admin/collections/{name}/status", "/api/v1/admin/collections/nosuch/status"),
        ("GET", "/api/v1/admin/collections/{name}/questions", "/api/v1/admin/collections/nosuch/questions"),
        (
            "DELETE",
            "/api/v1/admin/collections/{name}/questions",
            "/api/v1/admin/collections/nosuch/questions",
        ),
        (
            "GET",
            "/api/v1/admin/collections/{name}/questions/export",
            "/api/v1/admin/collections/nosuch/questions/export",
        ),
        (
            "PUT",
            "/api/v1/admin/collections/{name}/documents/{filename}",
            "/api/v1/admin/collections/nosuch/documents/a.md",
        ),
        (
            "DELETE",
            "/api/v1/admin/collections/{name}/documents/{filename}",
            "/api/v1/admin/collections/nosuch/documents/a.md",
        ),
    ]
    for method, route, path in calls:
        body = {"title": "x"} if route.endswith("settings") else None
        content = b"# A\n\nwords" if "documents" in route and method == "PUT" else None
        res = client.request(method, path, headers=admin(), json=body, content=content)
        assert res.status_code == 404 and set(res.json()) == {"error"}, (method, path, res.text)
        assert "404" in paths[route][method.lower()]["responses"], (method, route)
    missing = client.delete("/api/v1/admin/collections/biology/documents/nothing.md", headers=admin())
    assert missing.status_code == 404


def test_admin_api_is_in_the_openapi_schema_and_the_page_is_served(app):
    client, _ = app
    paths = client.get("/openapi.json").json()["paths"]
    assert "/api/v1/admin/collections/{name}/status" in paths
    assert "/api/v1/admin/collections/{name}/documents/{filename}" in paths
    assert "collection" in json.dumps(paths["/api/v1/ask"])
    page = client.get("/admin")
    assert page.status_code == 200 and "Drop documents here" in page.text
    assert client.get("/admin.js").status_code == 200 and client.get("/admin.css").status_code == 200
    assert ".md" in client.get("/api/v1/admin/formats", headers=admin()).json()


def test_a_question_during_a_rebuild_gets_a_whole_answer_from_the_old_index(courses, fake_embedder):
    gated = GatedEmbedder(fake_embedder, "basalt")
    client, registry = make_app(courses, gated)
    res = client.put(
        "/api/v1/admin/collections/biology/documents/volcano.md", content=VOLCANO.encode(), headers=admin()
    )
    assert res.status_code == 202 and gated.entered.wait(30)
    assert (
        client.get("/api/v1/admin/collections/biology/status", headers=admin()).json()["state"] == "indexing"
    )
    during = client.post(
        "/api/v1/ask", json={"question": "lava cools quickly basalt", "collection": "biology"}
    )
    assert during.status_code == 200 and cited(during.json()) == {"seeds/biology/cells.md"}
    gated.open.set()
    assert registry.wait("biology").state == "done"
    after = client.post(
        "/api/v1/ask", json={"question": "lava cools quickly basalt", "collection": "biology"}
    )
    assert "seeds/biology/volcano.md" in cited(after.json())


def test_a_replica_reports_the_build_another_replica_runs(courses, fake_embedder):
    """Two replicas on one index folder: while replica A builds, replica B's status said "ready"
    with 0 documents (a build's status was per process); it now reads the shared build lock and
    A's progress note, and when idle the counts of the index it answers from."""
    gated = GatedEmbedder(fake_embedder, "basalt")
    a, registry_a = make_app(courses, gated)
    b, _ = make_app(courses, fake_embedder)
    idle = b.get("/api/v1/admin/collections/biology/status", headers=admin()).json()
    assert idle["state"] == "ready" and idle["documents"] == 1 and idle["windows"] > 0
    assert (
        a.put(
            "/api/v1/admin/collections/biology/documents/volcano.md",
            content=VOLCANO.encode(),
            headers=admin(),
        ).status_code
        == 202
    )
    assert gated.entered.wait(30)
    during = b.get("/api/v1/admin/collections/biology/status", headers=admin()).json()
    assert during["state"] == "indexing", during
    assert "embedding" in during["message"] and "another process is building" in during["message"]
    listing = b.get("/api/v1/admin/collections/biology", headers=admin()).json()
    assert listing["status"]["state"] == "indexing"
    gated.open.set()
    assert registry_a.wait("biology").state == "done"
    deadline = time.monotonic() + 20  # B loads the published build within a few seconds
    while (after := b.get("/api/v1/admin/collections/biology/status", headers=admin()).json())[
        "documents"
    ] != 2:
        assert after["state"] == "ready" and time.monotonic() < deadline, after
        time.sleep(0.2)


def test_a_replica_tells_learners_a_first_build_runs_elsewhere(courses, fake_embedder):
    """Replica B answered a question to a course whose first build replica A was running with
    'has no indexed documents yet; upload some', words for authors, and wrong then."""
    gated = GatedEmbedder(fake_embedder, "basalt")
    a, registry_a = make_app(courses, gated)
    b, _ = make_app(courses, fake_embedder)
    assert a.post("/api/v1/admin/collections", json={"name": "geology"}, headers=admin()).status_code == 201
    ask = {"question": "what forms when lava cools", "collection": "geology"}
    before = b.post("/api/v1/ask", json=ask)
    assert before.status_code == 409 and "no indexed documents" in before.json()["error"]
    assert (
        a.put(
            "/api/v1/admin/collections/geology/documents/volcano.md",
            content=VOLCANO.encode(),
            headers=admin(),
        ).status_code
        == 202
    )
    assert gated.entered.wait(30)
    during = b.post("/api/v1/ask", json=ask)
    assert during.status_code == 409 and "is being indexed; ask again in a moment" in during.json()["error"]
    gated.open.set()
    assert registry_a.wait("geology").state == "done"
    assert b.post("/api/v1/ask", json=ask).status_code == 200


def test_a_collection_without_an_index_is_not_ready(courses, fake_embedder):
    client, _ = make_app(courses, fake_embedder)
    create_collection(courses, "chemistry", CollectionConfig(title="Chemistry"))
    status = client.get("/api/v1/admin/collections/chemistry/status", headers=admin()).json()
    assert status["state"] == "empty" and status["documents"] == 0


def test_two_uploads_at_once_are_both_kept_and_indexed(app):
    client, registry = app
    results = []

    def put(name, text):
        results.append(
            client.put(
                f"/api/v1/admin/collections/biology/documents/{name}", content=text.encode(), headers=admin()
            ).status_code
        )

    threads = [
        threading.Thread(target=put, args=("a.md", VOLCANO)),
        threading.Thread(target=put, args=("b.md", ROME)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [202, 202]
    status = registry.wait("biology")
    assert status.state == "done" and status.documents == 3


def test_questions_are_logged_only_when_asked_to_and_exported_as_eval_rows(courses, fake_embedder):
    client, _ = make_app(courses, fake_embedder)
    client.post("/api/v1/ask", json={"question": "what do ribosomes build", "collection": "biology"})
    assert not courses.questions_path.exists()
    # the admin page says why its views are empty: nothing is recorded
    assert (
        client.get("/api/v1/admin/collections/biology", headers=admin()).json()["questions_logged"] is False
    )
    client, _ = make_app(courses, fake_embedder, log_questions=True)
    assert client.get("/api/v1/admin/collections/biology", headers=admin()).json()["questions_logged"] is True
    for q in ("what do ribosomes build", "What do ribosomes build?", "what is the nucleus"):
        assert client.post("/api/v1/ask", json={"question": q, "collection": "biology"}).status_code == 200
    client.post("/api/v1/ask", json={"question": "who crossed the rubicon"})
    rows = client.get("/api/v1/admin/collections/biology/questions?view=most-asked", headers=admin()).json()
    assert [(r["question"].lower().rstrip("?"), r["asked"]) for r in rows] == [
        ("what do ribosomes build", 2),
        ("what is the nucleus", 1),
    ]
    export = client.get(
        "/api/v1/admin/collections/biology/questions/export?view=most-asked&format=jsonl", headers=admin()
    )
    lines = [json.loads(line) for line in export.text.splitlines()]
    assert [line["id"] for line in lines] == [r["id"] for r in rows]
    assert all(line["collection"] == "biology" and line["answer_phrases"] == [] for line in lines)
    csv = client.get(
        "/api/v1/admin/collections/biology/questions/export?view=declined&format=csv", headers=admin()
    )
    # a byte-order mark first, so that Excel reads the UTF-8 (accents) as UTF-8
    assert csv.status_code == 200 and csv.content.startswith(b"\xef\xbb\xbfid,question,expected,kind")


def test_what_learners_asked_is_cleared_per_collection_and_goes_with_a_deleted_one(courses, fake_embedder):
    """The views could not be cleared, and a collection deleted and made again under its name
    showed the deleted course's questions and thumbs down as its own."""
    from qa.feedback import FeedbackRecord, append_feedback

    client, _ = make_app(courses, fake_embedder, log_questions=True)
    create_collection(courses, "geology", CollectionConfig(title="Geology 101"))
    save_document(courses, "geology", "volcano.md", VOLCANO.encode())
    ensure_index(collection_settings(courses, "geology"), fake_embedder)
    for question, name in [("what do ribosomes build", "biology"), ("what is magma", "geology")] * 2:
        assert client.post("/api/v1/ask", json={"question": question, "collection": name}).status_code == 200
        append_feedback(
            courses.feedback_path, FeedbackRecord(rating="down", question=question, collection=name)
        )
    client.post("/api/v1/ask", json={"question": "who crossed the rubicon"})

    def asked(name: str, view: str = "most-asked") -> list[tuple[str, int]]:
        rows = client.get(f"/api/v1/admin/collections/{name}/questions?view={view}", headers=admin()).json()
        return [(r["question"], r["asked"] or r["thumbs_down"]) for r in rows]

    cleared = client.delete("/api/v1/admin/collections/biology/questions", headers=admin())
    assert cleared.status_code == 200 and cleared.json() == {"removed": 4}  # 2 asked, 2 thumbs down
    assert asked("biology") == [] and asked("biology", "thumbs-down") == []
    assert asked("geology") == asked("geology", "thumbs-down") == [("what is magma", 2)]
    assert asked("default") == [("who crossed the rubicon", 1)]
    again = client.delete("/api/v1/admin/collections/biology/questions", headers=admin())
    assert again.json() == {"removed": 0}

    assert client.delete("/api/v1/admin/collections/geology", headers=admin()).status_code == 204
    create_collection(courses, "geology", CollectionConfig(title="Geology 102"))
    assert asked("geology") == [] and asked("geology", "thumbs-down") == []
    assert asked("default") == [("who crossed the rubicon", 1)]
    paths = client.get("/openapi.json").json()["paths"]
    assert "200" in paths["/api/v1/admin/collections/{name}/questions"]["delete"]["responses"]


def test_chat_page_session_answers_from_the_chosen_collection_and_rates_with_it(courses, fake_embedder):
    from qa.feedback import read_feedback
    from qa.index.collections import update_config
    from qa.web.chat import ChatSession
    from qa.web.ui import UNKNOWN_LINK, _collection_page

    _, registry = make_app(courses, fake_embedder, log_questions=True)
    session = ChatSession(registry.get(None), registry.settings, registry)
    turns = session.respond("what do ribosomes build", (), 3, "biology").turns
    assert {p.citation.source for p in turns[-1].answer.passages} == {"seeds/biology/cells.md"}
    turns = session.respond("who crossed the rubicon", turns[:0], 3, "default").turns
    assert {p.citation.source for p in turns[-1].answer.passages} == {"seeds/rome.md"}
    turns = session.respond("what is the nucleus", (), 3, "biology").turns
    assert session.rate(1, False, turns) == "down"
    assert [r.collection for r in read_feedback(registry.settings.feedback_path)] == ["biology"]
    assert _collection_page(courses, "biology")[:3] == ("biology", "Biology 101", ())
    name, _, _, names, warning = _collection_page(courses, "nope")
    assert name == "default" and names == ["default", "biology"]
    assert warning == UNKNOWN_LINK.format(title="Course documents")
    # a toast renders HTML: a name made up in the link is not shown in it, a title is escaped
    assert _collection_page(courses, "<b>x</b><a href='https://evil.example'>sign in</a>")[4] == warning
    update_config(courses, "default", CollectionConfig(title="Rome <101>"))
    assert _collection_page(courses, "nope")[4] == UNKNOWN_LINK.format(title="Rome &lt;101&gt;")


def test_a_collection_can_allow_a_portal_for_itself_only(courses, fake_embedder):
    from qa.index.collections import update_config

    update_config(courses, "biology", CollectionConfig(title="Biology 101", allowed_origins=(PORTAL,)))
    client, _ = make_app(courses, fake_embedder)
    res = client.post(
        "/api/v1/ask",
        json={"question": "what do ribosomes build", "collection": "biology"},
        headers={"Origin": PORTAL},
    )
    assert res.status_code == 200 and res.headers["access-control-allow-origin"] == PORTAL
    res = client.post("/api/v1/ask", json={"question": "who crossed the rubicon"}, headers={"Origin": PORTAL})
    assert res.status_code == 403 and "this collection" in res.json()["error"]
    res = client.post(
        "/api/v1/ask",
        json={"question": "cells", "collection": "biology"},
        headers={"Origin": "https://other.example"},
    )
    assert res.status_code == 403


def test_admin_errors_are_json_with_a_message(app):
    client, _ = app
    res = client.get("/api/v1/admin/collections")
    assert res.status_code == 401 and "admin key" in res.json()["error"]
    assert res.headers["www-authenticate"].startswith("Bearer")


def test_health_follows_the_default_collection_after_an_admin_upload(app):
    client, registry = app
    assert client.get("/api/v1/health").json()["documents"] == 1
    res = client.put(
        "/api/v1/admin/collections/default/documents/volcano.md", content=VOLCANO.encode(), headers=admin()
    )
    assert res.status_code == 202 and registry.wait("default").state == "done"
    health = client.get("/api/v1/health").json()
    assert health["documents"] == 2 and health["status"] == "ok", health
    res = client.post("/api/v1/ask", json={"question": "lava cools quickly basalt", "k": 5})
    assert "seeds/volcano.md" in cited(res.json())


def test_health_reports_the_collection_asked_for(app):
    client, registry = app
    client.put("/api/v1/admin/collections/biology/documents/v.md", content=VOLCANO.encode(), headers=admin())
    assert registry.wait("biology").state == "done"
    bio = client.get("/api/v1/health?collection=biology")
    assert bio.status_code == 200 and bio.json()["status"] == "ok" and bio.json()["documents"] == 2
    assert client.get("/api/v1/health").json()["documents"] == 1
    (registry.settings.seeds_dir / "biology" / "cells.md").write_text(CELLS + "More.\n", encoding="utf-8")
    time.sleep(1.1)  # health rescans a folder at most once a second
    bio = client.get("/api/v1/health?collection=biology").json()
    assert bio["status"] == "stale" and bio["sources_changed"] == ["source changed: seeds/biology/cells.md"]
    assert client.get("/api/v1/health").json()["status"] == "ok"  # the default course is unchanged
    missing = client.get("/api/v1/health?collection=chemistry")
    assert missing.status_code == 404 and "no collection 'chemistry'" in missing.json()["error"]
    assert "biology" not in missing.text
    assert client.get("/api/v1/health?collection=Bad%20Name").status_code == 422
    client.post("/api/v1/admin/collections", json={"name": "chem"}, headers=admin())
    empty = client.get("/api/v1/health?collection=chem")
    assert empty.status_code == 409 and "no indexed documents" in empty.json()["error"]


def test_admin_key_must_be_long_and_not_the_learner_key_and_is_not_shown(tmp_path):
    from qa.config import Settings
    from qa.errors import ConfigError

    with pytest.raises(ConfigError, match="16 characters"):
        Settings(root=tmp_path, admin_key="short")
    with pytest.raises(ConfigError, match="differ from api_key"):
        Settings(root=tmp_path, admin_key=ADMIN, api_key=ADMIN)
    assert ADMIN not in repr(Settings(root=tmp_path, admin_key=ADMIN))
    assert Settings.load({"QA_LOG_QUESTIONS": "1"}, root=tmp_path).log_questions is True


def test_uploads_may_exceed_the_learner_body_limit_but_questions_may_not(app):
    client, registry = app
    big = ("# Big\n\n" + "Granite forms when magma cools slowly deep underground. " * 6000).encode()
    assert 256 * 1024 < len(big) < 50 * 2**20
    res = client.put("/api/v1/admin/collections/biology/documents/big.md", content=big, headers=admin())
    assert res.status_code == 202
    res = client.post(
        "/api/v1/ask",
        content=b'{"question": "' + b"x" * len(big) + b'"}',
        headers={"Content-Type": "application/json"},
    )
    assert res.status_code == 413
    assert registry.wait("biology", timeout=300).state == "done"
    # an author's upload past the limit is told the limit as the admin page says it
    huge = b"x" * (50 * 2**20 + 1)
    res = client.put("/api/v1/admin/collections/biology/documents/huge.txt", content=huge, headers=admin())
    assert res.status_code == 413 and res.json()["error"] == "the request body is limited to 50 MiB"


def test_admin_json_bodies_have_the_small_limit_not_the_uploads(app):
    """Settings, names and titles are JSON of a few kilobytes: past 256 KiB they are refused
    before the body is held, with the documented error shape; only uploads take 50 MiB."""
    client, _ = app
    base = "/api/v1/admin/collections/biology"
    padding = "x" * (300 * 1024)
    for method, path, body in [
        ("PUT", f"{base}/settings", {"title": padding}),
        ("PUT", f"{base}/documents/cells.md/title", {"title": padding}),
        ("POST", "/api/v1/admin/collections", {"name": "big", "title": padding}),
    ]:
        res = client.request(method, path, json=body, headers=admin())
        assert res.status_code == 413, (path, res.status_code)
        assert res.json() == {"error": "the request body is limited to 256 KiB"}
    schema = client.get("/openapi.json").json()["paths"]
    assert "413" in schema["/api/v1/admin/collections/{name}/settings"]["put"]["responses"]
    from qa.web.routes import ADMIN_UPLOADS, LTI_ADMIN_UPLOADS

    upload = "/api/v1/admin/collections/biology/documents/cells.md"
    assert ADMIN_UPLOADS.match(upload) and LTI_ADMIN_UPLOADS.match("/lti/admin/T0KEN" + upload)
    assert not ADMIN_UPLOADS.match(upload + "/title") and not LTI_ADMIN_UPLOADS.match(
        "/lti/admin/T" + upload + "/title"
    )


def test_the_declined_view_tells_authors_why_learners_got_plain_words(courses, fake_embedder):
    from qa.render import DECLINE

    client, _ = make_app(courses, fake_embedder, log_questions=True)
    asked = {"question": "Which Zorblax tariffs did Quentin Marsupial repeal?", "collection": "biology"}
    body = client.post("/api/v1/ask", json=asked).json()
    assert body["abstained"] and body["notice"].startswith(DECLINE) and body["reason"]
    assert not any(ch.isdigit() for ch in body["notice"])  # learners: no signals, no figures
    rows = client.get("/api/v1/admin/collections/biology/questions?view=declined", headers=admin()).json()
    assert [(r["question"], r["reason"]) for r in rows] == [(asked["question"], body["reason"])]
    assert rows[0]["answered_since"] == ""  # still declined
    assert any(ch.isdigit() for ch in rows[0]["reason"])  # authors: the deciding figures
    export = client.get(
        "/api/v1/admin/collections/biology/questions/export?view=declined&format=jsonl", headers=admin()
    )
    assert json.loads(export.text.splitlines()[0])["declined_because"] == body["reason"]


def test_authors_open_each_indexed_document_as_the_index_reads_it(courses, fake_embedder):
    client, _ = make_app(courses, fake_embedder, api_key="learners-key-123")
    listing = client.get("/api/v1/admin/collections/biology", headers=admin()).json()
    (cells,) = [d for d in listing["documents"] if d["name"] == "cells.md"]
    url = cells["page_url"]
    assert url.startswith("/context/seeds/biology/cells.md?exp=") and "sig=" in url
    page = client.get(cells["page_url"])  # signed: opens without the learners' key
    assert page.status_code == 200 and "ribosome" in page.text.lower()
    admin_js = client.get("/admin.js").text
    assert "d.page_url" in admin_js and '"/chat/$1/"' in admin_js  # an LTI session's own folder


def test_a_chinese_documents_words_are_counted_as_citations_count_them(app):
    client, registry = app
    text = "# 火山\n\n火山是地壳上的开口。熔岩冷却后形成玄武岩。\n"
    path = "/api/v1/admin/collections/biology/documents/zh.md"
    assert client.put(path, content=text.encode(), headers=admin()).status_code == 202
    registry.wait("biology")
    docs = client.get("/api/v1/admin/collections/biology", headers=admin()).json()["documents"]
    (zh,) = [d for d in docs if d["name"] == "zh.md"]
    assert zh["words"] == 2 + 19  # each letter of the heading and the text (text.split(): 2)


def test_a_document_named_in_another_script_is_uploaded_cited_opened_and_deleted(courses, fake_embedder):
    from urllib.parse import quote

    client, registry = make_app(courses, fake_embedder)
    decomposed = "U\u0308bung Vulkane.md"  # as a Mac names it: U + combining diaeresis
    path = f"/api/v1/admin/collections/biology/documents/{quote(decomposed)}"
    assert client.put(path, content=VOLCANO.encode(), headers=admin()).status_code == 202
    registry.wait("biology")
    ask = {"question": "what forms when lava cools quickly basalt", "collection": "biology", "k": 5}
    body = client.post("/api/v1/ask", json=ask).json()
    (passage,) = [p for p in body["passages"] if "Übung" in p["citation"]["source"]]
    assert passage["citation"]["source"] == "seeds/biology/\u00dcbung Vulkane.md"  # stored composed
    page = client.get(passage["citation"]["context_page"])
    assert page.status_code == 200 and "basalt" in page.text.lower()
    gone = client.delete(
        f"/api/v1/admin/collections/biology/documents/{quote('Übung Vulkane.md')}", headers=admin()
    )
    assert gone.status_code == 202
    registry.wait("biology")
    assert all(
        "Übung" not in p["citation"]["source"]
        for p in client.post("/api/v1/ask", json=ask).json()["passages"]
    )


def test_what_authors_change_is_in_the_servers_log(app, caplog):
    """Uploads, deletions and the builds they started left no line in the server's log."""
    import logging

    from qa.cli.serve import CHANGES_LOGGED

    client, registry = app
    caplog.set_level(logging.INFO, logger=CHANGES_LOGGED[0])
    caplog.set_level(logging.INFO, logger=CHANGES_LOGGED[1])
    url = "/api/v1/admin/collections/biology/documents/volcano.md"
    assert client.put(url, content=VOLCANO.encode(), headers=admin()).status_code == 202
    registry.wait("biology")
    assert client.put(url, content=VOLCANO.encode() + b"\nMore.\n", headers=admin()).status_code == 202
    registry.wait("biology")
    assert client.delete(url, headers=admin()).status_code == 202
    registry.wait("biology")
    said = [r.getMessage() for r in caplog.records if r.name in CHANGES_LOGGED]
    size = f"{len(VOLCANO.encode()):,}"
    assert f"collection biology: added volcano.md ({size} bytes)" in said
    assert any(m.startswith("collection biology: replaced volcano.md (") for m in said)
    assert "collection biology: deleted volcano.md" in said
    built = [m for m in said if m.startswith("collection biology: index ")]
    assert len(built) == 3 and re.fullmatch(
        r"collection biology: index \w+, 1 document, [\d,]+ windows", built[-1]
    )


def test_an_author_sets_and_resets_a_documents_title(app):
    """A plain-text document without a heading was titled after its file name, and an author
    could only change that by writing a sidecar on the server's disk."""
    client, registry = app
    notes = "Lava cools quickly into basalt. Magma rises through the crust of the earth.\n"
    base = "/api/v1/admin/collections/biology/documents"
    assert client.put(f"{base}/week_1-notes.txt", content=notes.encode(), headers=admin()).status_code == 202
    registry.wait("biology")

    def title() -> str:
        docs = client.get("/api/v1/admin/collections/biology", headers=admin()).json()["documents"]
        return next(d["title"] for d in docs if d["name"] == "week_1-notes.txt")

    assert title() == "week 1 notes"
    res = client.put(f"{base}/week_1-notes.txt/title", json={"title": "  Week 1:  rocks "}, headers=admin())
    assert res.status_code == 202 and res.json()["state"] in ("queued", "indexing", "done")
    registry.wait("biology")
    assert title() == "Week 1: rocks"
    ask = {"question": "what does lava cool into basalt", "collection": "biology", "k": 5}
    labels = [p["citation"]["label"] for p in client.post("/api/v1/ask", json=ask).json()["passages"]]
    assert any(label.startswith("Week 1: rocks") for label in labels), labels
    # a sidecar's link and licence are kept; an empty title gives the document's own back
    sidecar = registry.settings.root / "seeds" / "biology" / "week_1-notes.txt.meta.json"
    sidecar.write_text(json.dumps({"title": "x", "url": "https://example.edu/w1"}), encoding="utf-8")
    assert (
        client.put(f"{base}/week_1-notes.txt/title", json={"title": ""}, headers=admin()).status_code == 202
    )
    registry.wait("biology")
    assert json.loads(sidecar.read_text(encoding="utf-8")) == {"url": "https://example.edu/w1"}
    assert title() == "week 1 notes"
    assert client.put(f"{base}/nothing.txt/title", json={"title": "a"}, headers=admin()).status_code == 404
    too_long = client.put(f"{base}/week_1-notes.txt/title", json={"title": "a" * 201}, headers=admin())
    assert too_long.status_code == 422 and "title" in too_long.json()["error"]
    assert client.put(f"{base}/week_1-notes.txt/title", json={"title": "a"}).status_code == 401


def test_a_method_an_admin_route_does_not_take_is_told_with_its_real_methods(app):
    """PATCH on an admin route got 'method PATCH is not allowed' with Allow: GET, HEAD, POST, a
    list that named POST (which the route refuses) and not DELETE (which it takes)."""
    client, _ = app
    res = client.patch("/api/v1/admin/collections/biology", json={}, headers=admin())
    assert res.status_code == 405 and set(res.headers["allow"].split(", ")) == {"GET", "DELETE", "OPTIONS"}
    assert res.json() == {"error": "/api/v1/admin/collections/biology does not take PATCH"}
    res = client.request("TRACE", "/api/v1/ask")
    assert res.status_code == 405 and res.headers["allow"] == "POST, OPTIONS"


def test_a_view_or_format_not_offered_is_told_by_its_choices_not_a_regex(app):
    """?view=x answered "String should match pattern '^(most-asked|declined|thumbs-down)$'"."""
    client, _ = app
    base = "/api/v1/admin/collections/biology/questions"
    res = client.get(f"{base}?view=x", headers=admin())
    assert res.status_code == 422
    assert res.json()["error"] == "query.view: must be one of most-asked, declined, thumbs-down"
    res = client.get(f"{base}/export?view=declined&format=xlsx", headers=admin())
    assert res.json()["error"] == "query.format: must be one of jsonl, csv"


def test_the_upload_limit_is_told_to_the_admin_page(courses, fake_embedder):
    """The lower of the upload limit and the reader's QA_MAX_FILE_MB, so the page can refuse a
    larger file before sending it."""
    client, _ = make_app(courses, fake_embedder, max_file_mb=2.5)
    assert client.get("/api/v1/admin/limits", headers=admin()).json() == {
        "max_upload_bytes": int(2.5 * 2**20)
    }
    client, _ = make_app(courses, fake_embedder, max_file_mb=500)
    assert client.get("/api/v1/admin/limits", headers=admin()).json() == {"max_upload_bytes": 50 * 2**20}
