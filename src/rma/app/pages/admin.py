"""Administration pages: users and their roles (create, change role, disable), the
manuals (list, upload, delete after a confirm step) and the audit log (newest first, by
case or action). The decisions are the directory's, the RAG service's and the audit
log's, as in the JSON API."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, Response

from rma.accounts.permissions import ROLES
from rma.accounts.web import Auditor, UserLister, UserManager, accounts_of
from rma.app.actor import ManualDeleter, ManualUploader
from rma.app.deps import StateDep
from rma.app.pages.manuals import MANUAL_ID, ManualId
from rma.app.pages.render import PAGE_PREFIX, back_to, page
from rma.app.routes.manuals import ManualBody, send_manual
from rma.errors import NotFound
from rma.rag.manuals import SUFFIXES

routes = APIRouter(prefix=f"{PAGE_PREFIX}/admin", include_in_schema=False)
AUDIT_PAGE = 200


@routes.get("/users")
async def users_page(request: Request, _: UserLister) -> HTMLResponse:
    directory = accounts_of(request).directory
    users = [u.as_dict() for u in await directory.users()]
    teams = [name for _, name in await directory.teams()]
    return page(request, "users.html", users=users, teams=teams, roles=ROLES)


@routes.post("/users")
async def create_user(
    request: Request,
    actor: UserManager,
    email: Annotated[str, Form(max_length=254)],
    role: Annotated[str, Form(max_length=20)],
    password: Annotated[str, Form(max_length=1024)],
    display_name: Annotated[str, Form(max_length=120)] = "",
    team: Annotated[str, Form(max_length=120)] = "",
) -> Response:
    await accounts_of(request).directory.create_user(
        actor, email=email, display_name=display_name, role=role, password=password,
        team=team.strip() or None,
    )  # fmt: skip
    return back_to(f"{PAGE_PREFIX}/admin/users")


@routes.post("/users/{user_id}")
async def change_user(
    request: Request,
    user_id: int,
    actor: UserManager,
    role: Annotated[str, Form(max_length=20)] = "",
    active: Annotated[str, Form(max_length=5)] = "",
) -> Response:
    """Change a user's role, or disable or enable them."""
    directory = accounts_of(request).directory
    if role:
        await directory.set_role(actor, user_id, role)
    if active in ("yes", "no"):
        await directory.set_active(actor, user_id, active == "yes")
    return back_to(f"{PAGE_PREFIX}/admin/users#user-{user_id}")


@routes.get("/audit")
async def audit_page(
    request: Request,
    _: Auditor,
    case: Annotated[int | None, Query(alias="case_id", ge=1)] = None,
    action: Annotated[str | None, Query(max_length=60, pattern=r"^[a-z_.]*$")] = None,
) -> HTMLResponse:
    audit = accounts_of(request).audit
    entries = await audit.entries(
        case_id=case, action=action or None, limit=AUDIT_PAGE, newest_first=True
    )
    return page(request, "audit.html", entries=entries, case_id=case, action=action or "",
                shown=AUDIT_PAGE)  # fmt: skip


@routes.get("/manuals")
async def manuals_page(
    request: Request,
    state: StateDep,
    _: ManualUploader,
    deleted: Annotated[str | None, Query(max_length=130, pattern=MANUAL_ID)] = None,
) -> HTMLResponse:
    """The manuals the RAG service holds, a form to upload one, and a delete link each."""
    return await _manuals(request, state, deleted=deleted)


@routes.post("/manuals")
async def upload_manual(
    request: Request, state: StateDep, _: ManualUploader, body: ManualBody
) -> HTMLResponse:
    """Upload a manual (the page's form; the CSRF token in the query, as every upload
    form sends it) and show what its ingest did beside the list."""
    result = await send_manual(state, request, body)
    return await _manuals(request, state, result=result)


async def _manuals(request: Request, state: StateDep, **shown: Any) -> HTMLResponse:
    documents = (await state.services.manuals.list())["documents"]
    accept = ",".join(sorted(SUFFIXES))
    return page(request, "manuals.html", documents=documents, accept=accept, **shown)


@routes.get("/manuals/{manual_id}/delete")
async def confirm_delete(
    request: Request, state: StateDep, _: ManualDeleter, manual_id: ManualId
) -> HTMLResponse:
    """The confirm step before a manual is deleted."""
    documents = (await state.services.manuals.list())["documents"]
    manual = next((d for d in documents if d["id"] == manual_id), None)
    if manual is None:
        raise NotFound(f"no manual with id {manual_id!r}")
    return page(request, "manual_delete.html", manual=manual)


@routes.post("/manuals/{manual_id}/delete")
async def delete_manual(state: StateDep, _: ManualDeleter, manual_id: ManualId) -> Response:
    await state.services.manuals.delete(manual_id)
    return back_to(f"{PAGE_PREFIX}/admin/manuals?deleted={manual_id}")
