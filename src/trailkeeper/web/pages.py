"""Server-rendered pages: Jinja2 templates (autoescaped), their security headers, the stylesheet.

Pages run no script: the Content-Security-Policy allows only our stylesheet, forms posting to
ourselves (and to the app's redirect URL, which Chromium checks on the post's redirect), and no
framing, so the consent page cannot be clickjacked.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

CSS_PATH = "/oauth/static/trailkeeper.css"


@cache
def environment() -> Environment:
    """The template environment: autoescaping on, undefined names fail loudly in tests."""
    return Environment(
        loader=PackageLoader("trailkeeper.web", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        auto_reload=False,
    )


def origin_of(url: str) -> str:
    """scheme://host[:port] of a URL, for the form-action directive."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def security_headers(form_target: str = "", *, secure: bool = False) -> dict[str, str]:
    """Headers every page and redirect of the sign-in and install flow carries."""
    form_action = "'self'" + (f" {origin_of(form_target)}" if form_target else "")
    headers = {
        "Content-Security-Policy": (
            "default-src 'none'; style-src 'self'; img-src 'self'; "
            f"form-action {form_action}; frame-ancestors 'none'; base-uri 'none'"
        ),
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-store",
    }
    if secure:
        headers["Strict-Transport-Security"] = "max-age=31536000"
    return headers


def render(
    template: str,
    context: dict[str, Any],
    *,
    status: int = 200,
    form_target: str = "",
    secure: bool = False,
) -> HTMLResponse:
    """A page from a template, with the security headers."""
    html = environment().get_template(template).render(**context)
    return HTMLResponse(
        html, status_code=status, headers=security_headers(form_target, secure=secure)
    )


def redirect(url: str, *, form_target: str = "", secure: bool = False) -> RedirectResponse:
    """A 303 See Other (a form post becomes a GET), with the security headers."""
    return RedirectResponse(url, 303, headers=security_headers(form_target, secure=secure))


@cache
def _stylesheet() -> bytes:
    return resources.files("trailkeeper.web").joinpath("static/trailkeeper.css").read_bytes()


async def stylesheet(request: Request) -> Response:
    """`GET /oauth/static/trailkeeper.css`."""
    return Response(
        _stylesheet(),
        media_type="text/css; charset=utf-8",
        headers={"Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"},
    )
