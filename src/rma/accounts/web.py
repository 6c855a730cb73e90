"""Accounts in the adviser app: who is calling, whether they may, and a record of it.

- :func:`current_actor`: the one dependency that says who is calling: a session cookie
  (with its CSRF token on every POST, PUT, PATCH and DELETE), a bearer token (personal;
  a service token is accepted but the table gives services nothing in the app), or
  nobody (:data:`~rma.accounts.permissions.ANONYMOUS`).
- :func:`permit`: ``Depends(permit("cases.read"))`` on every route. It asks
  :func:`~rma.accounts.permissions.authorise` (with the case named by the route's
  ``case_id``, so an adviser reaches only their own and their team's cases) and marks
  the request for the audit. A route without it is refused at start-up by
  :func:`check_rules`, and the permission-matrix test names it.
- :func:`install`: the routes below, and the audit of every permitted or refused
  request (who, when, action, case and object ids, outcome, request id). If the entry
  cannot be written, the response is replaced by a 503: nothing is shown unrecorded.
- ``routes``: sign in and out, who am I, one's own API tokens; users, settings and the
  audit log for admins; submitting, approving and returning letters.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field

from rma import constants as C
from rma.accounts.approvals import LetterApprovals, Organisation, case_resource
from rma.accounts.audit import AuditEvent, AuditLog
from rma.accounts.directory import Directory, actor_of
from rma.accounts.gate import presented_credential
from rma.accounts.permissions import (
    ANONYMOUS,
    PERMISSIONS,
    Actor,
    Resource,
    authorise,
)
from rma.accounts.sessions import (
    ActiveSession,
    CookiePolicy,
    Sessions,
    csrf_matches,
    host_is_local,
)
from rma.accounts.tokens import Tokens
from rma.cases.models import User
from rma.cases.store import CaseStore
from rma.config import Settings
from rma.db.engine import Database
from rma.errors import ConfigError, Forbidden, InputError, NotFound
from rma.service.edge import OPEN_PATHS
from rma.service.errors import error_body

log = logging.getLogger("rma.accounts")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
# Outcome recorded for a response status; anything else 4xx is "rejected".
OUTCOMES = {401: "unauthenticated", 403: "denied", 404: "not_found", 409: "conflict", 429: "locked"}


@dataclass
class Accounts:
    """Everything the web layer needs, kept on ``app.state.accounts``."""

    settings: Settings
    database: Database
    directory: Directory
    sessions: Sessions
    tokens: Tokens
    audit: AuditLog
    letters: LetterApprovals
    organisation: Organisation

    @classmethod
    def build(cls, settings: Settings, database: Database) -> Accounts:
        return cls(
            settings=settings,
            database=database,
            directory=Directory(database, settings),
            sessions=Sessions(database, CookiePolicy.from_settings(settings)),
            tokens=Tokens(database, default_days=settings.rma_token_days),
            audit=AuditLog(database),
            letters=LetterApprovals(database),
            organisation=Organisation(database),
        )


def accounts_of(request: Request) -> Accounts:
    found = getattr(request.app.state, "accounts", None)
    if found is None:
        raise ConfigError("this app has no accounts: call rma.accounts.web.install(app, ...)")
    return found  # type: ignore[no-any-return]


@dataclass
class AuditMark:
    """What the audit middleware records for this request (set by ``permit``)."""

    actor: Actor
    action: str
    case_id: int | None = None
    object_type: str | None = None
    object_id: str | None = None


# ------------------------------------------------------------------- who is calling


async def current_actor(request: Request) -> Actor:
    """Who is calling: from a bearer token, else the session cookie, else nobody (an
    ended session counts as nobody: the route then asks them to sign in)."""
    return await _resolve(request, csrf=True)


async def _resolve(request: Request, *, csrf: bool) -> Actor:
    cached = getattr(request.state, "actor", None)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    accounts = accounts_of(request)
    actor = ANONYMOUS
    presented = presented_credential(request.headers)
    if presented:
        actor = await accounts.tokens.actor_for(presented)
    else:
        cookie = request.cookies.get(accounts.sessions.policy.name)
        session = await accounts.sessions.find(cookie) if cookie else None
        if session is not None:
            if csrf and request.method not in SAFE_METHODS:
                await _check_csrf(request, session)
            request.state.session = session
            actor = actor_of(session.user, "session")
    request.state.actor = actor
    return actor


async def _check_csrf(request: Request, session: ActiveSession) -> None:
    """A request that changes something, sent with the session cookie, must carry the
    session's CSRF token (header or form field) and come from this site."""
    origin = request.headers.get("Origin")
    if origin and origin != "null" and origin.split("://", 1)[-1] != request.headers.get("Host"):
        raise Forbidden("this request came from another site")
    token = request.headers.get(C.CSRF_HEADER)
    kind = request.headers.get("Content-Type", "")
    # A plain form may carry it as a field. A file upload's body is read later, within its
    # size limit, and is not parsed before the caller is known: a script sends the header,
    # a page's upload form (no script) the query parameter.
    if not token and kind.startswith("application/x-www-form-urlencoded"):
        form = await request.form()
        field = form.get(C.CSRF_FORM_FIELD)
        token = field if isinstance(field, str) else None
    elif not token and kind.startswith("multipart/form-data"):
        token = request.query_params.get(C.CSRF_FORM_FIELD)
    if not csrf_matches(session.id, token):
        raise Forbidden(
            f"the CSRF token is missing or wrong: send it as {C.CSRF_HEADER} or the "
            f"{C.CSRF_FORM_FIELD} form field (reload the page to get a new one)"
        )


CurrentActor = Annotated[Actor, Depends(current_actor)]


def permit(action: str) -> Callable[[Request], Awaitable[Actor]]:
    """A dependency that lets the request through only if the permission table allows
    ``action`` (for the case in the path, if the action is on a case), and yields the
    actor. Every route of the app has exactly one."""
    if action not in PERMISSIONS:
        raise ConfigError(f"permit({action!r}): the permission table has no such action")
    on_case = PERMISSIONS[action].case
    # An action open to anonymous callers (signing in) lends the cookie no authority, so it
    # needs no CSRF token: a signed-in person can sign in again from a fresh page.
    csrf = "anonymous" not in PERMISSIONS[action].grants

    async def permitted(request: Request) -> Actor:
        mark = AuditMark(ANONYMOUS, action)
        request.state.audit = mark
        _mark_object(request, mark)
        mark.actor = await _resolve(request, csrf=csrf)
        resource = None
        if on_case and mark.case_id is not None:
            async with accounts_of(request).database.session() as session:
                resource = await case_resource(session, mark.case_id)
        authorise(mark.actor, action, resource)
        return mark.actor

    permitted.rma_action = action  # type: ignore[attr-defined]
    return permitted


def _mark_object(request: Request, mark: AuditMark) -> None:
    """Case and object ids from the path (validated: they are only ever ids)."""
    params = request.path_params
    case = params.get("case_id")
    if case is not None:
        try:
            mark.case_id = int(case)
        except (TypeError, ValueError):
            raise NotFound(f"there is no case {str(case)[:20]!r}") from None
    for name, value in params.items():
        if name != "case_id" and name.endswith("_id") and _ID.match(str(value)):
            mark.object_type, mark.object_id = name.removesuffix("_id"), str(value)
            break


# The case id a new case is checked under, before it has one.
NEW_CASE = 0


async def check_assignment(
    request: Request,
    actor: Actor,
    *,
    case_id: int = NEW_CASE,
    adviser_id: int | None,
    team_id: int | None,
) -> tuple[int | None, int | None]:
    """Who a case goes to: the adviser and team asked for, else the actor and the
    adviser's team. ``cases.assign`` decides: an adviser may name only themselves or a
    teammate, and only their own team. Returns the (adviser_id, team_id) to store."""
    if adviser_id is None and actor.kind == "person":
        adviser_id = actor.id
    adviser_team = None
    if adviser_id is not None:
        async with accounts_of(request).database.session() as session:
            adviser = await session.get(User, adviser_id)
        if adviser is None:
            raise NotFound(f"there is no user #{adviser_id} to assign the case to")
        adviser_team = adviser.team_id
    team_id = adviser_team if team_id is None else team_id
    authorise(actor, "cases.assign", Resource(case_id, adviser_id, adviser_team))
    if team_id is not None:
        authorise(actor, "cases.assign", Resource(case_id, team_id=team_id))
    return adviser_id, team_id


def note_object(
    request: Request, *, case_id: int | None = None, object_type: str | None = None,
    object_id: int | str | None = None,
) -> None:  # fmt: skip
    """Let the audit entry name what a route created (a new case, a new letter)."""
    mark: AuditMark | None = getattr(request.state, "audit", None)
    if mark is None:
        return
    if case_id is not None:
        mark.case_id = case_id
    if object_type is not None:
        mark.object_type = object_type
        mark.object_id = None if object_id is None else str(object_id)


@dataclass(frozen=True)
class RouteInfo:
    """One route of an app, as the permission checks see it."""

    path: str
    methods: frozenset[str]
    params: tuple[str, ...]
    action: str | None  # what its permit names (None: it has none)

    def describe(self) -> str:
        return f"{', '.join(sorted(self.methods))} {self.path}"


def app_routes(app: FastAPI) -> list[RouteInfo]:
    """Every API route of ``app``, included routers' too (newer FastAPI keeps those
    nested rather than copied into ``app.routes``)."""
    try:
        from fastapi.routing import iter_route_contexts  # type: ignore[attr-defined]
    except ImportError:  # older FastAPI copies included routes into app.routes
        contexts: list[Any] = list(app.routes)
    else:
        contexts = list(iter_route_contexts(app.routes))
    found = []
    for context in contexts:
        route = getattr(context, "original_route", context)
        if not isinstance(route, APIRoute):
            continue
        path = getattr(context, "path", None) or route.path
        params = tuple(getattr(context, "param_convertors", route.param_convertors))
        found.append(RouteInfo(path, frozenset(route.methods or ()), params, _action_of(route)))
    return found


def _action_of(route: APIRoute) -> str | None:
    stack = [route.dependant]
    while stack:
        dependant = stack.pop()
        action = getattr(dependant.call, "rma_action", None)
        if action is not None:
            return str(action)
        stack.extend(dependant.dependencies)
    return None


def check_rules(app: FastAPI) -> None:
    """Refuse to start an app with a route that no permission rule covers."""
    missing = [
        r.describe() for r in app_routes(app) if r.path not in OPEN_PATHS and r.action is None
    ]
    if missing:
        raise ConfigError(
            "routes without a permission rule (add Depends(permit(...))): " + "; ".join(missing)
        )


# ------------------------------------------------------------------- the audit of requests


def _outcome(status: int) -> str:
    if status < 400:
        return "ok"
    if status >= 500:
        return "error"
    return OUTCOMES.get(status, "rejected")


def install(app: FastAPI, settings: Settings, database: Database) -> Accounts:
    """Give ``app`` accounts: the state, the routes and the audit of every request."""
    accounts = Accounts.build(settings, database)
    app.state.accounts = accounts
    app.include_router(routes)

    @app.middleware("http")
    async def audit_requests(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        mark: AuditMark | None = getattr(request.state, "audit", None)
        if mark is None:
            return response
        route = getattr(request.scope.get("route"), "path", "")
        rid = response.headers.get(C.REQUEST_ID_HEADER)
        try:
            event = AuditEvent(
                mark.action,
                outcome=_outcome(response.status_code),
                case_id=mark.case_id,
                object_type=mark.object_type,
                object_id=mark.object_id,
                detail={"method": request.method, "route": route, "status": response.status_code},
            )
            await accounts.audit.record(mark.actor, event, request_id=rid)
        except Exception as exc:  # never show what could not be recorded
            log.error("audit entry not written", extra={"error": type(exc).__name__})
            return JSONResponse(
                error_body("audit_unavailable", "the audit log could not be written; try again"),
                status_code=503,
            )
        return response

    return accounts


# ------------------------------------------------------------------- routes

routes = APIRouter(tags=["accounts"])

LoginActor = Annotated[Actor, Depends(permit("session.login"))]
SigningOut = Annotated[Actor, Depends(permit("session.logout"))]
SignedIn = Annotated[Actor, Depends(permit("session.read"))]
TokenOwner = Annotated[Actor, Depends(permit("tokens.own"))]
UserLister = Annotated[Actor, Depends(permit("users.list"))]
UserManager = Annotated[Actor, Depends(permit("users.manage"))]
SettingsReader = Annotated[Actor, Depends(permit("settings.read"))]
SettingsChanger = Annotated[Actor, Depends(permit("settings.update"))]
Auditor = Annotated[Actor, Depends(permit("audit.read"))]
LetterSubmitter = Annotated[Actor, Depends(permit("letters.submit"))]
LetterApprover = Annotated[Actor, Depends(permit("letters.approve"))]
LetterReleaser = Annotated[Actor, Depends(permit("letters.release"))]
CaseReader = Annotated[Actor, Depends(permit("cases.read"))]


class Credentials(BaseModel):
    email: str = Field(max_length=254)
    password: str = Field(max_length=C.PASSWORD_MAX_CHARS)


def describe(actor: Actor, session: ActiveSession | None = None) -> dict[str, Any]:
    """The signed-in person as the app shows them: role, team, what they may do."""
    return {
        "name": actor.name,
        "id": actor.id,
        "role": actor.role,
        "team_id": actor.team_id,
        "via": actor.via,
        # On a case: for the cases the role reaches (an adviser: their own and their team's).
        "may": sorted(a for a, r in PERMISSIONS.items() if actor.caller in r.grants),
        "csrf_token": session.csrf_token if session else None,
        "session_expires_at": session.expires_at.isoformat() if session else None,
    }  # fmt: skip


async def sign_in(request: Request, response: Response, email: str, password: str) -> ActiveSession:
    """Check the credentials, start a new session (ending any the browser had) and set
    its cookie on ``response``. For the JSON route below and the sign-in page."""
    accounts = accounts_of(request)
    policy = accounts.sessions.policy
    if not policy.secure and not host_is_local(request.headers.get("Host", "")):
        raise Forbidden(
            "sign-in without Secure cookies is for http://localhost only: set "
            "RMA_SESSION_COOKIE_SECURE=true and serve the app over HTTPS"
        )
    user = await accounts.directory.sign_in(email, password)
    session = await accounts.sessions.start(user, replacing=request.cookies.get(policy.name))
    response.set_cookie(policy.name, session.id, **policy.options())  # type: ignore[arg-type]
    request.state.actor = actor_of(user, "session")
    mark: AuditMark | None = getattr(request.state, "audit", None)
    if mark is not None:
        mark.actor = request.state.actor
    return session


async def sign_out(request: Request, response: Response) -> None:
    accounts = accounts_of(request)
    policy = accounts.sessions.policy
    cookie = request.cookies.get(policy.name)
    if cookie:
        await accounts.sessions.end(cookie)
    response.delete_cookie(policy.name, path="/", secure=policy.secure, httponly=True)


@routes.post("/auth/login")
async def login(
    request: Request, response: Response, body: Credentials, _: LoginActor
) -> dict[str, Any]:
    """Sign in with email and password: sets the session cookie, returns the CSRF token."""
    session = await sign_in(request, response, body.email, body.password)
    return describe(actor_of(session.user, "session"), session)


@routes.post("/auth/logout", status_code=204)
async def logout(request: Request, response: Response, _: SigningOut) -> None:
    """End this session (the cookie stops working at once)."""
    await sign_out(request, response)


@routes.get("/auth/me")
async def me(request: Request, actor: SignedIn) -> dict[str, Any]:
    return describe(actor, getattr(request.state, "session", None))


class TokenRequest(BaseModel):
    name: str = Field(min_length=1, max_length=80)
    days: int | None = Field(None, ge=1, le=C.TOKEN_MAX_DAYS)


@routes.get("/auth/tokens")
async def my_tokens(request: Request, actor: TokenOwner) -> list[dict[str, Any]]:
    tokens = await accounts_of(request).tokens.list(user_id=actor.id, kind="personal")
    return [t.as_dict() for t in tokens]


@routes.post("/auth/tokens", status_code=201)
async def create_token(request: Request, body: TokenRequest, actor: TokenOwner) -> dict[str, Any]:
    """A personal API token, shown once in ``token``: keep it, it cannot be shown again."""
    if actor.id is None or actor.kind != "person":
        raise Forbidden("only a person's account holds personal tokens")
    new = await accounts_of(request).tokens.create_personal(actor, actor.id, body.name, body.days)
    note_object(request, object_type="token", object_id=new.id)
    return {
        "id": new.id,
        "token": new.secret,
        "expires_at": new.expires_at.isoformat() if new.expires_at else None,
    }


@routes.delete("/auth/tokens/{token_id}", status_code=204)
async def revoke_token(request: Request, token_id: int, actor: TokenOwner) -> None:
    await accounts_of(request).tokens.revoke(actor, token_id, owner_id=actor.id)


class NewUser(BaseModel):
    email: str = Field(max_length=254)
    display_name: str = Field("", max_length=120)
    role: str
    team: str | None = Field(None, max_length=120)
    password: str = Field(max_length=C.PASSWORD_MAX_CHARS)


class UserChange(BaseModel):
    role: str | None = None
    team: str | None = Field(None, max_length=120)
    active: bool | None = None


class NewPassword(BaseModel):
    password: str = Field(max_length=C.PASSWORD_MAX_CHARS)


@routes.get("/admin/users")
async def list_users(request: Request, _: UserLister) -> dict[str, Any]:
    directory = accounts_of(request).directory
    return {
        "users": [u.as_dict() for u in await directory.users()],
        "teams": [{"id": i, "name": n} for i, n in await directory.teams()],
    }


@routes.post("/admin/users", status_code=201)
async def create_user(request: Request, body: NewUser, actor: UserManager) -> dict[str, Any]:
    user = await accounts_of(request).directory.create_user(
        actor, email=body.email, display_name=body.display_name, role=body.role,
        password=body.password, team=body.team,
    )  # fmt: skip
    note_object(request, object_type="user", object_id=user.id)
    return user.as_dict()


@routes.patch("/admin/users/{user_id}")
async def change_user(
    request: Request, user_id: int, body: UserChange, actor: UserManager
) -> dict[str, Any]:
    directory = accounts_of(request).directory
    changes = body.model_dump(exclude_unset=True)
    if not changes:
        raise InputError("nothing to change: give role, team or active")
    user = await directory.user(user_id)
    if "role" in changes and body.role is not None:
        user = await directory.set_role(actor, user_id, body.role)
    if "team" in changes:
        user = await directory.set_team(actor, user_id, body.team)
    if "active" in changes and body.active is not None:
        user = await directory.set_active(actor, user_id, body.active)
    return user.as_dict()


@routes.post("/admin/users/{user_id}/password", status_code=204)
async def reset_password(
    request: Request, user_id: int, body: NewPassword, actor: UserManager
) -> None:
    """Set a user's password (and unlock them; their sessions end)."""
    await accounts_of(request).directory.reset_password(actor, user_id, body.password)


@routes.get("/admin/settings")
async def read_settings(request: Request, _: SettingsReader) -> dict[str, Any]:
    return await accounts_of(request).organisation.settings()


class SettingValue(BaseModel):
    value: bool


@routes.put("/admin/settings/{setting_id}")
async def change_setting(
    request: Request, setting_id: str, body: SettingValue, actor: SettingsChanger
) -> dict[str, Any]:
    return await accounts_of(request).organisation.change(actor, setting_id, body.value)


@routes.get("/admin/audit")
async def read_audit(
    request: Request,
    _: Auditor,
    case: Annotated[int | None, Query(alias="case_id")] = None,
    action: Annotated[str | None, Query(max_length=60)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
    """The newest entries first, optionally for one case or one action."""
    return await accounts_of(request).audit.entries(
        case_id=case, action=action, limit=limit, newest_first=True
    )


@routes.get("/admin/audit/verify")
async def verify_audit(request: Request, _: Auditor) -> dict[str, Any]:
    return (await accounts_of(request).audit.verify()).as_dict()


@routes.get("/admin/audit/export")
async def export_audit(request: Request, _: Auditor) -> StreamingResponse:
    """Every entry as JSON lines, oldest first."""
    audit = accounts_of(request).audit

    async def lines() -> AsyncIterator[bytes]:
        async for entry in audit.stream():
            yield (json.dumps(entry, separators=(",", ":")) + "\n").encode()

    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return StreamingResponse(
        lines(),
        media_type="application/x-ndjson",
        headers={"Content-Disposition": f'attachment; filename="rma-audit-{stamp}.jsonl"'},
    )


class DecisionNote(BaseModel):
    note: str = Field("", max_length=2000)


async def _letter_of_case(request: Request, case_id: int, letter_id: int) -> None:
    """NotFound unless the letter is this case's (the path names both)."""
    await CaseStore(accounts_of(request).database, None).letter(case_id, letter_id)


@routes.post("/cases/{case_id}/letters/{letter_id}/submit")
async def submit_letter(
    request: Request, case_id: int, letter_id: int, actor: LetterSubmitter
) -> dict[str, Any]:
    """Send a draft letter for a supervisor's approval."""
    await _letter_of_case(request, case_id, letter_id)
    letter = await accounts_of(request).letters.submit(actor, letter_id)
    return {"letter_id": letter.id, "status": letter.status}


@routes.post("/cases/{case_id}/letters/{letter_id}/approve")
async def approve_letter(
    request: Request, case_id: int, letter_id: int, body: DecisionNote, actor: LetterApprover
) -> dict[str, Any]:
    """Approve a submitted letter (a supervisor who did not write it)."""
    await _letter_of_case(request, case_id, letter_id)
    return (await accounts_of(request).letters.approve(actor, letter_id, body.note)).as_dict()


@routes.post("/cases/{case_id}/letters/{letter_id}/return")
async def return_letter(
    request: Request, case_id: int, letter_id: int, body: DecisionNote, actor: LetterApprover
) -> dict[str, Any]:
    """Return a submitted letter to draft, saying what should change."""
    await _letter_of_case(request, case_id, letter_id)
    decision = await accounts_of(request).letters.return_to_draft(actor, letter_id, body.note)
    return decision.as_dict()


@routes.post("/cases/{case_id}/letters/{letter_id}/release")
async def release_letter(
    request: Request, case_id: int, letter_id: int, actor: LetterReleaser
) -> dict[str, Any]:
    """Let a letter go to the client: refused (409) until a supervisor has approved its
    current text (while the organisation asks for approval). Marks it sent; the text
    comes back for sending."""
    await _letter_of_case(request, case_id, letter_id)
    letter = await accounts_of(request).letters.release(actor, letter_id)
    return {"letter_id": letter.id, "status": letter.status, "body": letter.body}


@routes.get("/cases/{case_id}/letters/{letter_id}/approvals")
async def letter_approvals(
    request: Request, case_id: int, letter_id: int, _: CaseReader
) -> list[dict[str, Any]]:
    await _letter_of_case(request, case_id, letter_id)
    return [d.as_dict() for d in await accounts_of(request).letters.decisions(letter_id)]


__all__ = [
    "Accounts",
    "CurrentActor",
    "Resource",
    "RouteInfo",
    "app_routes",
    "check_assignment",
    "check_rules",
    "current_actor",
    "install",
    "note_object",
    "permit",
    "routes",
    "sign_in",
    "sign_out",
]
