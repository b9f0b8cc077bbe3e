"""The LTI routes: ``/lti/login``, ``/lti/launch``, ``/lti/deep-link``, ``/lti/jwks`` and the
configuration an LMS administrator pastes in (``/lti/config``, ``/lti/config.json``,
``/lti/canvas.json``); the chat and admin pages a launch opens are in :mod:`qa.web.lti.scoped`.

A refused login or launch gets a short HTML page with its status that says what happened and
what to do: 400 (malformed), 401 (not verified: state, signature, expiry, audience, nonce),
403 (unknown LMS or deployment, a course not connected, a learner deep linking), 404 (its
collection is gone), 502 (the LMS's keys cannot be fetched), 503 (the platforms file is
broken) or 500; the reason goes to the log too, never a traceback.
"""

from __future__ import annotations

import hashlib
import logging

import requests
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from qa.config import Settings
from qa.errors import ConfigError, QAError
from qa.retrieval.registry import Registry
from qa.web.lti.configuration import ToolUrls, canvas_json, config_json, sections
from qa.web.lti.deeplink import LinkChoice, response_jwt, return_url
from qa.web.lti.keys import ToolKeys, load_keys
from qa.web.lti.launch import Launch, LaunchRefused, Login, ParamsRequest, tool_conf
from qa.web.lti.mapping import CourseLink, MappingRefused, choose_collection, context_id, role_of
from qa.web.lti.pages import page, refused
from qa.web.lti.platforms import Platform, load_platforms
from qa.web.lti.storage import LaunchStore
from qa.web.lti.tokens import INSTRUCTOR, TokenSigner

__all__ = ["lti_router"]

log = logging.getLogger(__name__)

CONTEXT = "https://purl.imsglobal.org/spec/lti/claim/context"


class _Tool:
    """What every LTI route shares: settings, keys, the launch store and the token signer."""

    def __init__(self, settings: Settings, keys: ToolKeys, http: requests.Session | None) -> None:
        self.settings = settings
        self.keys = keys
        self.store = LaunchStore(settings.lti_dir)
        self.signer = TokenSigner(keys.session_secret)
        self.http = http

    def urls(self, request: Request) -> ToolUrls:
        return ToolUrls(self.settings.public_url or str(request.base_url))

    def frames(self) -> tuple[str, ...]:
        try:
            return load_platforms(self.settings).frame_origins()
        except ConfigError:
            return ()

    def conf(self):
        try:
            platforms = load_platforms(self.settings)
        except ConfigError as exc:
            log.error("LTI platforms file: %s", exc)
            raise LaunchRefused(
                503, "The assistant's LMS settings cannot be read", "the server log says why"
            ) from None
        return platforms, tool_conf(platforms, self.keys)

    def refused(self, exc: LaunchRefused) -> Response:
        log.warning("LTI refused (%d): %s", exc.status, exc)
        return refused(exc.status, exc.title, exc.detail, self.frames())

    # the steps, run in a worker thread (they read files and may fetch the platform's keys) --

    def login_url(self, params: dict, secure: bool, launch_url: str) -> str:
        platforms, conf = self.conf()
        platform = platforms.find(str(params.get("iss", "")), params.get("client_id"))
        deployment = params.get("lti_deployment_id")
        if platform is not None and deployment and deployment not in platform.deployment_ids:
            raise LaunchRefused(
                403, "This deployment of the tool is not registered", f"deployment {deployment!r} is unknown"
            )
        return Login(ParamsRequest(params, secure=secure), conf, self.store).redirect_url(launch_url)

    def launch(self, params: dict, secure: bool) -> tuple[Launch, Platform]:
        platforms, conf = self.conf()
        launch = Launch(ParamsRequest(params, secure=secure), conf, self.store, http=self.http)
        launch.validate()
        platform = platforms.find(*launch.issuer_and_client())
        if platform is None:
            raise LaunchRefused(403, "This LMS is not registered with the course assistant")
        return launch, platform

    def choices(self, platform: Platform, course: str) -> tuple[list, bool]:
        """The collections an instructor of ``course`` may pick, and whether the settings fix it."""
        from qa.index.collections import collection_names, get_collection

        fixed = platform.course_collection(course)
        names = [fixed] if fixed else list(platform.collections) or collection_names(self.settings)
        found = []
        for name in names:
            try:
                found.append(get_collection(self.settings, name))
            except QAError:
                continue
        return found, bool(fixed)

    def session_url(self, launch: Launch, platform: Platform) -> str:
        from qa.index.collections import get_collection

        claims = launch.claims()
        try:
            link = choose_collection(claims, platform, self.keys.session_secret)
        except MappingRefused as exc:
            raise LaunchRefused(403, "This course is not connected to the assistant", str(exc)) from None
        try:
            collection = get_collection(self.settings, link.collection)
        except QAError:
            gone = "This course's collection does not exist any more"
            raise LaunchRefused(404, gone, _gone(link)) from None
        course = hashlib.sha256(f"{platform.issuer}\x1f{context_id(claims)}".encode()).hexdigest()[:12]
        token = self.signer.new(
            collection.name,
            role_of(claims),
            minutes=self.settings.lti_session_minutes,
            course=course,
            k=link.k,
            title=link.title or collection.title,
        )
        log.info(
            "LTI launch: course %s opens collection %s (%s, %s)",
            course,
            collection.name,
            link.source,
            role_of(claims),
        )
        return f"chat/{token}/"


async def _params(request: Request) -> dict:
    params = dict(request.query_params)
    if request.method == "POST":
        form = await request.form()
        params.update({k: v for k, v in form.items() if isinstance(v, str)})
    return params


def lti_router(
    settings: Settings, live, registry: Registry, *, http: requests.Session | None = None
) -> APIRouter:
    """The LTI 1.3 tool's routes under ``/lti`` (see the package docstring). The tool's keys
    are made on first use in ``settings.lti_dir``; ``http`` fetches the platforms' keys."""
    from qa.web.lti.scoped import scoped_router

    tool = _Tool(settings, load_keys(settings.lti_dir), http)
    router = APIRouter(prefix="/lti", include_in_schema=False)
    _setup_routes(router, tool)
    _launch_routes(router, tool)
    router.include_router(scoped_router(settings, live, registry, tool.signer, tool.frames))
    return router


def _setup_routes(router: APIRouter, tool: _Tool) -> None:
    @router.get("/jwks")
    def jwks() -> JSONResponse:
        return JSONResponse(tool.keys.jwks(), headers={"Cache-Control": "public, max-age=300"})

    @router.get("/config.json")
    def config(request: Request) -> JSONResponse:
        return JSONResponse(config_json(tool.urls(request)))

    @router.get("/canvas.json")
    def canvas(request: Request) -> JSONResponse:
        return JSONResponse(canvas_json(tool.urls(request)))

    @router.get("/config")
    def config_page(request: Request) -> Response:
        return page(
            "config.html.j2",
            (),
            title="Add the course assistant to an LMS",
            sections=sections(tool.urls(request)),
        )


def _launch_routes(router: APIRouter, tool: _Tool) -> None:
    async def answer(step, *args) -> Response:
        try:
            return await run_in_threadpool(step, *args)
        except LaunchRefused as exc:
            return tool.refused(exc)
        except Exception:  # a page in the LMS's frame, never a traceback
            log.exception("LTI %s failed", step.__name__)
            return tool.refused(
                LaunchRefused(500, "Something went wrong", "try again; the server log says why")
            )

    @router.api_route("/login", methods=["GET", "POST"])
    async def login(request: Request) -> Response:
        params = await _params(request)
        return await answer(_login, tool, params, request.url.scheme == "https", tool.urls(request).launch)

    @router.post("/launch")
    async def launch(request: Request) -> Response:
        params = await _params(request)
        return await answer(_launch, tool, params, request.url.scheme == "https")

    @router.post("/deep-link")
    async def deep_link(request: Request) -> Response:
        form = await _params(request)
        return await answer(_deep_link, tool, form, request.url.scheme == "https", tool.urls(request).launch)


def _login(tool: _Tool, params: dict, secure: bool, launch_url: str) -> Response:
    url = tool.login_url(params, secure, launch_url)
    return RedirectResponse(url, status_code=302, headers={"Cache-Control": "no-store"})


def _launch(tool: _Tool, params: dict, secure: bool) -> Response:
    """A verified resource-link launch goes to its chat; a deep-linking one to the picker."""
    verified, platform = tool.launch(params, secure)
    if verified.is_deep_link_launch():
        return _picker(tool, verified, platform)
    if not verified.is_resource_launch():
        raise LaunchRefused(
            400, "This kind of launch is not supported", "the assistant opens resource links and deep linking"
        )
    return RedirectResponse(
        tool.session_url(verified, platform), status_code=303, headers={"Cache-Control": "no-store"}
    )


def _deep_link(tool: _Tool, form: dict, secure: bool, launch_url: str) -> Response:
    """The picker's answer: the chosen link, signed, posted back to the platform."""
    _, conf = tool.conf()
    launch = Launch.restore(str(form.get("launch", "")), ParamsRequest(form, secure=secure), conf, tool.store)
    platform = load_platforms(tool.settings).find(*launch.issuer_and_client())
    claims = launch.claims()
    if platform is None or role_of(claims) != INSTRUCTOR:
        raise LaunchRefused(403, "Only the course's instructors can add the assistant")
    allowed, _ = tool.choices(platform, context_id(claims))
    chosen = next((c for c in allowed if c.name == form.get("collection")), None)
    if chosen is None:
        raise LaunchRefused(403, "This course may not use that collection", "pick one of the list")
    try:
        passages = min(max(int(form.get("passages", "")), 1), 10)
    except ValueError:
        passages = tool.settings.ui_passages
    title = str(form.get("title") or chosen.title).strip()[:120] or chosen.title
    choice = LinkChoice(chosen.name, title, passages)
    jwt = response_jwt(launch, choice, launch_url=launch_url, secret=tool.keys.session_secret)
    return page(
        "post.html.j2", tool.frames(), title="Returning to the course", action=return_url(launch), jwt=jwt
    )


def _picker(tool: _Tool, launch: Launch, platform: Platform) -> Response:
    """The deep-linking page: the collections this course may use, a title and passages."""
    claims = launch.claims()
    if role_of(claims) != INSTRUCTOR:
        raise LaunchRefused(403, "Only the course's instructors can add the assistant")
    collections, fixed = tool.choices(platform, context_id(claims))
    if not collections:
        raise LaunchRefused(
            404,
            "There is no collection this course may use yet",
            "the administrator creates one on the admin page",
        )
    course_title = str((claims.get(CONTEXT) or {}).get("title") or "")
    return page(
        "picker.html.j2",
        tool.frames(),
        title="Add the course assistant",
        action="deep-link",
        launch_id=launch.get_launch_id(),
        collections=collections,
        chosen=collections[0].name,
        fixed=fixed,
        default_title=f"Ask {course_title or collections[0].title}"[:120],
        default_k=tool.settings.ui_passages,
    )


def _gone(link: CourseLink) -> str:
    """What to do when the collection a launch opens is not there: who connected the course
    decides who can connect it again (the administrator's mapping wins over an instructor's)."""
    name = link.collection
    if link.source == "settings":
        return (
            f"The tool's administrator connected this course to the collection {name!r}, which is "
            "not there now (deleted, or mistyped in lti/platforms.json); the administrator connects "
            "it to another in that file's 'courses'."
        )
    if link.source == "default":
        return (
            f"This LMS's default collection {name!r} is not there now (deleted, or mistyped in "
            "lti/platforms.json's 'default_collection'). An instructor can connect this course to "
            "another with the LMS's 'select content' (deep linking) button."
        )
    return (
        f"An instructor connected this course to the collection {name!r}, which has been deleted "
        "since. An instructor connects it to another with the LMS's 'select content' (deep "
        "linking) button."
    )
