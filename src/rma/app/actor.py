"""Who is acting, and the record of every read of a client's documents.

Today people and services present an API key (``RMA_API_KEYS``); the actor is named after
the key's position ("api-key-2"), never the key itself, and is "anonymous" where the app
runs without keys (a single adviser on their own machine). Accounts replace
:func:`current_actor` with the signed-in person and their role; routes do not change.

:func:`record_access` is the one function every read of a client's documents (their
files, text, fields and search answers) and sensitive details goes through: it logs the
ids (never the content) and calls the hooks the app holds, where the audit log will hook.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from rma.limits.changes import Actor

log = logging.getLogger("rma.access")

ANONYMOUS = Actor("anonymous")


@dataclass(frozen=True)
class Access:
    actor: Actor
    action: str  # e.g. "document.file", "document.text", "case.search"
    case_id: int
    document_id: int | None = None


AccessHook = Callable[[Access], Awaitable[None]]


def current_actor(request: Request) -> Actor:
    """The person or service making this request."""
    number = getattr(request.state, "api_key", None)
    return ANONYMOUS if number is None else Actor(f"api-key-{number}")


ActorDep = Annotated[Actor, Depends(current_actor)]


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
