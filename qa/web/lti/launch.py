"""pylti1p3 on Starlette: the request adaptor, the OIDC login and the verified launch.

pylti1p3 is framework-neutral; a framework supplies a request (parameters, HTTPS or not), a
cookie service, a redirect and the login/launch subclasses (as its Django and Flask adaptors
do). Here the cookie service and the launch data storage are server side
(:mod:`qa.web.lti.storage`), because an LMS iframe gets no third-party cookies.

The launch checks, in this order, each failure a :class:`LaunchRefused` with its status:
the state (issued by our login, once, within five minutes; 401), the JWT's form (400), the
issuer and client (403 for an unknown platform), the signature against the platform's JWKS
with ``exp`` and ``iat`` required and the expiry checked (401), the audience (the client id,
with ``azp`` when there are several; 401), the deployment (403), the nonce (issued by our
login and taken on first use, so a replay is refused; 401) and the message claims (400).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping

import requests
from pylti1p3.exception import LtiException, OIDCException, ToolConfException
from pylti1p3.message_launch import MessageLaunch
from pylti1p3.oidc_login import OIDCLogin
from pylti1p3.redirect import Redirect
from pylti1p3.request import Request
from pylti1p3.session import SessionService
from pylti1p3.tool_config import ToolConfDict

from qa.web.lti.keys import ToolKeys
from qa.web.lti.platforms import Platforms
from qa.web.lti.storage import LaunchStore, ServerLaunchStorage, StateCookies

__all__ = ["LaunchRefused", "Launch", "Login", "ParamsRequest", "tool_conf"]

log = logging.getLogger(__name__)

JWKS_SECONDS = 3600
HTTP_TIMEOUT = 10
LAUNCH_DATA_SECONDS = 3600


class LaunchRefused(Exception):
    """A login or launch the tool refuses: ``status`` (400/401/403), a title and the reason."""

    def __init__(self, status: int, title: str, detail: str = "") -> None:
        super().__init__(f"{title}: {detail}" if detail else title)
        self.status, self.title, self.detail = status, title, detail


class TimeoutSession(requests.Session):
    """A requests session whose calls give up after ``HTTP_TIMEOUT`` seconds (pylti1p3 sets none)."""

    def request(self, *args, **kwargs):
        kwargs.setdefault("timeout", HTTP_TIMEOUT)
        return super().request(*args, **kwargs)


class ParamsRequest(Request):
    """The request as pylti1p3 sees it: the query and form parameters, and whether it is HTTPS."""

    def __init__(self, params: Mapping[str, str], *, secure: bool) -> None:
        self._params = dict(params)
        self._secure = secure

    @property
    def session(self):
        return {}

    def get_param(self, key: str) -> str:
        return self._params.get(key)

    def is_secure(self) -> bool:
        return self._secure


class _Redirect(Redirect):
    def __init__(self, location: str) -> None:
        self._location = location

    def do_redirect(self) -> str:
        return self._location

    def do_js_redirect(self) -> str:
        return self._location

    def set_redirect_url(self, location: str) -> None:
        self._location = location

    def get_redirect_url(self) -> str:
        return self._location


def tool_conf(platforms: Platforms, keys: ToolKeys) -> ToolConfDict:
    """pylti1p3's tool configuration for the registered platforms, with the tool's key pair."""
    conf = ToolConfDict(platforms.tool_conf_data())
    for p in platforms.platforms:
        conf.set_private_key(p.issuer, keys.private_pem, client_id=p.client_id)
        conf.set_public_key(p.issuer, keys.public_pem, client_id=p.client_id)
    return conf


def _services(
    request: ParamsRequest, store: LaunchStore
) -> tuple[SessionService, StateCookies, ServerLaunchStorage]:
    storage = ServerLaunchStorage(store)
    storage.set_request(request)
    session = SessionService(request)
    session.set_data_storage(storage)
    session.set_launch_data_lifetime(LAUNCH_DATA_SECONDS)
    return session, StateCookies(store), storage


class Login(OIDCLogin):
    """The OIDC login initiation: checks the platform is registered, stores state and nonce,
    and answers the address of the platform's authorization endpoint."""

    def __init__(self, request: ParamsRequest, conf: ToolConfDict, store: LaunchStore) -> None:
        session, cookies, storage = _services(request, store)
        super().__init__(
            request, conf, session_service=session, cookie_service=cookies, launch_data_storage=storage
        )

    def get_redirect(self, url: str) -> _Redirect:
        return _Redirect(url)

    def redirect_url(self, launch_url: str) -> str:
        """Where to send the browser next; LaunchRefused for an unknown platform or bad request."""
        try:
            return self.get_redirect_object(launch_url).get_redirect_url()
        except ToolConfException as exc:
            raise LaunchRefused(
                403, "This LMS is not registered with the course assistant", str(exc)
            ) from None
        except (LtiException, OIDCException) as exc:
            raise LaunchRefused(400, "The LMS's login request is incomplete", str(exc)) from None


_STEPS = (
    ("validate_state", 401, "This launch has no matching sign-in (or it is too old)"),
    ("validate_jwt_format", 400, "The launch is malformed"),
    ("validate_registration", 403, "This LMS is not registered with the course assistant"),
    ("validate_jwt_signature", 401, "The launch's signature is not valid, or it has expired"),
    ("validate_audience", 401, "The launch was meant for another tool"),
    ("validate_deployment", 403, "This deployment of the tool is not registered"),
    ("validate_nonce", 401, "This launch was already used"),
    ("validate_message", 400, "The launch message is incomplete"),
)


class Launch(MessageLaunch):
    """A resource-link or deep-linking launch, verified step by step (see the module docstring)."""

    def __init__(
        self,
        request: ParamsRequest,
        conf: ToolConfDict,
        store: LaunchStore,
        *,
        http: requests.Session | None = None,
    ) -> None:
        session, cookies, storage = _services(request, store)
        super().__init__(
            request,
            conf,
            session_service=session,
            cookie_service=cookies,
            launch_data_storage=storage,
            requests_session=http or TimeoutSession(),
        )
        self._storage = storage
        self.set_jwt_verify_options({"verify_aud": False, "require": ["exp", "iat"]})
        self.set_public_key_caching(storage, JWKS_SECONDS)

    def _get_request_param(self, key: str) -> str:
        return self._request.get_param(key)

    def validate(self) -> Launch:
        if self._restored:
            raise LaunchRefused(400, "A stored launch cannot be validated again")
        self._validated = True
        try:
            for step, status, title in _STEPS:
                try:
                    getattr(self, step)()
                except (LtiException, ToolConfException) as exc:
                    raise LaunchRefused(status, title, str(exc)) from None
            self.save_launch_data()
        except Exception:
            self._validated = False
            raise
        return self

    def validate_registration(self) -> Launch:
        try:
            return super().validate_registration()
        except ToolConfException:
            iss = self.get_iss()
            known = iss in (self._tool_config._config or {})  # the issuer, whatever the client
            if known:
                raise LaunchRefused(
                    401,
                    "The launch was meant for another tool",
                    f"its audience {self.get_client_id()!r} is not a client id registered for {iss}",
                ) from None
            raise LtiException(f"no platform with issuer {iss!r} is registered") from None

    def fetch_public_key(self, key_set_url: str):
        """The platform's JWKS; LaunchRefused (502) when it cannot be fetched or is not a key set."""
        cache_key = "key-set-url-" + hashlib.md5(key_set_url.encode()).hexdigest()
        try:
            keys = super().fetch_public_key(key_set_url)
        except LtiException as exc:
            raise LaunchRefused(502, "The assistant could not fetch the LMS's keys", str(exc)[:300]) from None
        if not isinstance(keys, dict) or not isinstance(keys.get("keys"), list):
            self._storage.take_value(cache_key)
            raise LaunchRefused(
                502, "The LMS's keys cannot be read", f"{key_set_url} did not answer a JSON Web Key Set"
            )
        return keys

    def get_public_key(self):
        try:
            return super().get_public_key()
        except LtiException:  # the platform may have rotated its keys: fetch them once more
            url = self._registration.get_key_set_url() if self._registration else None
            if not url or self._registration.get_key_set() is None:
                raise
            self._storage.take_value("key-set-url-" + hashlib.md5(url.encode()).hexdigest())
            self._registration.set_key_set(None)
            return super().get_public_key()

    def validate_audience(self) -> Launch:
        body = self._get_jwt_body()
        aud, azp = body.get("aud"), body.get("azp")
        client_id = self._registration.get_client_id()
        audiences = aud if isinstance(aud, list) else [aud]
        if client_id not in audiences:
            raise LtiException(f"the id_token's audience {aud!r} does not name this tool's client id")
        if (len(audiences) > 1 or azp) and azp != client_id:
            raise LtiException("the id_token has several audiences but its azp is not this tool's client id")
        return self

    def validate_nonce(self) -> Launch:
        nonce = self._get_jwt_body().get("nonce")
        if not nonce or not isinstance(nonce, str):
            raise LtiException('the id_token has no "nonce"')
        if not self._storage.take_value(f"lti1p3-nonce-{nonce}"):
            raise LtiException("its nonce was not issued by this tool, has expired, or was used before")
        return self

    def save_launch_data(self) -> Launch:
        # not pylti1p3's: it also marks the state valid for this id_token, letting a replay pass
        self._session_service.save_launch_data(self._launch_id, self._jwt["body"])
        return self

    @classmethod
    def restore(
        cls, launch_id: str, request: ParamsRequest, conf: ToolConfDict, store: LaunchStore
    ) -> Launch:
        """A launch verified earlier (a deep-linking request whose picker form came back), taken
        from the store: each can be used once, within an hour."""
        launch = cls(request, conf, store)
        data = launch._storage.take_value(launch_id) if launch_id.startswith("lti1p3-launch-") else None
        if not data:
            raise LaunchRefused(
                401, "This selection form has expired", "open the tool's selection again from the LMS"
            )
        launch.set_launch_id(launch_id).set_auto_validation(enable=False).set_jwt(
            {"body": data}
        ).set_restored()
        try:
            launch.validate_registration()
        except (LtiException, ToolConfException) as exc:
            raise LaunchRefused(
                403, "This LMS is not registered with the course assistant", str(exc)
            ) from None
        return launch

    def claims(self) -> dict:
        return dict(self._get_jwt_body())

    def issuer_and_client(self) -> tuple[str, str]:
        return self.get_iss(), self._registration.get_client_id()
