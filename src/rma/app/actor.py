"""Who is acting, what they may do, and the record of every read of a client's documents.

People sign in (a session cookie, or their personal token): :func:`rma.accounts.web.
current_actor` says who they are, and each route names what it does with one of the
permissions below (``Depends(permit(action))``), so the permission table
(:mod:`rma.accounts.permissions`) decides, for the case in the path: an adviser reaches
their own and their team's cases, a supervisor every case, an admin none. The app
refuses to start with a route that names no permission.

:func:`record_access` is the one function every read of a client's documents (their
files, text, fields and search answers) and sensitive details goes through: it logs the
ids (never the content) and calls the hooks the app holds; the audit log is one
(:func:`rma.accounts.web.install`).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from rma.accounts.permissions import Actor
from rma.accounts.web import permit

log = logging.getLogger("rma.access")

CaseLister = Annotated[Actor, Depends(permit("cases.list"))]
CaseOpener = Annotated[Actor, Depends(permit("cases.create"))]
CaseReader = Annotated[Actor, Depends(permit("cases.read"))]
CaseEditor = Annotated[Actor, Depends(permit("cases.update"))]
CaseEraser = Annotated[Actor, Depends(permit("cases.erase"))]
Assessor = Annotated[Actor, Depends(permit("eligibility.check"))]
ReferenceReader = Annotated[Actor, Depends(permit("reference.read"))]
ManualReader = Annotated[Actor, Depends(permit("manuals.read"))]
ManualAsker = Annotated[Actor, Depends(permit("manuals.ask"))]
ManualUploader = Annotated[Actor, Depends(permit("manuals.upload"))]
ManualDeleter = Annotated[Actor, Depends(permit("manuals.delete"))]


@dataclass(frozen=True)
class Access:
    actor: Actor
    action: str  # e.g. "document.file", "document.text", "case.search"
    case_id: int
    document_id: int | None = None


AccessHook = Callable[[Access], Awaitable[None]]


async def record_access(
    request: Request, actor: Actor, action: str, case_id: int, document_id: int | None = None
) -> None:
    """Record that ``actor`` read a client's documents (or sensitive details)."""
    access = Access(actor, action, case_id, document_id)
    log.info(
        "client data read",
        extra={"actor": actor.name, "action": action, "case_id": case_id,
               "document_id": document_id},
    )  # fmt: skip
    hooks: list[AccessHook] = getattr(request.app.state, "access_hooks", [])
    for hook in hooks:
        await hook(access)
