"""The ``rma`` command line."""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import click

from rma.config import load_settings
from rma.errors import ConfigError, RMAError

UNSET = "(not set)"
RAW_MODEL_NOTICE = (
    "-- the model alone: no manuals, no checks, no figures from RMA's limits table; "
    "for answers from the manuals use: rma ask QUESTION"
)


def _fail(message: str, code: int = 1) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


@click.group()
@click.version_option(package_name="rma")
def main() -> None:
    """RMA: ask the manuals, check figures, write client letters, read client documents."""


@main.command("config")
def config_cmd() -> None:
    """Print the effective settings (secrets masked)."""
    try:
        settings = load_settings()
    except ConfigError as exc:
        _fail(str(exc), 2)
    width = max(len(k) for k in settings.masked())
    for key, value in settings.masked().items():
        click.echo(f"{key:<{width}}  {UNSET if value is None or value == '' else value}")


@main.command("chat")
@click.argument("prompt")
@click.option(
    "--max-tokens",
    default=256,
    show_default=True,
    help="Longest reply, in tokens; a reply cut there says so.",
)
@click.option("--system", default="", help="An optional system message.")
def chat_cmd(prompt: str, max_tokens: int, system: str) -> None:
    """Stream the model's own reply to PROMPT (no manuals, no checks), then where it came
    from. To ask the manuals, use ``rma ask``."""
    from rma.llm.factory import build_router
    from rma.llm.types import Message, StreamEnd, StreamFailed, TextDelta

    async def run() -> int:
        router = build_router(load_settings())
        messages = ([Message.system(system)] if system else []) + [Message.user(prompt)]
        click.echo(RAW_MODEL_NOTICE, err=True)
        try:
            async for event in router.stream_chat(messages, max_tokens=max_tokens):
                if isinstance(event, TextDelta):
                    click.echo(event.text, nl=False)
                elif isinstance(event, StreamEnd):
                    p = event.result.provenance
                    click.echo()
                    note = f"  (fell back after: {[h.provider for h in p.hops]})" if p.hops else ""
                    click.echo(
                        f"-- {p.provider}/{p.model} {p.latency_ms:.0f} ms, "
                        f"first token {p.ttft_ms:.0f} ms, {p.tokens_in} in / {p.tokens_out} out"
                        f"{note}",
                        err=True,
                    )
                    if event.result.finish_reason == "length":
                        click.echo(
                            f"-- cut off at the token limit ({max_tokens}); "
                            "--max-tokens allows a longer reply",
                            err=True,
                        )
                elif isinstance(event, StreamFailed):
                    click.echo()
                    _fail(f"the stream broke: {event.message}")
        finally:
            await router.aclose()
        return 0

    try:
        asyncio.run(run())
    except RMAError as exc:
        _fail(str(exc))


@main.command("doctor")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def doctor_cmd(as_json: bool) -> None:
    """Check every configured backend; exit non-zero if the chat backend is not ready."""
    from rma.llm.factory import build_router
    from rma.service.readiness import summarise_readiness

    async def run() -> list[dict[str, Any]]:
        router = build_router(load_settings())
        try:
            return await router.readiness()
        finally:
            await router.aclose()

    try:
        checks = asyncio.run(run())
    except RMAError as exc:
        _fail(str(exc), 2)
    body, _ = summarise_readiness(checks)
    chat_primary = next((c for c in checks if c["role"] == "chat"), None)
    chat_ok = bool(
        chat_primary
        and chat_primary["reachable"]
        and chat_primary["model_present"]
        and chat_primary["probe"] == "ok"
    )
    if as_json:
        click.echo(body.model_dump_json(indent=2))
    else:
        for c in checks:
            good = c["reachable"] and c["model_present"] and c["probe"] in ("ok", "skipped")
            mark = "ok  " if good else "FAIL"
            click.echo(
                f"[{mark}] {c['role']:<6} {c['provider']:<7} {c['model']:<32} "
                f"reachable={'yes' if c['reachable'] else 'no'} "
                f"model={'yes' if c['model_present'] else 'no'} probe={c['probe']} "
                f"breaker={c['breaker']['state']}"
            )
            if c.get("error"):
                click.echo(f"       {c['error']}")
        click.echo(f"status: {body.status}")
    sys.exit(0 if chat_ok else 1)


# The services that read the database (the governed limits; the app: the cases): it is
# brought up to date, under a lock, before they start. Every service checks service tokens
# there too, unless RMA_SERVICE_AUTH=off.
DATABASE_SERVICES = ("notes", "rag", "app")


def _database_ready() -> None:
    from rma.db import database_urls, ensure_current

    settings = load_settings()
    state = ensure_current(database_urls(settings), auto_upgrade=settings.rma_database_auto_upgrade)
    if state.applied:
        click.echo(f"database upgraded: {', '.join(state.applied)}", err=True)


@main.command("serve")
@click.argument("service", type=click.Choice(["notes", "docs", "rag", "app"]))
@click.option("--host", default="127.0.0.1", show_default=True, help="The address to listen on.")
@click.option("--port", type=int, default=None, help="Defaults to the service's own port.")
def serve_cmd(service: str, host: str, port: int | None) -> None:
    """Run one of the HTTP services (notes 8100, docs 8101, rag 8102) or the adviser app
    (8103).

    With RMA_SERVICE_AUTH=off a service listens on 127.0.0.1 only, unless
    RMA_TRUSTED_NETWORK=1."""
    import importlib

    import uvicorn

    from rma import constants as C

    modules = {
        "notes": ("rma.notes.api", C.NOTES_PORT),
        "docs": ("rma.documents.api", C.DOCS_PORT),
        "rag": ("rma.rag.api", C.RAG_PORT),
        "app": ("rma.app.api", C.APP_PORT),
    }
    module_name, default_port = modules[service]
    try:
        settings = load_settings()
        if service != "app":  # the app admits people itself (rma.accounts.web)
            settings.check_exposure(host, service)
        if service in DATABASE_SERVICES or settings.rma_service_auth == "tokens":
            _database_ready()
        module = importlib.import_module(module_name)
        app = module.create()
    except ModuleNotFoundError as exc:
        _fail(f"the {service} service is not available in this build ({exc.name})")
    except ConfigError as exc:
        _fail(str(exc), 2)
    uvicorn.run(app, host=host, port=port or default_port, log_config=None, access_log=False)


def _add_service_commands() -> None:
    """Each service contributes its own commands (``commands`` in ``rma.<service>.cli``)."""
    import importlib

    for module_name in (
        "rma.db.cli",
        "rma.limits.cli",
        "rma.cases.cli",
        "rma.app.cli",
        "rma.accounts.cli",
        "rma.rag.cli",
        "rma.notes.cli",
        "rma.documents.cli",
        "rma.bench.cli",
        "rma.stack.cli",
    ):
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name is None or not module_name.startswith(exc.name):
                raise
            continue
        for command in module.commands:
            main.add_command(command)


_add_service_commands()

if __name__ == "__main__":
    main()
