"""What the routes share, as typed dependencies: the store, the limits, the services."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from rma.app.reader import DocumentReader
from rma.app.services import Services
from rma.cases.store import CaseStore
from rma.documents.validation import UploadLimits
from rma.limits.changes import LimitRegister


@dataclass
class AppState:
    store: CaseStore
    register: LimitRegister
    services: Services
    reader: DocumentReader
    upload_limits: UploadLimits


def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.cases
    return state


def get_store(request: Request) -> CaseStore:
    return get_state(request).store


StateDep = Annotated[AppState, Depends(get_state)]
StoreDep = Annotated[CaseStore, Depends(get_store)]
