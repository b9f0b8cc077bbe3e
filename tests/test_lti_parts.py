"""The LTI tool's parts on their own: session tokens, roles and course mapping, the platforms
file, the keys kept on disk, the one-time store, and the ``qa lti`` command."""

from __future__ import annotations

import json
import stat

import pytest

from qa.config import Settings
from qa.errors import ConfigError
from qa.web.lti.keys import load_keys
from qa.web.lti.mapping import MappingRefused, choose_collection, link_signature, role_of
from qa.web.lti.platforms import Platform, load_platforms
from qa.web.lti.storage import LaunchStore
from qa.web.lti.tokens import INSTRUCTOR, LEARNER, TokenError, TokenSigner
from tests.lti_platform import TestPlatform, write_platforms

SECRET = b"s" * 32
ISS = "https://lms.example"


def platform(**extra) -> Platform:
    return Platform.from_dict(TestPlatform().settings_entry(**extra), "test")


def claims(course="c1", roles=(), custom=None) -> dict:
    out = {
        "https://purl.imsglobal.org/spec/lti/claim/context": {"id": course},
        "https://purl.imsglobal.org/spec/lti/claim/roles": list(roles),
    }
    if custom is not None:
        out["https://purl.imsglobal.org/spec/lti/claim/custom"] = custom
    return out


# session tokens ---------------------------------------------------------------------------


def test_a_token_carries_collection_role_and_expiry():
    signer = TokenSigner(SECRET, clock=lambda: 1000)
    token = signer.new("biology", INSTRUCTOR, minutes=10, k=2, title="Bio")
    assert all(c.isalnum() or c in "-_." for c in token)  # safe in a URL path
    seen = signer.verify(token)
    assert (seen.collection, seen.role, seen.expires, seen.k, seen.title) == (
        "biology",
        INSTRUCTOR,
        1600,
        2,
        "Bio",
    )
    assert seen.instructor
    later = TokenSigner(SECRET, clock=lambda: 1601)
    with pytest.raises(TokenError, match="expired"):
        later.verify(token)
    with pytest.raises(TokenError, match="altered or made by another server"):
        TokenSigner(b"x" * 32, clock=lambda: 1000).verify(token)
    for junk in ("", "abc", "t1.e30.", "t1.e30.x" * 300, "t1.ü.x"):
        with pytest.raises(TokenError):
            signer.verify(junk)


# roles and course mapping -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("roles", "role"),
    [
        (["http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"], LEARNER),
        (["http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"], INSTRUCTOR),
        (["http://purl.imsglobal.org/vocab/lis/v2/membership#ContentDeveloper"], INSTRUCTOR),
        # Canvas sends institution roles even where the user is a student in this course
        (
            [
                "http://purl.imsglobal.org/vocab/lis/v2/institution/person#Administrator",
                "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner",
            ],
            LEARNER,
        ),
        (["http://purl.imsglobal.org/vocab/lis/v2/system/person#Administrator"], INSTRUCTOR),
        ([], LEARNER),
    ],
)
def test_roles(roles, role):
    assert role_of(claims(roles=roles)) == role


def test_the_settings_file_wins_then_a_signed_link_then_the_default():
    p = platform(courses={"c1": "biology"}, default_collection="general")
    good = {"collection": "geology", "qa_link": link_signature(SECRET, ISS, "c2", "geology"), "passages": "4"}
    assert choose_collection(claims("c1", custom=good), p, SECRET).collection == "biology"
    link = choose_collection(claims("c2", custom=good), p, SECRET)
    assert (link.collection, link.k, link.source) == ("geology", 4, "link")
    assert choose_collection(claims("c3"), p, SECRET).collection == "general"
    with pytest.raises(MappingRefused, match="another course"):
        choose_collection(claims("c3", custom=good), p, SECRET)  # copied into another course
    with pytest.raises(MappingRefused, match="another course"):
        choose_collection(claims("c2", custom={"collection": "geology"}), p, SECRET)  # typed by hand
    with pytest.raises(MappingRefused, match="not connected"):
        choose_collection(claims("c3"), platform(), SECRET)
    limited = platform(collections=["biology"])
    with pytest.raises(MappingRefused, match="may not open"):
        choose_collection(claims("c2", custom=good), limited, SECRET)


# the platforms file -----------------------------------------------------------------------


def test_platforms_file_is_checked_with_messages_that_say_what_to_fix(tmp_path):
    settings = Settings(root=tmp_path)
    assert load_platforms(settings).platforms == ()  # no file: no platform
    entry = TestPlatform().settings_entry()
    write_platforms(settings.lti_dir, {k: v for k, v in entry.items() if k != "client_id"})
    with pytest.raises(ConfigError, match="platform 1: missing client_id"):
        load_platforms(settings)
    write_platforms(settings.lti_dir, {**entry, "clientid": "x"})
    with pytest.raises(ConfigError, match=r"unknown field.*clientid"):
        load_platforms(settings)
    write_platforms(settings.lti_dir, entry, entry)
    with pytest.raises(ConfigError, match="registered twice"):
        load_platforms(settings)
    (settings.lti_dir / "platforms.json").write_text("[", encoding="utf-8")
    with pytest.raises(ConfigError, match="not readable JSON"):
        load_platforms(settings)
    write_platforms(settings.lti_dir, {**entry, "frame_origins": ["https://school.instructure.com/"]})
    loaded = load_platforms(settings)  # read again: it changed
    assert loaded.frame_origins() == ("https://school.instructure.com",)
    assert loaded.find(ISS).client_id == entry["client_id"]
    assert loaded.find(ISS, "other") is None and loaded.find("https://else.example") is None


def test_frame_origins_default_to_the_issuer_and_login_origins():
    p = platform(auth_login_url="https://sso.lms.example/auth")
    assert p.frame_origins == ("https://lms.example", "https://sso.lms.example")


# keys and the store -----------------------------------------------------------------------


def test_keys_are_made_once_and_kept_private(tmp_path):
    first = load_keys(tmp_path / "lti")
    again = load_keys(tmp_path / "lti")
    assert first == again
    for name in ("tool-private-key.pem", "session-secret"):
        mode = stat.S_IMODE((tmp_path / "lti" / name).stat().st_mode)
        assert mode == 0o600, oct(mode)
    jwk = first.jwks()["keys"][0]
    assert jwk["kid"] == first.kid and jwk["kty"] == "RSA" and not {"d", "p", "q"} & set(jwk)


def test_the_store_hands_a_value_out_once_and_forgets_expired_ones(tmp_path):
    now = [1000.0]
    store = LaunchStore(tmp_path, clock=lambda: now[0])
    store.set("a", {"x": 1}, 60)
    other_process = LaunchStore(tmp_path, clock=lambda: now[0])
    assert other_process.get("a") == {"x": 1}
    assert store.take("a") == {"x": 1}
    assert other_process.take("a") is None
    store.set("b", True, 60)
    now[0] += 61
    assert store.get("b") is None and store.take("b") is None


# qa lti -----------------------------------------------------------------------------------


def test_qa_lti_prints_what_the_administrator_pastes(tmp_path, capsys):
    from qa.cli import main

    assert main(["lti", "--root", str(tmp_path), "--url", "https://qa.example.edu"]) == 0
    out = capsys.readouterr().out
    for line in (
        "Initiate login URL: https://qa.example.edu/lti/login",
        "Redirection URI(s): https://qa.example.edu/lti/launch",
        "Public keyset: https://qa.example.edu/lti/jwks",
        "Content Selection URL: https://qa.example.edu/lti/launch",
        "OpenID Connect Initiation Url: https://qa.example.edu/lti/login",
        "Target Link URI: https://qa.example.edu/lti/launch",
        "Registered platforms: 0",
    ):
        assert line in out
    assert (tmp_path / "lti" / "platforms.json").exists() and (
        tmp_path / "lti" / "tool-private-key.pem"
    ).exists()
    restart = "a server already running offers the tool only once restarted"
    assert restart in out  # the first run made lti/: a running server has not read it
    assert main(["lti", "--root", str(tmp_path), "--url", "https://qa.example.edu"]) == 0
    assert restart not in capsys.readouterr().out
    assert main(["lti", "--root", str(tmp_path), "--url", "https://qa.example.edu", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["public_jwk_url"] == "https://qa.example.edu/lti/jwks" and data["jwks"]["keys"]


def test_qa_lti_help_lists_only_the_options_it_uses(capsys):
    """It writes ROOT/lti and prints addresses: no index, model or vector store options."""
    from qa.cli import main

    with pytest.raises(SystemExit):
        main(["lti", "--help"])
    out = capsys.readouterr().out
    assert "--root" in out and "--url" in out and "--json" in out
    for unused in (
        "--index-dir",
        "--seeds-dir",
        "--model",
        "--vector-store",
        "--window-vectors",
        "--embed-precision",
    ):
        assert unused not in out


def test_qa_lti_reports_a_wrong_platforms_file_in_one_line(tmp_path, capsys):
    from qa.cli import main

    write_platforms(tmp_path / "lti", {"issuer": ISS})
    assert main(["lti", "--root", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert (
        err.startswith("qa: error: platforms.json platform 1: missing client_id") and "Traceback" not in err
    )


def test_public_url_must_be_an_address():
    with pytest.raises(ConfigError, match="public_url"):
        Settings(public_url="qa.example.edu")
    assert Settings(public_url="https://qa.example.edu/course").public_url == "https://qa.example.edu/course"
