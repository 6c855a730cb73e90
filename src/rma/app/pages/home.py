"""Signing in and out, and the dashboard: my cases (a page at a time, newest activity
first), deadlines coming up, letters waiting for a supervisor's approval, documents whose
figures wait to be confirmed."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from rma import constants as C
from rma.accounts.permissions import ALL, Actor, case_reach
from rma.accounts.web import check_assignment, note_object, permit, sign_in, sign_out
from rma.app.actor import CaseOpener
from rma.app.deps import StoreDep
from rma.app.pages.render import PAGE_PREFIX, back_to, page
from rma.cases.schema import ClientDetails, NewCase
from rma.cases.views import case_line
from rma.errors import InputError, TooManyAttempts

routes = APIRouter(include_in_schema=False)
DEADLINES_SHOWN = 20

SignInPage = Annotated[Actor, Depends(permit("session.login"))]
SigningOut = Annotated[Actor, Depends(permit("session.logout"))]
SignedIn = Annotated[Actor, Depends(permit("session.read"))]


@routes.get("/")
async def dashboard(
    request: Request,
    store: StoreDep,
    actor: SignedIn,
    page_number: Annotated[int, Query(alias="page", ge=1, le=100_000)] = 1,
) -> HTMLResponse:
    """The dashboard (an anonymous visitor gets the sign-in page instead): open cases a
    page at a time, newest activity first, and the work waiting across all of them."""
    reach = case_reach(actor)
    cases, work, total, names = [], None, 0, {}
    if reach is not None:
        visible = None if reach is ALL else (actor.id, actor.team_id)
        found, total = await store.cases_page(
            status="open", visible_to=visible, page=page_number, per_page=C.CASES_PER_PAGE
        )
        cases = [case_line(c) for c in found]
        work = await store.worklist(visible_to=visible)
        # The cases the work lists name, wherever they are in the pages.
        named = [d.case_id for d in work.deadlines[:DEADLINES_SHOWN]]
        named += [*work.proposed_debts, *(case_id for case_id, _ in work.letters_submitted)]
        names = await store.references(named)
    pages = max(1, -(-total // C.CASES_PER_PAGE))
    return page(request, "dashboard.html", cases=cases, work=work, names=names, total=total,
                page_number=page_number, pages=pages, per_page=C.CASES_PER_PAGE,
                deadlines_shown=DEADLINES_SHOWN)  # fmt: skip


@routes.get(f"{PAGE_PREFIX}/sign-in")
async def sign_in_page(request: Request, _: SignInPage) -> HTMLResponse:
    return page(request, "sign_in.html")


@routes.post(f"{PAGE_PREFIX}/sign-in")
async def sign_in_form(
    request: Request,
    _: SignInPage,
    email: Annotated[str, Form(max_length=254)],
    password: Annotated[str, Form(max_length=1024)],
) -> Response:
    response = RedirectResponse("/", status_code=303)
    try:
        await sign_in(request, response, email, password)
    except TooManyAttempts as exc:
        return page(request, "sign_in.html", 429, message=str(exc), email=email)
    except InputError as exc:
        return page(request, "sign_in.html", exc.status_code, message=str(exc), email=email)
    return response


@routes.post(f"{PAGE_PREFIX}/sign-out")
async def sign_out_form(request: Request, _: SigningOut) -> Response:
    response = back_to(f"{PAGE_PREFIX}/sign-in")
    await sign_out(request, response)
    return response


@routes.post(f"{PAGE_PREFIX}/cases")
async def open_case(
    request: Request,
    store: StoreDep,
    actor: CaseOpener,
    client_name: Annotated[str, Form(min_length=1, max_length=200)],
) -> Response:
    """Open a case for a new client (the adviser's own, in their team)."""
    adviser, team = await check_assignment(request, actor, adviser_id=None, team_id=None)
    new = NewCase(
        client=ClientDetails.model_validate({"name": client_name}), adviser_id=adviser, team_id=team
    )
    case = await store.create_case(actor, new)
    note_object(request, case_id=case.id, object_type="case", object_id=case.id)
    return back_to(f"{PAGE_PREFIX}/cases/{case.id}")
