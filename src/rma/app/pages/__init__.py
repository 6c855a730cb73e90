"""The advisers' pages, served by the adviser app beside its JSON API.

Server-rendered (FastAPI and Jinja2): every action is a form that posts back with the
session's CSRF token and works without script. A few scripts, files in the static folder
(no inline script or style: the Content-Security-Policy forbids both), add what a form
cannot: the answer streamed as it is written, upload progress. Each route names its
permission (``permit``) exactly as the API routes do and calls the same store and
functions; reads of client data are recorded the same way. Pages live under ``/ui``
(the dashboard at ``/``); ids only in their URLs.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from rma.app.pages import admin, cases, home, letters, manuals, reference, render
from rma.app.pages.render import HERE, PAGE_PREFIX

ROUTES = [home.routes, cases.routes, letters.routes, manuals.routes, reference.routes, admin.routes]


def install(app: FastAPI) -> None:
    """The pages, their stylesheet, security headers and errors shown as pages."""
    for routes in ROUTES:
        app.include_router(routes)
    app.mount(f"{PAGE_PREFIX}/static", StaticFiles(directory=HERE / "static"), name="static")
    render.install(app)
