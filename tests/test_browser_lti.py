"""The LTI tool in real Chromium, inside an LMS's iframe, with third-party cookies blocked.

A small LMS (lti1p3platform behind FastAPI) runs at http://127.0.0.1:A and the tool (``app.py``)
at http://localhost:B: two different sites, as an LMS and a tool are. The course page frames
the tool's login; the LMS's authorization endpoint posts the signed launch back into the frame,
the tool verifies it against the LMS's JWKS (fetched over HTTP) and opens the chat of the
course's collection. The frame can keep no cookie, yet a question gets a cited answer there.
"""

from __future__ import annotations

import html
import json
import os
import shutil
import threading
import time
from pathlib import Path

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from qa.config import Settings
from tests.conftest import CHROMIUM, free_port, start_server, stop_server
from tests.lti_platform import INSTRUCTOR, LEARNER, TestPlatform, write_platforms
from tests.test_collections import CELLS, ROME

pytestmark = [pytest.mark.browser, pytest.mark.slow]

COOKIE_PROBE = """() => {
  document.cookie = "qa_probe=1; SameSite=None; Secure; Path=/";
  let storage = "available";
  try { window.localStorage.setItem("qa_probe", "1"); } catch (e) { storage = "blocked"; }
  return { cookie: document.cookie.includes("qa_probe=1"), storage: storage };
}"""


LAUNCH_FORM = """<!doctype html><title>LTI tool launch</title>
<form method="POST" action="{launch_url}" id="form">
<input type="hidden" name="id_token" value="{id_token}"><input type="hidden" name="state" value="{state}">
</form><script>document.getElementById("form").submit();</script>"""


def _form_launch_class():
    """The platform's launch, answered as the auto-submitting form an LMS sends to the browser.

    lti1p3platform's own FastAPI adaptor imports ``pkg_resources``, which recent setuptools no
    longer ships; its abstract launch is all this test needs.
    """
    from lti1p3platform.message_launch import MessageLaunchAbstract

    class FormLaunch(MessageLaunchAbstract):
        def get_preflight_response(self) -> dict:
            return dict(self._request.query_params)

        def render_launch_form(self, launch_data: dict, **kwargs) -> HTMLResponse:
            values = {
                k: html.escape(str(launch_data.get(k, "")), quote=True)
                for k in ("launch_url", "id_token", "state")
            }
            return HTMLResponse(LAUNCH_FORM.format(**values))

    return FormLaunch


def lms_app(platform: TestPlatform, tool: dict):
    """The LMS: a course page framing the tool, its OIDC authorization endpoint and its JWKS."""
    from tests.lti_platform import _Conf, _Login

    _FormLaunch = _form_launch_class()
    app = FastAPI()

    @app.get("/course")
    def course(user: str = "learner-7") -> HTMLResponse:
        login = _Login(None, _Conf(registration=platform.registration()))
        login.set_lti_message_hint(hint="resource-link-1")
        src = login.initiate_login(user)
        return HTMLResponse(
            "<!doctype html><title>Biology 101 · LMS</title><body style='font-family:sans-serif;margin:16px'>"
            "<h1>Biology 101</h1><p>Week 3: cells. Ask the course assistant:</p>"
            f"<iframe id='tool' name='tool' src='{src}' "
            "style='width:100%;height:560px;border:1px solid #999'>"
            "</iframe></body>"
        )

    @app.get("/auth")
    def auth(request: Request) -> Response:
        launch = _FormLaunch(request, _Conf(registration=platform.registration()))
        user = request.query_params.get("login_hint", "")
        launch.set_user_data(user, INSTRUCTOR if user.startswith("teacher") else LEARNER)
        launch.set_launch_context_claim("course-bio", context_title="Biology 101")
        launch.set_resource_link_claim("resource-link-1", title="Course assistant")
        launch.set_launch_presentation_claim(document_target="iframe")
        return launch.lti_launch()

    @app.get("/jwks")
    def jwks() -> JSONResponse:
        tool["jwks_fetches"] = tool.get("jwks_fetches", 0) + 1
        return JSONResponse(platform.jwks())

    return app


@pytest.fixture(scope="module")
def lms_and_tool(tmp_path_factory):
    import uvicorn

    root = tmp_path_factory.mktemp("lti-course")
    (root / "seeds").mkdir()
    (root / "seeds" / "rome.md").write_text(ROME, encoding="utf-8")
    settings = Settings(root=root)
    from qa.index.collections import CollectionConfig, create_collection, save_document

    create_collection(settings, "biology", CollectionConfig(title="Biology 101"))
    save_document(settings, "biology", "cells.md", CELLS.encode())

    lms_port = free_port()
    lms_base = f"http://127.0.0.1:{lms_port}"
    platform = TestPlatform(issuer=lms_base)
    state: dict = {}
    server = uvicorn.Server(
        uvicorn.Config(lms_app(platform, state), host="127.0.0.1", port=lms_port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    entry = platform.settings_entry(
        auth_login_url=f"{lms_base}/auth",
        auth_token_url=f"{lms_base}/token",
        key_set_url=f"{lms_base}/jwks",
        courses={"course-bio": "biology"},
    )
    write_platforms(root / "lti", entry)
    proc, url = start_server(settings, root, QA_ROOT=str(root))
    tool_base = url.replace("127.0.0.1", "localhost")  # another site than the LMS's 127.0.0.1
    platform.tool_base = tool_base
    yield lms_base, tool_base, state
    stop_server(proc)
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def blocked_context(browser, tmp_path):
    """Chromium with third-party cookies blocked: the profile preference, and the switch that
    turns on Chrome's third-party-cookie phase-out (a persistent context of the session's
    Playwright, whose profile carries the preference)."""
    profile = tmp_path / "profile"
    (profile / "Default").mkdir(parents=True)
    prefs = {"profile": {"block_third_party_cookies": True, "cookie_controls_mode": 1}}
    (profile / "Default" / "Preferences").write_text(json.dumps(prefs))
    context = browser.browser_type.launch_persistent_context(
        str(profile),
        executable_path=CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium"),
        headless=True,
        viewport={"width": 1100, "height": 760},
        args=[
            "--no-sandbox",
            "--disable-gpu",
            "--test-third-party-cookie-phaseout",
            "--host-resolver-rules=MAP localhost 127.0.0.1",
        ],
    )
    yield context
    context.close()


def chat_frame(page):
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        frame = next((f for f in page.frames if "/lti/chat/" in f.url), None)
        if frame is not None:
            return frame
        page.wait_for_timeout(200)
    raise AssertionError([(f.url, f.content()[:600]) for f in page.frames[1:]])


def test_a_learner_asks_inside_the_lms_frame_with_third_party_cookies_blocked(
    blocked_context, lms_and_tool, artifacts
):
    lms_base, tool_base, state = lms_and_tool
    page = blocked_context.new_page()
    page.goto(f"{lms_base}/course")
    frame = chat_frame(page)
    assert frame.url.startswith(f"{tool_base}/lti/chat/t1.")
    assert state.get("jwks_fetches", 0) >= 1  # the tool checked the launch against the LMS's keys

    # the frame is third-party: it can keep no cookie (nor local storage) ...
    assert frame.evaluate(COOKIE_PROBE) == {"cookie": False, "storage": "blocked"}
    # ... while the same origin opened on its own (first-party) can: the blocking is what differs
    top = blocked_context.new_page()
    top.goto(f"{tool_base}/lti/config")
    assert top.evaluate(COOKIE_PROBE)["cookie"] is True
    top.close()

    frame.wait_for_selector("[data-qa-widget] input")
    frame.fill("[data-qa-widget] input", "What do ribosomes build?")
    frame.press("[data-qa-widget] input", "Enter")
    frame.wait_for_selector("[data-qa-widget] [data-role=passage]", timeout=60_000)
    answer = frame.locator("[data-qa-widget] [data-role=answer]").first.inner_text()
    assert "Ribosomes build proteins" in answer
    assert "seeds/biology/cells.md" in answer and "rome" not in answer.lower()
    page.screenshot(path=str(artifacts / "lti-launch.png"), full_page=True)
    assert os.path.getsize(artifacts / "lti-launch.png") > 10_000


def test_an_instructor_manages_only_the_courses_collection(blocked_context, lms_and_tool, artifacts):
    lms_base, tool_base, _ = lms_and_tool
    page = blocked_context.new_page()
    page.goto(f"{lms_base}/course?user=teacher-1")
    frame = chat_frame(page)
    frame.wait_for_selector("#manage")
    assert frame.locator("[data-qa-widget]").count() == 1  # the chat is there for instructors too
    with blocked_context.expect_page() as opened:
        frame.click("#manage")
    admin = opened.value
    admin.wait_for_selector("#documents tr[data-name='cells.md']", timeout=60_000)
    assert admin.url.startswith(f"{tool_base}/lti/admin/t1.")
    assert "Biology 101 (biology)" in admin.inner_text("#collection-title")
    assert not admin.is_visible("#key-form") and not admin.is_visible("#collections-section")
    assert not admin.is_visible("#delete-collection")
    assert not admin.is_visible("#keys-section")  # course keys are the operator's (admin key)
    assert "rome.md" not in admin.inner_text("#documents")
    admin.screenshot(path=str(artifacts / "lti-instructor-admin.png"), full_page=True)
