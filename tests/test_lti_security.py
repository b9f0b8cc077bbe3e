"""Launches the LTI tool refuses: replayed, expired, wrongly signed, for another audience, from
an unknown issuer or deployment, without a matching login. Each gets a clear HTML page with
its status, never a traceback, and no session."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from tests.lti_platform import TestPlatform, rsa_pair
from tests.test_lti import chat_path, courses, make_client  # noqa: F401 (fixture)

DEPLOYMENT_CLAIM = "https://purl.imsglobal.org/spec/lti/claim/deployment_id"


@pytest.fixture
def lms() -> TestPlatform:
    return TestPlatform()


@pytest.fixture
def client(courses, fake_embedder, lms, monkeypatch):  # noqa: F811
    return make_client(courses, fake_embedder, lms, monkeypatch, courses={"course-1": "biology"})


def post_launch(client, data: dict):
    return client.post("/lti/launch", data=data, follow_redirects=False)


def signed(lms: TestPlatform, client, **kwargs) -> dict:
    login = lms.login(client)
    assert login.status_code == 302
    return lms.id_token(login.headers["location"], **kwargs)


def assert_refused(res, status: int, *words: str) -> None:
    assert res.status_code == status, res.text
    assert res.headers["content-type"].startswith("text/html")
    assert "location" not in res.headers  # no session was opened
    assert "Traceback" not in res.text and "pylti1p3" not in res.text
    text = res.text.lower()
    for word in words:
        assert word.lower() in text, (word, res.text)


def test_the_same_launch_twice_is_refused(client, lms):
    data = signed(lms, client)
    first = post_launch(client, {"id_token": data["id_token"], "state": data["state"]})
    assert first.status_code == 303
    again = post_launch(client, {"id_token": data["id_token"], "state": data["state"]})
    assert_refused(again, 401, "no matching sign-in")


def test_a_replayed_id_token_with_a_new_state_is_refused_by_its_nonce(client, lms):
    data = signed(lms, client)
    assert post_launch(client, {"id_token": data["id_token"], "state": data["state"]}).status_code == 303
    fresh_state = dict(
        p.split("=", 1) for p in urlsplit(lms.login(client).headers["location"]).query.split("&")
    )["state"]
    replay = post_launch(client, {"id_token": data["id_token"], "state": fresh_state})
    assert_refused(replay, 401, "already used", "nonce")


def test_an_expired_id_token_is_refused(client, lms):
    data = signed(lms, client, expires_in=-120)
    assert_refused(post_launch(client, data), 401, "expired")


def test_an_id_token_signed_with_another_key_is_refused(client, lms):
    data = signed(lms, client, private_key=rsa_pair()[0])
    assert_refused(post_launch(client, data), 401, "signature")


def test_an_altered_id_token_is_refused(client, lms):
    import base64
    import json

    data = signed(lms, client)
    header, payload, signature = data["id_token"].split(".")
    body = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    body["https://purl.imsglobal.org/spec/lti/claim/roles"] = [
        "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"
    ]
    forged = base64.urlsafe_b64encode(json.dumps(body).encode()).rstrip(b"=").decode()
    res = post_launch(client, {"id_token": f"{header}.{forged}.{signature}", "state": data["state"]})
    assert_refused(res, 401, "signature")


def test_an_id_token_for_another_audience_is_refused(client, lms):
    data = signed(lms, client, extra={"aud": "another-tool", "azp": "another-tool"})
    assert_refused(post_launch(client, data), 401, "another tool", "another-tool")


def test_an_id_token_with_several_audiences_needs_azp(client, lms):
    data = signed(lms, client, extra={"aud": [lms.client_id, "another-tool"], "azp": "another-tool"})
    assert_refused(post_launch(client, data), 401, "azp")


def test_an_unknown_issuer_is_refused_at_login_and_at_launch(client, lms):
    stranger = TestPlatform(issuer="https://stranger.example")
    login = stranger.login(client)
    assert_refused(login, 403, "not registered")
    # a launch from a platform nobody registered, even with a state our login issued
    state = signed(lms, client)["state"]
    forged = stranger.id_token(lms.login(client).headers["location"])
    assert_refused(
        post_launch(client, {"id_token": forged["id_token"], "state": state}), 403, "not registered"
    )


def test_an_unknown_deployment_is_refused(client, lms):
    data = signed(lms, client, extra={DEPLOYMENT_CLAIM: "deployment-999"})
    assert_refused(post_launch(client, data), 403, "deployment", "deployment-999")


def test_a_launch_without_our_login_is_refused(client, lms):
    data = signed(lms, client)
    assert_refused(
        post_launch(client, {"id_token": data["id_token"], "state": "state-made-up"}), 401, "sign-in"
    )
    assert_refused(post_launch(client, {"id_token": data["id_token"]}), 401, "state")
    assert_refused(post_launch(client, {"state": data["state"]}), 401)


def test_a_malformed_id_token_is_refused(client, lms):
    data = signed(lms, client)
    assert_refused(post_launch(client, {"id_token": "not-a-jwt", "state": data["state"]}), 400, "malformed")


def test_a_login_without_its_parameters_is_refused(client):
    assert_refused(client.get("/lti/login", follow_redirects=False), 400, "issuer")
    assert_refused(
        client.get("/lti/login?iss=https://lms.example", follow_redirects=False), 400, "login hint"
    )


def test_a_broken_platforms_file_is_a_page_not_a_traceback(client, lms, courses):  # noqa: F811
    (courses.lti_dir / "platforms.json").write_text("{not json", encoding="utf-8")
    assert_refused(lms.login(client), 503, "settings")


def test_refused_pages_can_be_framed_by_the_platform(client, lms):
    data = signed(lms, client, expires_in=-120)
    res = post_launch(client, data)
    assert "frame-ancestors 'self' https://lms.example" in res.headers["content-security-policy"]


def test_an_expired_session_token_is_refused(client, lms, courses):  # noqa: F811
    import time

    from qa.web.lti.keys import load_keys
    from qa.web.lti.tokens import TokenError, TokenSigner

    token = chat_path(post_launch(client, signed(lms, client))).split("/")[3]
    later = TokenSigner(load_keys(courses.lti_dir).session_secret, clock=lambda: time.time() + 9 * 3600)
    with pytest.raises(TokenError, match="expired"):
        later.verify(token)


def test_an_lms_whose_keys_cannot_be_fetched_gets_a_page_saying_so(client, lms, monkeypatch):
    import requests

    class Down(requests.Session):
        def request(self, *args, **kwargs):
            raise requests.ConnectionError("connection refused")

    monkeypatch.setattr("qa.web.lti.launch.TimeoutSession", Down)
    assert_refused(post_launch(client, signed(lms, client)), 502, "could not fetch", "keys")


def test_an_lms_whose_jwks_is_not_a_key_set_gets_a_page_saying_so(client, lms, monkeypatch):
    monkeypatch.setattr(lms, "jwks", lambda: {"not": "keys"})
    assert_refused(post_launch(client, signed(lms, client)), 502, "keys cannot be read")
    monkeypatch.undo()
    monkeypatch.setattr("qa.web.lti.launch.TimeoutSession", lms.session)
    assert post_launch(client, signed(lms, client)).status_code == 303  # the bad answer was not cached


def test_an_unexpected_failure_is_a_page_not_a_traceback(client, lms, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr("qa.web.lti.routes.choose_collection", broken)
    res = post_launch(client, signed(lms, client))
    assert_refused(res, 500, "something went wrong")
    assert "boom" not in res.text


def test_an_unknown_deployment_is_refused_at_login_already(client):
    res = client.get(
        "/lti/login",
        params={"iss": "https://lms.example", "login_hint": "u", "lti_deployment_id": "deployment-999"},
        follow_redirects=False,
    )
    assert_refused(res, 403, "deployment", "deployment-999")
