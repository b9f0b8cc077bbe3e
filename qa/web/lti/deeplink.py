"""Deep linking: the instructor picks a collection, a title and the passages per answer; the
tool answers the platform with a signed ``LtiDeepLinkingResponse`` holding one resource link
whose custom parameters name the collection, bound to the course by ``qa_link``
(:func:`qa.web.lti.mapping.link_signature`)."""

from __future__ import annotations

from dataclasses import dataclass

from pylti1p3.deep_link_resource import DeepLinkResource

from qa.web.lti.launch import Launch
from qa.web.lti.mapping import context_id, link_signature

__all__ = ["LinkChoice", "response_jwt"]

SETTINGS = "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"


@dataclass(frozen=True)
class LinkChoice:
    """What the instructor chose on the picker page."""

    collection: str
    title: str
    passages: int


def return_url(launch: Launch) -> str:
    return str((launch.claims().get(SETTINGS) or {}).get("deep_link_return_url") or "")


def response_jwt(launch: Launch, choice: LinkChoice, *, launch_url: str, secret: bytes) -> str:
    """The signed deep-linking response for ``choice`` (pylti1p3 signs it with the tool's key)."""
    issuer, _ = launch.issuer_and_client()
    course = context_id(launch.claims())
    custom = {
        "collection": choice.collection,
        "passages": str(choice.passages),
        "title": choice.title,
        "qa_link": link_signature(secret, issuer, course, choice.collection),
    }
    resource = (
        DeepLinkResource()
        .set_url(launch_url)
        .set_title(choice.title)
        .set_custom_params(custom)
        .set_target("iframe")
    )
    return launch.get_deep_link().get_response_jwt([resource])
