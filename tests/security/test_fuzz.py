"""Every endpoint of every service fuzzed from its own OpenAPI document (Schemathesis,
property-based, a bounded number of examples each), over real HTTP against the services
on the embedded default: no answer may be a 5xx, and every answer must match the status
codes, media types and schemas the document declares (errors included)."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.security.conftest import KEY, Service

AUTH = {"X-API-Key": KEY}
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
# Enough to reach every operation's edges in CI time; each answer that needs the model
# runs SmolLM2 on the CPU.
BOUNDED = settings(
    max_examples=12,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)


def _schema(service: Service) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_url(f"{service.base}/openapi.json", headers=AUTH, timeout=30)


@pytest.fixture(scope="session")
def notes_schema(services: dict[str, Service]) -> schemathesis.BaseSchema:
    return _schema(services["notes"])


@pytest.fixture(scope="session")
def docs_schema(services: dict[str, Service]) -> schemathesis.BaseSchema:
    return _schema(services["docs"])


@pytest.fixture(scope="session")
def rag_schema(services: dict[str, Service]) -> schemathesis.BaseSchema:
    return _schema(services["rag"])


notes = schemathesis.pytest.from_fixture("notes_schema")
docs = schemathesis.pytest.from_fixture("docs_schema")
rag = schemathesis.pytest.from_fixture("rag_schema")


@notes.parametrize()
@BOUNDED
def test_notes(case: schemathesis.Case) -> None:
    case.call_and_validate(headers=AUTH, checks=CHECKS, timeout=300)


@docs.parametrize()
@BOUNDED
def test_docs(case: schemathesis.Case) -> None:
    case.call_and_validate(headers=AUTH, checks=CHECKS, timeout=300)


@rag.parametrize()
@BOUNDED
def test_rag(case: schemathesis.Case) -> None:
    case.call_and_validate(headers=AUTH, checks=CHECKS, timeout=300)
