"""With API keys set, every route of every service refuses a request without a key, over
real HTTP. The services are found as the ``create`` function of each ``rma.<part>.api``
module, and the routes are read from each app's router, so a new service or a new route
that bypasses the key check fails this test without anyone listing it here."""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from starlette.routing import Route

import rma
from rma.config import load_settings
from rma.service.edge import OPEN_PATHS
from tests.conftest import OllamaDouble
from tests.support.serve import serving

KEY = "test-key-1-long-enough-for-the-minimum"  # MIN_API_KEY_CHARS
# Apps that sign people in rather than take a service key, and where their routes are checked.
OWN_SIGN_IN = {"app": "the adviser app: accounts, sessions and roles (tests/app, tests/accounts)"}
PARAM = re.compile(r"\{([^}:]+)(?::[^}]+)?\}")


def services() -> dict[str, Callable[..., FastAPI]]:
    found = {}
    for module in pkgutil.iter_modules(rma.__path__):
        if not module.ispkg:
            continue
        try:
            api = importlib.import_module(f"rma.{module.name}.api")
        except ModuleNotFoundError:
            continue
        if callable(getattr(api, "create", None)) and module.name not in OWN_SIGN_IN:
            found[module.name] = api.create
    return found


SERVICES = services()


def routes(app: FastAPI) -> list[tuple[str, str]]:
    """Every (method, concrete path) the app serves, path parameters filled in: its own
    routes and those of every router it includes (FastAPI keeps an included router as one
    entry that holds the original router and its prefix)."""
    out: list[tuple[str, str]] = []

    def walk(entries: list[Any], prefix: str) -> None:
        for route in entries:
            included = getattr(route, "original_router", None)
            if included is not None:
                walk(included.routes, prefix + route.include_context.prefix)
            elif isinstance(route, Route):
                path = PARAM.sub("some-id", prefix + route.path)
                out.extend((m, path) for m in sorted(route.methods or {"GET"}) if m != "HEAD")

    walk(app.routes, "")
    return out


def openapi_paths(app: FastAPI) -> set[str]:
    return {PARAM.sub("some-id", p) for p in app.openapi()["paths"]}


def test_the_services_are_found() -> None:
    assert {"notes", "documents", "rag"} <= set(SERVICES)


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_every_route_needs_the_key(
    service: str, clean_env: Path, ollama: OllamaDouble, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MANUALS_PATH", str(clean_env / "manuals"))
    settings = load_settings(
        RMA_SERVICE_AUTH="tokens",  # the tests' default is off (tests/conftest.py)
        RMA_API_KEYS=KEY,
        LLM_PROVIDER="ollama",
        OLLAMA_URL=ollama.url,
        EMBED_PROVIDER="local",
    )
    app = SERVICES[service](settings=settings)
    served = routes(app)
    # The walk finds at least every route the API documents (so it cannot miss a router).
    assert openapi_paths(app) <= {path for _, path in served}
    assert len(served) > len(OPEN_PATHS) + 4
    assert {path for _, path in served} >= OPEN_PATHS
    refused: dict[tuple[str, str], int] = {}
    let_in: dict[tuple[str, str], Any] = {}
    with serving(app) as base, httpx.Client(base_url=base, timeout=60) as client:
        for method, path in served:
            if path in OPEN_PATHS:
                continue
            for headers in ({}, {"X-API-Key": "wrong"}, {"Authorization": "Bearer wrong"}):
                status = client.request(method, path, headers=headers).status_code
                if status != 401:
                    let_in[(method, path)] = (headers, status)
            refused[(method, path)] = client.request(method, path).status_code
            answered = client.request(method, path, headers={"X-API-Key": KEY})
            assert answered.status_code != 401, (method, path)  # the key is what it checks
    assert let_in == {}, f"routes answering without a valid key: {let_in}"
    assert set(refused.values()) == {401}
