"""The LTI pages, rendered from Jinja2 templates (everything escaped), with the headers that
let the registered LMSs frame them."""

from __future__ import annotations

import functools

from fastapi.responses import HTMLResponse

__all__ = ["page", "refused"]


@functools.cache
def _env():
    from jinja2 import Environment, PackageLoader, select_autoescape

    return Environment(
        loader=PackageLoader("qa.web.lti", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
    )


def headers(frame_origins: tuple[str, ...]) -> dict[str, str]:
    """No caching (a page may hold a session link) and ``frame-ancestors`` for the platforms."""
    ancestors = " ".join(["'self'", *frame_origins])
    return {
        "Cache-Control": "no-store",
        "Content-Security-Policy": f"frame-ancestors {ancestors}",
        "Referrer-Policy": "same-origin",
    }


def page(template: str, frame_origins: tuple[str, ...], *, status: int = 200, **context) -> HTMLResponse:
    html = _env().get_template(template).render(**context)
    return HTMLResponse(html, status_code=status, headers=headers(frame_origins))


def refused(status: int, title: str, detail: str, frame_origins: tuple[str, ...]) -> HTMLResponse:
    """The page a refused login, launch or session shows: what happened and what to do."""
    return page("refused.html.j2", frame_origins, status=status, code=status, title=title, detail=detail)
