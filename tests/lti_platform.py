"""A stand-in LMS for the LTI tests, built on ``lti1p3platform`` (an LTI 1.3 platform from PyPI
that no one here wrote): its OIDC login initiation, its signed ``id_token`` launches and its
deep-linking response check. Keys are made here for each test run; the platform's JWKS is
served to the tool through a ``requests`` adapter, so the tool really fetches and parses it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from lti1p3platform.ltiplatform import LTI1P3PlatformConfAbstract
from lti1p3platform.message_launch import LTIAdvantageMessageLaunchAbstract
from lti1p3platform.oidc_login import OIDCLoginAbstract
from lti1p3platform.registration import Registration
from lti1p3platform.request import Request

ISSUER = "https://lms.example"
CLIENT_ID = "qa-tool-client"
DEPLOYMENT = "deployment-1"
AUTH_URL = f"{ISSUER}/auth"
JWKS_URL = f"{ISSUER}/jwks"
RETURN_URL = f"{ISSUER}/deep-link-return"
MEMBERSHIP = "http://purl.imsglobal.org/vocab/lis/v2/membership#"
LEARNER = [MEMBERSHIP + "Learner"]
INSTRUCTOR = [MEMBERSHIP + "Instructor"]


def rsa_pair() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


class _Conf(LTI1P3PlatformConfAbstract):
    def init_platform_config(self, **kwargs) -> None:
        self._registration = kwargs["registration"]

    def get_registration_by_params(self, **kwargs) -> Registration:
        return self._registration


class _Login(OIDCLoginAbstract):
    def set_lti_message_hint(self, **kwargs) -> None:
        self._lti_message_hint = kwargs["hint"]

    def get_redirect(self, url: str) -> str:
        return url


class _AuthRequest(Request):
    def build_metadata(self, request):
        return {"method": "GET", "get_data": request, "form_data": {}, "headers": {}, "path": "/auth"}


class _Launch(LTIAdvantageMessageLaunchAbstract):
    def render_launch_form(self, launch_data, **kwargs):
        return launch_data


class _JwksAdapter(requests.adapters.BaseAdapter):
    """Answers GET requests for the platform's JWKS URL; nothing else is reachable."""

    def __init__(self, platform: TestPlatform) -> None:
        super().__init__()
        self.platform = platform

    def send(self, request, **kwargs):
        response = requests.Response()
        response.url = request.url
        response.request = request
        if request.url == JWKS_URL:
            self.platform.jwks_fetches += 1
            response.status_code = 200
            response._content = json.dumps(self.platform.jwks()).encode()
        else:
            response.status_code = 404
            response._content = b"{}"
        return response

    def close(self) -> None:
        pass


@dataclass
class TestPlatform:
    """One LMS with the tool registered, launching through a FastAPI TestClient."""

    __test__ = False
    tool_base: str = "http://testserver"
    issuer: str = ISSUER
    client_id: str = CLIENT_ID
    deployment_id: str = DEPLOYMENT
    keys: tuple[str, str] = field(default_factory=rsa_pair)
    jwks_fetches: int = 0

    def registration(self, *, private_key: str | None = None) -> Registration:
        reg = Registration()
        reg.set_iss(self.issuer).set_client_id(self.client_id).set_deployment_id(self.deployment_id)
        reg.set_oidc_login_url(f"{self.tool_base}/lti/login")
        reg.set_launch_url(f"{self.tool_base}/lti/launch")
        reg.set_deeplink_launch_url(f"{self.tool_base}/lti/launch")
        reg.set_platform_private_key(private_key or self.keys[0]).set_platform_public_key(self.keys[1])
        return reg

    def jwks(self) -> dict:
        return {"keys": self.registration().get_jwks()}

    def settings_entry(self, **extra) -> dict:
        """This platform as the administrator enters it in ``lti/platforms.json``."""
        return {
            "name": "Test LMS",
            "issuer": self.issuer,
            "client_id": self.client_id,
            "deployment_ids": [self.deployment_id],
            "auth_login_url": AUTH_URL,
            "auth_token_url": f"{ISSUER}/token",
            "key_set_url": JWKS_URL,
            **extra,
        }

    def session(self) -> requests.Session:
        """What the tool fetches the platform's keys with."""
        s = requests.Session()
        s.mount(ISSUER, _JwksAdapter(self))
        return s

    # the flow ----------------------------------------------------------------------------

    def login(self, client, user: str = "user-1", *, method: str = "GET"):
        """The platform starts the OIDC login; returns the tool's answer (a redirect to /auth)."""
        conf = _Conf(registration=self.registration())
        login = _Login(None, conf)
        login.set_lti_message_hint(hint="resource-link-1")
        url = login.initiate_login(user)
        if method == "POST":
            parts = urlsplit(url)
            return client.post(parts.path, data=dict(parse_qsl(parts.query)), follow_redirects=False)
        return client.get(url, follow_redirects=False)

    def id_token(
        self,
        auth_redirect: str,
        *,
        user: str = "user-1",
        roles: list[str] | None = None,
        context: str = "course-1",
        context_title: str = "Biology 101",
        custom: dict | None = None,
        extra: dict | None = None,
        deep_link: bool = False,
        expires_in: int = 300,
        private_key: str | None = None,
    ) -> dict:
        """The platform's answer to the tool's auth request: ``{id_token, state, launch_url}``."""
        parts = urlsplit(auth_redirect)
        assert f"{parts.scheme}://{parts.netloc}{parts.path}" == AUTH_URL, auth_redirect
        params = dict(parse_qsl(parts.query))
        conf = _Conf(registration=self.registration(private_key=private_key))
        launch = _Launch(_AuthRequest(params), conf)
        launch.set_user_data(user, roles or LEARNER)
        launch.set_launch_context_claim(context, context_title=context_title)
        launch.set_resource_link_claim("resource-link-1", title="Course assistant")
        launch.set_id_token_expiration(expires_in)
        if custom:
            launch.set_custom_parameters_claim(custom)
        if deep_link:
            launch.set_dl(RETURN_URL, title="Pick", accept_types={"ltiResourceLink"}, extra_data={"d": "1"})
        if extra:
            launch.set_extra_claims(extra)
        return launch.lti_launch()

    def launch(self, client, **kwargs):
        """Login, then post the signed launch to the tool; returns the tool's response."""
        login = self.login(client, kwargs.get("user", "user-1"))
        assert login.status_code == 302, login.text
        data = self.id_token(login.headers["location"], **kwargs)
        return client.post(
            urlsplit(data["launch_url"]).path,
            data={"id_token": data["id_token"], "state": data["state"]},
            follow_redirects=False,
        )

    def check_deep_link_response(self, jwt: str, tool_jwks: dict) -> list[dict]:
        """The platform verifies the tool's signed response against the tool's JWKS."""
        reg = self.registration()
        reg.set_tool_key_set(tool_jwks)
        conf = _Conf(registration=reg)
        conf.get_registration()
        return conf.validate_deeplinking_resp({"JWT": jwt})


def write_platforms(lti_dir: Path, *entries: dict) -> Path:
    lti_dir.mkdir(parents=True, exist_ok=True)
    path = lti_dir / "platforms.json"
    path.write_text(json.dumps({"platforms": list(entries)}, indent=2), encoding="utf-8")
    return path
