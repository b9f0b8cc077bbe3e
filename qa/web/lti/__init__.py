"""The assistant as an LTI 1.3 tool: Moodle, Canvas, Open edX and other LMSs add it to a course.

- :mod:`~qa.web.lti.platforms`: the registered LMSs (``lti/platforms.json``) and course mappings
- :mod:`~qa.web.lti.keys`: the tool's RSA key pair (JWKS) and session secret, made on first use
- :mod:`~qa.web.lti.storage`: state, nonces and launch data kept server side (no cookies)
- :mod:`~qa.web.lti.launch`: pylti1p3 on Starlette: OIDC login and the verified launch
- :mod:`~qa.web.lti.mapping`: which collection a course opens, and the user's role
- :mod:`~qa.web.lti.deeplink`: the instructor's choice, signed back to the LMS
- :mod:`~qa.web.lti.tokens`: the signed, expiring session token in the chat page's URL
- :mod:`~qa.web.lti.routes` and :mod:`~qa.web.lti.scoped`: the routes
- :mod:`~qa.web.lti.configuration`: what an LMS administrator pastes in (``qa lti``)

The routes are mounted by :func:`qa.web.server.create_app` when ``lti/platforms.json`` exists
(``qa lti`` creates it).
"""

from __future__ import annotations

__all__ = ["lti_enabled"]


def lti_enabled(settings) -> bool:
    """Whether the server offers the LTI tool: its platforms file exists."""
    from qa.web.lti.platforms import platforms_path

    return platforms_path(settings).exists()
