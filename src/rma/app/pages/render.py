"""How a page is answered: a Jinja2 template (autoescaped), the signed-in person, their
CSRF token for the forms, the security headers, and errors as pages rather than JSON.

Pages hold no inline script and no inline style, so the Content-Security-Policy can
forbid both (``default-src 'self'``): a page's few scripts are files in the static folder,
and every page works without them. Forms post back to the app with the session's CSRF token
(:mod:`rma.accounts.sessions`). URLs carry ids only, never a client's words.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from rma import constants as C
from rma.accounts.permissions import ANONYMOUS, Actor, allowed
from rma.errors import InputError, RMAError, Unauthenticated
from rma.service.errors import public_detail, status_for
from rma.text import format_pence

HERE = Path(__file__).parent
TEMPLATES = Jinja2Templates(directory=HERE / "templates")
TEMPLATES.env.filters["money"] = lambda pence: "" if pence is None else format_pence(pence)
PAGE_PREFIX = "/ui"
# Paths the browser docs of the JSON API live on: they load their own scripts.
API_DOCS = ("/docs", "/redoc", "/openapi.json")
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def is_page(request: Request) -> bool:
    path = request.url.path
    return path == "/" or path.startswith(PAGE_PREFIX + "/")


def actor_of(request: Request) -> Actor:
    return getattr(request.state, "actor", None) or ANONYMOUS


def page(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    """``template`` rendered for the person signed in (``actor``, ``csrf``, ``may``)."""
    response = TEMPLATES.TemplateResponse(
        request, template, _context(request) | context, status_code=status
    )
    response.headers["Cache-Control"] = "no-store"  # pages hold client data
    return response


def fragment(request: Request, template: str, **context: Any) -> str:
    """Part of a page (a template that extends nothing) as HTML, rendered as :func:`page`
    renders, for a script to put in place."""
    return TEMPLATES.get_template(template).render(_context(request) | context)


def _context(request: Request) -> dict[str, Any]:
    actor = actor_of(request)
    session = getattr(request.state, "session", None)
    return {
        "request": request,
        "actor": actor,
        "csrf": session.csrf_token if session else "",
        "csrf_field": C.CSRF_FORM_FIELD,
        "may": lambda action, resource=None: allowed(actor, action, resource),
    }


def back_to(url: str) -> RedirectResponse:
    """After a form is handled: the page to show next (303, so a reload does not repost)."""
    return RedirectResponse(url, status_code=303)


def error_page(request: Request, status: int, message: str) -> HTMLResponse:
    if status == 401:  # not an error on the way in: the sign-in form, with what it is for
        return page(request, "sign_in.html", status, notice=message)
    return page(request, "error.html", status, code=status, message=message)


Handler = Callable[[Request, Exception], Awaitable[Response]]


def _handler(app: FastAPI, kind: type[Exception]) -> Handler:
    """The error handler the app factory installed for ``kind`` (the JSON API's)."""
    return app.exception_handlers[kind]  # type: ignore[return-value]


def install(app: FastAPI) -> None:
    """Security headers on every response, and errors on page paths as pages (the JSON
    API keeps its JSON errors)."""
    json_error = _handler(app, RMAError)
    json_invalid = _handler(app, RequestValidationError)

    async def rma_error(request: Request, exc: Exception) -> Response:
        if not is_page(request) or not isinstance(exc, RMAError):
            return await json_error(request, exc)
        if isinstance(exc, Unauthenticated):
            return error_page(request, 401, "Sign in to continue.")
        return error_page(request, status_for(exc), public_detail(exc))

    async def invalid(request: Request, exc: Exception) -> Response:
        if not is_page(request) or not isinstance(exc, RequestValidationError):
            return await json_invalid(request, exc)
        fields = sorted({str(e.get("loc", ("", ""))[-1]) for e in exc.errors()})
        message = "The form is missing something or has a value that does not fit: " + ", ".join(
            f.replace("_", " ") for f in fields
        )
        return error_page(request, InputError.status_code, message)

    app.add_exception_handler(RMAError, rma_error)
    app.add_exception_handler(RequestValidationError, invalid)

    @app.middleware("http")
    async def security_headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        if request.url.path not in API_DOCS:
            for name, value in SECURITY_HEADERS.items():
                response.headers.setdefault(name, value)
        return response
