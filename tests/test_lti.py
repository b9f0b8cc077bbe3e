"""The LTI 1.3 tool against a platform from PyPI (lti1p3platform): login → launch → the chat of
the course's collection answers; deep linking round trip; instructors' scoped admin page."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient

from qa.index.build import ensure_index
from qa.index.collections import CollectionConfig, collection_settings, create_collection, save_document
from tests.lti_platform import INSTRUCTOR, ISSUER, RETURN_URL, TestPlatform, write_platforms
from tests.test_collections import CELLS, ROME, VOLCANO

CUSTOM = "https://purl.imsglobal.org/spec/lti/claim/custom"


@pytest.fixture
def lms() -> TestPlatform:
    return TestPlatform()


@pytest.fixture
def courses(project, fake_embedder):
    (project.seeds_dir / "rome.md").write_text(ROME, encoding="utf-8")
    for name, title, doc, text in (
        ("biology", "Biology 101", "cells.md", CELLS),
        ("geology", "Geology 101", "volcano.md", VOLCANO),
    ):
        create_collection(project, name, CollectionConfig(title=title))
        save_document(project, name, doc, text.encode())
        ensure_index(collection_settings(project, name), fake_embedder)
    return project


def make_client(settings, embedder, lms: TestPlatform, monkeypatch, rate_limit=10_000, **entry) -> TestClient:
    from qa.retrieval.retriever import Retriever
    from qa.web.server import create_app

    write_platforms(settings.lti_dir, lms.settings_entry(**entry))
    monkeypatch.setattr("qa.web.lti.launch.TimeoutSession", lms.session)
    settings = settings.replace(rate_limit=rate_limit)
    default = Retriever(ensure_index(settings, embedder).index, embedder, settings)
    return TestClient(create_app(settings, default), raise_server_exceptions=False)


@pytest.fixture
def client(courses, fake_embedder, lms, monkeypatch):
    return make_client(courses, fake_embedder, lms, monkeypatch, courses={"course-1": "biology"})


def chat_path(response) -> str:
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    assert re.fullmatch(r"chat/t1\.[\w-]+\.[\w-]+/", location), location
    return "/lti/" + location


def ask(client, path: str, question: str, collection: str):
    return client.post(path + "api/v1/ask", json={"question": question, "collection": collection})


def cited(body) -> set[str]:
    return {p["citation"]["source"] for p in body["passages"]}


def test_login_launch_and_the_chat_answers_from_the_courses_collection(client, lms):
    login = lms.login(client)
    assert login.status_code == 302
    auth = urlsplit(login.headers["location"])
    assert f"{auth.scheme}://{auth.netloc}{auth.path}" == f"{ISSUER}/auth"
    assert "set-cookie" not in login.headers  # nothing depends on a cookie in the LMS's iframe
    assert "redirect_uri=http%3A%2F%2Ftestserver%2Flti%2Flaunch" in auth.query

    launched = lms.launch(client)
    path = chat_path(launched)
    page = client.get(path)
    assert page.status_code == 200
    assert 'data-collection="biology"' in page.text and "Biology 101" in page.text
    assert "frame-ancestors 'self' https://lms.example" in page.headers["content-security-policy"]
    assert "Manage this course" not in page.text  # a learner gets the chat only
    assert page.text.count("<body>") == page.text.count("</body>") == 1, page.text
    widget = client.get(path + "widget.js")
    assert widget.status_code == 200 and widget.headers["content-type"].endswith("charset=utf-8")

    answer = ask(client, path, "What do ribosomes build?", "biology")
    assert answer.status_code == 200, answer.text
    assert cited(answer.json()) == {"seeds/biology/cells.md"}
    first = answer.json()["passages"][0]
    context = client.get(path + first["context_url"].lstrip("/"))
    assert context.status_code == 200 and context.json()["source"] == "seeds/biology/cells.md"
    assert lms.jwks_fetches == 1  # the platform's keys, fetched from its JWKS URL (then cached)


def test_a_course_whose_collection_was_deleted_says_who_can_connect_it_again(client, lms, courses):
    """It said 'ask the instructor to pick another one' when the administrator's mapping in
    lti/platforms.json (which an instructor's pick never overrides) named it."""
    from qa.index.collections import delete_collection

    path = chat_path(lms.launch(client))
    delete_collection(courses, "biology")
    page = client.get(path)  # the chat opened before, reloaded
    assert page.status_code == 404 and "Open the assistant again from your course page" in page.text
    launched = lms.launch(client)
    assert launched.status_code == 404
    text = launched.text.replace("&#39;", "'")
    assert "does not exist any more" in text and "administrator connected this course" in text
    assert "lti/platforms.json" in text and "pick another" not in text


def test_login_initiation_by_post_works_too(client, lms):
    login = lms.login(client, method="POST")
    assert login.status_code == 302 and login.headers["location"].startswith(f"{ISSUER}/auth?")


def test_a_session_never_reaches_another_courses_collection(client, lms):
    path = chat_path(lms.launch(client))
    for other in ("default", "geology"):
        refused = ask(client, path, "Who crossed the Rubicon?", other)
        assert refused.status_code == 403
        assert refused.json()["error"] == "this session is for another collection"
    # no collection named: that is the default collection, not this session's
    res = client.post(path + "api/v1/ask", json={"question": "Who crossed the Rubicon?"})
    assert res.status_code == 403
    assert client.get(path + "api/v1/sources/seeds/rome.md?start=0&end=10").status_code == 403
    assert (
        client.get(
            path + "api/v1/sources/seeds/geology/volcano.md?start=0&end=10&collection=geology"
        ).status_code
        == 403
    )
    assert client.get(path + "originals/seeds/geology/volcano.md").status_code == 403
    assert client.get(path + "originals/seeds/biology/cells.md").status_code == 200
    # a token edited to name another collection is not ours any more
    token = path.split("/")[3]
    version, payload, mac = token.split(".")
    import base64
    import json

    body = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    body["c"] = "geology"
    forged = base64.urlsafe_b64encode(json.dumps(body).encode()).rstrip(b"=").decode()
    res = ask(client, f"/lti/chat/{version}.{forged}.{mac}/", "What is basalt?", "geology")
    assert res.status_code == 401 and "altered" in res.json()["error"]
    page = client.get(f"/lti/chat/{version}.{forged}.{mac}/")
    assert page.status_code == 401 and "This session has ended" in page.text


def test_courses_map_to_their_own_collections(courses, fake_embedder, lms, monkeypatch):
    client = make_client(
        courses, fake_embedder, lms, monkeypatch, courses={"course-1": "biology", "course-2": "geology"}
    )
    bio = chat_path(lms.launch(client, context="course-1"))
    geo = chat_path(lms.launch(client, context="course-2"))
    assert cited(ask(client, bio, "What do ribosomes build?", "biology").json()) == {"seeds/biology/cells.md"}
    assert cited(ask(client, geo, "What is basalt?", "geology").json()) == {"seeds/geology/volcano.md"}
    assert ask(client, geo, "What do ribosomes build?", "biology").status_code == 403
    # a course nobody connected is refused with a page that says how to connect it
    unmapped = lms.launch(client, context="course-3")
    assert unmapped.status_code == 403
    assert "not connected" in unmapped.text and "deep linking" in unmapped.text
    # the settings file wins over a link's custom parameters
    hijack = lms.launch(client, context="course-1", custom={"collection": "geology", "qa_link": "0" * 32})
    assert 'data-collection="biology"' in client.get(chat_path(hijack)).text


def test_deep_linking_round_trip(courses, fake_embedder, lms, monkeypatch):
    client = make_client(courses, fake_embedder, lms, monkeypatch)  # no course mapped in the settings
    picker = lms.launch(client, roles=INSTRUCTOR, deep_link=True, context="course-9", context_title="Earth")
    assert picker.status_code == 200, picker.text
    assert {"biology", "geology", "default"} <= set(re.findall(r'<option value="([a-z-]+)"', picker.text))
    launch_id = re.search(r'name="launch" value="([^"]+)"', picker.text).group(1)

    back = client.post(
        "/lti/deep-link",
        data={"launch": launch_id, "collection": "geology", "title": "Ask about rocks", "passages": "2"},
    )
    assert back.status_code == 200, back.text
    assert f'action="{RETURN_URL}"' in back.text
    jwt = re.search(r'name="JWT" value="([^"]+)"', back.text).group(1)
    items = lms.check_deep_link_response(jwt, client.get("/lti/jwks").json())
    assert len(items) == 1 and items[0]["type"] == "ltiResourceLink"
    assert items[0]["title"] == "Ask about rocks" and items[0]["url"] == "http://testserver/lti/launch"
    custom = items[0]["custom"]
    assert custom["collection"] == "geology" and custom["passages"] == "2"

    # the form can be sent once
    again = client.post("/lti/deep-link", data={"launch": launch_id, "collection": "geology", "title": "x"})
    assert again.status_code == 401

    # a learner launching that link gets the geology chat, two passages per answer
    path = chat_path(lms.launch(client, context="course-9", custom=custom))
    page = client.get(path).text
    assert 'data-collection="geology"' in page and 'data-k="2"' in page and "Ask about rocks" in page
    assert cited(ask(client, path, "What is basalt?", "geology").json()) == {"seeds/geology/volcano.md"}

    # the same custom parameters copied into another course open nothing
    copied = lms.launch(client, context="course-10", custom=custom)
    assert copied.status_code == 403 and "made for another course" in copied.text


def test_the_picker_of_a_connected_course_names_its_collection_by_title(client, lms):
    """It said 'The administrator connected this course to “biology”', the name only authors use."""
    picker = lms.launch(client, roles=INSTRUCTOR, deep_link=True, context="course-1")
    assert picker.status_code == 200, picker.text
    assert set(re.findall(r'<option value="([a-z-]+)"', picker.text)) == {"biology"}
    assert "The administrator connected this course to “Biology 101” (biology)." in picker.text


def test_learners_cannot_make_deep_links(client, lms):
    res = lms.launch(client, deep_link=True)
    assert res.status_code == 403 and "instructors" in res.text


def test_instructors_get_the_admin_page_of_their_collection_only(client, lms):
    path = chat_path(lms.launch(client, roles=INSTRUCTOR))
    page = client.get(path)
    assert "Manage this course" in page.text
    manage = re.search(r'id="manage" href="([^"]+)"', page.text).group(1)
    admin = "/lti/" + manage.replace("../../", "")
    html = client.get(admin)
    assert html.status_code == 200 and 'data-collection="biology"' in html.text
    api = admin + "api/v1/admin"
    listed = client.get(api + "/collections")
    assert listed.status_code == 200 and [c["name"] for c in listed.json()] == ["biology"]
    assert client.get(api + "/collections/biology/status").status_code == 200
    assert client.get(api + "/collections/geology").status_code == 403
    assert (
        client.put(api + "/collections/geology/documents/x.md", content=b"# X\n\nsome words here").status_code
        == 403
    )
    assert client.delete(api + "/collections/biology").status_code in (404, 405)  # no such route here
    # the course's own records of what learners asked can be cleared, no other course's
    assert client.delete(api + "/collections/biology/questions").json() == {"removed": 0}
    assert client.delete(api + "/collections/geology/questions").status_code == 403
    assert client.post(api + "/collections", json={"name": "new"}).status_code in (404, 405)
    other_origin = client.get(api + "/collections", headers={"Origin": "https://evil.example"})
    assert other_origin.status_code == 403
    # the global admin API is still closed to this session (no QA_ADMIN_KEY here at all)
    assert client.get("/api/v1/admin/collections").status_code == 404

    learner = chat_path(lms.launch(client))
    learner_admin = learner.replace("/chat/", "/admin/")
    assert client.get(learner_admin).status_code == 403
    assert client.get(learner_admin + "api/v1/admin/collections").status_code == 403


def test_instructor_upload_is_indexed_and_answered(client, lms):
    import time

    path = chat_path(lms.launch(client, roles=INSTRUCTOR))
    api = path.replace("/chat/", "/admin/") + "api/v1/admin/collections/biology"
    doc = b"# Enzymes\n\nEnzymes speed up chemical reactions in the cell without being used up.\n"
    put = client.put(
        api + "/documents/enzymes.md", content=doc, headers={"Content-Type": "application/octet-stream"}
    )
    assert put.status_code == 202, put.text
    deadline = time.monotonic() + 60
    while (
        client.get(api + "/status").json()["state"] in ("queued", "indexing") and time.monotonic() < deadline
    ):
        time.sleep(0.1)
    answer = ask(client, path, "What do enzymes speed up?", "biology").json()
    assert "seeds/biology/enzymes.md" in cited(answer)


def test_tool_configuration_endpoints(client):
    jwks = client.get("/lti/jwks").json()
    assert (
        jwks["keys"][0]["kty"] == "RSA" and jwks["keys"][0]["alg"] == "RS256" and "d" not in jwks["keys"][0]
    )
    config = client.get("/lti/config.json").json()
    assert config["oidc_initiation_url"] == "http://testserver/lti/login"
    assert config["target_link_uri"] == "http://testserver/lti/launch"
    assert config["public_jwk_url"] == "http://testserver/lti/jwks"
    canvas = client.get("/lti/canvas.json").json()
    placements = {
        p["placement"]: p["message_type"] for p in canvas["extensions"][0]["settings"]["placements"]
    }
    assert placements["link_selection"] == "LtiDeepLinkingRequest"
    page = client.get("/lti/config")
    assert (
        page.status_code == 200
        and "Initiate login URL" in page.text
        and "OpenID Connect Initiation Url" in page.text
    )
    # not in the API's schema (they are pages and LTI messages, not the JSON API)
    assert not [p for p in client.get("/openapi.json").json()["paths"] if p.startswith("/lti")]


def test_no_platforms_file_no_lti_routes(project, fake_embedder):
    from qa.retrieval.retriever import Retriever
    from qa.web.server import create_app

    (project.seeds_dir / "rome.md").write_text(ROME, encoding="utf-8")
    default = Retriever(ensure_index(project, fake_embedder).index, fake_embedder, project)
    client = TestClient(create_app(project, default))
    assert client.get("/lti/jwks").status_code == 404
    assert not project.lti_dir.exists()


def test_a_platform_that_rotated_its_keys_is_fetched_again_once(client, lms):
    from tests.lti_platform import rsa_pair

    assert lms.launch(client).status_code == 303
    assert lms.jwks_fetches == 1
    assert lms.launch(client).status_code == 303
    assert lms.jwks_fetches == 1  # cached
    lms.keys = rsa_pair()  # the LMS signs with a new key now
    assert lms.launch(client).status_code == 303
    assert lms.jwks_fetches == 2


def test_questions_asked_through_a_session_count_against_the_rate_limit(
    courses, fake_embedder, lms, monkeypatch
):
    client = make_client(
        courses, fake_embedder, lms, monkeypatch, rate_limit=2, courses={"course-1": "biology"}
    )
    path = chat_path(lms.launch(client))
    codes = [ask(client, path, "What do ribosomes build?", "biology").status_code for _ in range(3)]
    assert codes == [200, 200, 429]


def test_a_session_needs_no_api_key_even_when_the_server_has_one(courses, fake_embedder, lms, monkeypatch):
    """The LMS's learners never see QA_API_KEY: the launch's token is their authorisation."""
    keyed = courses.replace(api_key="learner-api-key-0123456789")
    client = make_client(keyed, fake_embedder, lms, monkeypatch, courses={"course-1": "biology"})
    assert client.post("/api/v1/ask", json={"question": "What do ribosomes build?"}).status_code == 401
    path = chat_path(lms.launch(client))
    answer = ask(client, path, "What do ribosomes build?", "biology")
    assert answer.status_code == 200 and cited(answer.json()) == {"seeds/biology/cells.md"}
