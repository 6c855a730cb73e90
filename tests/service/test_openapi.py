"""Every service documents every successful response: each 2xx in its OpenAPI document
has a schema, and streams and downloads name their media types."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from rma.config import load_settings
from rma.documents.api import create as docs_app
from rma.notes.api import create as notes_app
from rma.notes.docx import DOCX_MEDIA_TYPE
from rma.rag.api import create as rag_app

SERVICES: dict[str, Callable[..., FastAPI]] = {
    "notes": notes_app,
    "docs": docs_app,
    "rag": rag_app,
}
# Responses that are streams or files, and the media type each must declare.
MEDIA_TYPES = {
    ("notes", "post", "/convert/stream"): "text/event-stream",
    ("notes", "post", "/convert"): DOCX_MEDIA_TYPE,
    ("notes", "get", "/convert/{letter_id}.docx"): DOCX_MEDIA_TYPE,
    ("rag", "post", "/query/stream"): "text/event-stream",
    ("rag", "post", "/v1/chat/completions"): "text/event-stream",
    ("notes", "get", "/metrics"): "text/plain",
}


def openapi(service: str) -> dict[str, Any]:
    """The service's /openapi.json, fetched over its own HTTP interface."""
    app = SERVICES[service](settings=load_settings())
    with TestClient(app) as client:  # the app started as it runs, lifespan included
        response = client.get("/openapi.json")
    assert response.status_code == 200
    return response.json()  # type: ignore[no-any-return]


def described(schema: dict[str, Any]) -> bool:
    """Whether ``schema`` says what the body is: an empty schema or a free-form object
    (any keys, any values) says nothing, and counts as no schema."""
    if "$ref" in schema:
        return True
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            return all(described(s) for s in schema[key] if s.get("type") != "null")
    if schema.get("type") == "object":
        return bool(schema.get("properties"))
    if schema.get("type") == "array":
        return described(schema.get("items", {}))
    return "type" in schema


def undocumented(document: dict[str, Any]) -> list[str]:
    """Each 2xx response (other than 204 No Content) without a schema for its body."""
    missing = []
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            for status, response in operation.get("responses", {}).items():
                if not status.startswith("2") or status == "204":
                    continue
                content = response.get("content", {})
                if not content or not all(described(m.get("schema", {})) for m in content.values()):
                    missing.append(f"{method.upper()} {path} {status}")
    return missing


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_every_successful_response_has_a_schema(clean_env: Path, service: str) -> None:
    document = openapi(service)
    assert document["paths"], service
    assert undocumented(document) == []


@pytest.mark.parametrize(("service", "method", "path"), sorted(MEDIA_TYPES))
def test_streams_and_downloads_declare_their_media_type(
    clean_env: Path, service: str, method: str, path: str
) -> None:
    responses = openapi(service)["paths"][path][method]["responses"]
    assert MEDIA_TYPES[(service, method, path)] in responses["200"]["content"]


def test_the_check_can_fail() -> None:
    document = {
        "paths": {
            "/a": {"get": {"responses": {"200": {"description": "OK"}}}},
            "/b": {"post": {"responses": {"201": {"content": {"application/json": {}}}}}},
            "/d": {"get": {"responses": {"200": {"content": {"text/plain": {"schema": {}}}}}}},
            "/e": {
                "get": {
                    "responses": {
                        "200": {
                            "content": {
                                "application/json": {
                                    "schema": {"type": "object", "additionalProperties": True}
                                }
                            }
                        }
                    }
                }
            },
            "/f": {
                "get": {
                    "responses": {
                        "200": {
                            "content": {
                                "application/json": {"schema": {"$ref": "#/components/schemas/F"}}
                            }
                        }
                    }
                }
            },
            "/c": {"delete": {"responses": {"204": {"description": "gone"}}}},
        }
    }
    assert undocumented(document) == ["GET /a 200", "POST /b 201", "GET /d 200", "GET /e 200"]
