"""What an LMS administrator pastes in: the tool's URLs, per LMS, as text (``qa lti``), as a
page (``/lti/config``) and as JSON (``/lti/config.json``, and Canvas's developer-key JSON at
``/lti/canvas.json``)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

__all__ = ["ToolUrls", "canvas_json", "config_json", "format_text", "sections"]

TOOL_TITLE = "Course assistant"
TOOL_DESCRIPTION = "Answers questions with quoted, cited passages of the course documents."


@dataclass(frozen=True)
class ToolUrls:
    """The tool's addresses under one public base URL."""

    base: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "base", self.base.rstrip("/"))

    @property
    def login(self) -> str:
        return f"{self.base}/lti/login"

    @property
    def launch(self) -> str:
        return f"{self.base}/lti/launch"

    @property
    def jwks(self) -> str:
        return f"{self.base}/lti/jwks"

    @property
    def deep_link(self) -> str:
        """Deep-linking requests come to the launch URL too (the message type tells them apart)."""
        return self.launch

    @property
    def domain(self) -> str:
        return urlsplit(self.base).netloc


def sections(urls: ToolUrls) -> list[dict]:
    """The fields of each LMS's registration form, in the order the forms show them."""
    return [
        {
            "title": "Moodle 4.x: Site administration › Plugins › Activity modules › External tool › "
            "Manage tools › configure a tool manually",
            "fields": [
                ("Tool name", TOOL_TITLE),
                ("Tool URL", urls.launch),
                ("LTI version", "LTI 1.3"),
                ("Public key type", "Keyset URL"),
                ("Public keyset", urls.jwks),
                ("Initiate login URL", urls.login),
                ("Redirection URI(s)", urls.launch),
                ("Supports Deep Linking (Content-Item Message)", "yes (ticked)"),
                ("Content Selection URL", urls.deep_link),
                ("Default launch container", "Embed, without blocks"),
                ("Share launcher's name / email with tool", "Never (not needed)"),
                (
                    "Then, from the tool's 'View configuration details'",
                    "Platform ID → issuer, Client ID → client_id, Deployment ID → deployment_ids, "
                    "Authentication request URL → auth_login_url, Access token URL → auth_token_url, "
                    "Public keyset URL → key_set_url",
                ),
            ],
        },
        {
            "title": "Canvas: Admin › Developer Keys › + Developer Key › + LTI Key "
            "(or paste the JSON of /lti/canvas.json)",
            "fields": [
                ("Key Name / Title", TOOL_TITLE),
                ("Redirect URIs", urls.launch),
                ("Target Link URI", urls.launch),
                ("OpenID Connect Initiation Url", urls.login),
                ("JWK Method", f"Public JWK URL: {urls.jwks}"),
                (
                    "Placements",
                    "Course Navigation (LtiResourceLinkRequest); Link Selection and Editor Button "
                    f"(LtiDeepLinkingRequest, target {urls.deep_link})",
                ),
                ("Privacy level", "Anonymous (the tool needs no names or e-mails)"),
                (
                    "Then",
                    "turn the key ON, install it by Client ID under Settings › Apps, and copy its "
                    "Deployment Id. In platforms.json: issuer https://canvas.instructure.com, client_id "
                    "= the key's ID, auth_login_url https://sso.canvaslms.com/api/lti/authorize_redirect, "
                    "auth_token_url https://sso.canvaslms.com/login/oauth2/token, key_set_url "
                    "https://sso.canvaslms.com/api/lti/security/jwks, frame_origins [your Canvas address]",
                ),
            ],
        },
    ]


def config_json(urls: ToolUrls) -> dict:
    """The tool's configuration as JSON (any LMS)."""
    return {
        "title": TOOL_TITLE,
        "description": TOOL_DESCRIPTION,
        "lti_version": "1.3.0",
        "oidc_initiation_url": urls.login,
        "target_link_uri": urls.launch,
        "redirect_uris": [urls.launch],
        "deep_linking_url": urls.deep_link,
        "public_jwk_url": urls.jwks,
        "messages": ["LtiResourceLinkRequest", "LtiDeepLinkingRequest"],
        "scopes": [],
    }


def canvas_json(urls: ToolUrls) -> dict:
    """Canvas's developer-key JSON ('Paste JSON' or 'Enter URL')."""
    resource = {"message_type": "LtiResourceLinkRequest", "target_link_uri": urls.launch}
    deep = {"message_type": "LtiDeepLinkingRequest", "target_link_uri": urls.deep_link}
    return {
        "title": TOOL_TITLE,
        "description": TOOL_DESCRIPTION,
        "oidc_initiation_url": urls.login,
        "target_link_uri": urls.launch,
        "public_jwk_url": urls.jwks,
        "scopes": [],
        "custom_fields": {},
        "extensions": [
            {
                "platform": "canvas.instructure.com",
                "domain": urls.domain,
                "privacy_level": "anonymous",
                "settings": {
                    "text": TOOL_TITLE,
                    "placements": [
                        {
                            "placement": "course_navigation",
                            "text": TOOL_TITLE,
                            "default": "disabled",
                            **resource,
                        },
                        {"placement": "link_selection", "text": TOOL_TITLE, **deep},
                        {"placement": "editor_button", "text": TOOL_TITLE, **deep},
                    ],
                },
            }
        ],
    }


def format_text(urls: ToolUrls, *, platforms_file: str, platforms: int) -> str:
    """``qa lti``'s output: the fields per LMS, then where the platform's values go."""
    lines = [
        f"LTI 1.3 tool at {urls.base}",
        f"  Login (OIDC initiation) URL : {urls.login}",
        f"  Launch / redirect URL       : {urls.launch}",
        f"  Deep-linking URL            : {urls.deep_link}",
        f"  Public keyset (JWKS) URL    : {urls.jwks}",
        f"  Configuration JSON          : {urls.base}/lti/config.json  (Canvas: {urls.base}/lti/canvas.json)",
        "",
    ]
    for section in sections(urls):
        lines.append(section["title"])
        lines.extend(f"  {name}: {value}" for name, value in section["fields"])
        lines.append("")
    lines.append(f"Registered platforms: {platforms}, in {platforms_file}")
    lines.append(
        "Add each LMS's issuer, client_id, deployment_ids and URLs there "
        "(README: 'Add the assistant to an LMS')."
    )
    return "\n".join(lines)
