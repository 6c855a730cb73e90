"""``rma stack up|down|status``: the deployment as local processes, without Docker."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

import click
import httpx

from rma.errors import ConfigError
from rma.stack import processes
from rma.stack.plan import (
    APP,
    CHROMA_PORT,
    SERVICES,
    VLLM_PORT,
    VLLM_START_TIMEOUT,
    StackOptions,
    StackPlan,
    build_plan,
    summary,
)
from rma.stack.processes import StackError

PROBE_TIMEOUT = 5.0


def default_state_dir() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state"
    return Path(base) / "rma" / "stack"


state_dir_option = click.option(
    "--state-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=default_state_dir,
    envvar="RMA_STACK_DIR",
    show_default="$XDG_STATE_HOME/rma/stack",
    help="Pid files, logs, Chroma's and the services' data.",
)


def _fail(message: str, code: int = 1) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def _load(state_dir: Path) -> StackPlan:
    try:
        plan = StackPlan.load(state_dir)
    except ConfigError as exc:
        _fail(str(exc), 2)
    if plan is None:
        _fail(f"no stack in {state_dir} (start one with rma stack up)")
    return plan  # type: ignore[return-value]


@click.group("stack")
def stack() -> None:
    """Run the whole deployment locally: vLLM on the CPU, Chroma, the three services and
    the adviser app; or, with --embedded, the services on the bundled models and the app."""


@stack.command("up")
@state_dir_option
@click.option(
    "--env-file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Settings as in .env.example (the stack's wiring wins over it).",
)
@click.option(
    "--vllm-python",
    envvar="RMA_STACK_VLLM_PYTHON",
    help="The python of the environment vLLM is installed in.",
)
@click.option(
    "--vllm-model-dir",
    envvar="RMA_STACK_VLLM_MODEL_DIR",
    help="The model folder vLLM serves (as VLLM_MODEL).",
)
@click.option(
    "--vllm-url",
    envvar="RMA_STACK_VLLM_URL",
    help="Use this running vLLM server instead of starting one.",
)
@click.option("--ollama-url", help="An Ollama server for vision and as the chat fallback.")
@click.option(
    "--embedded",
    is_flag=True,
    help="No model server: the bundled models in each service, embedded Chroma, SQLite.",
)
@click.option(
    "--host", default="127.0.0.1", show_default=True, help="The address the services listen on."
)
@click.option("--vllm-port", type=int, default=VLLM_PORT, show_default=True, help="vLLM's port.")
@click.option(
    "--chroma-port", type=int, default=CHROMA_PORT, show_default=True, help="Chroma's port."
)
@click.option(
    "--notes-port",
    type=int,
    default=SERVICES[0].port,
    show_default=True,
    help="The notes service's port.",
)
@click.option(
    "--docs-port",
    type=int,
    default=SERVICES[1].port,
    show_default=True,
    help="The doc-processor's port.",
)
@click.option(
    "--rag-port",
    type=int,
    default=SERVICES[2].port,
    show_default=True,
    help="The RAG service's port.",
)
@click.option(
    "--app-port", type=int, default=APP.port, show_default=True, help="The adviser app's port."
)
@click.option(
    "--vllm-start-timeout",
    type=float,
    default=VLLM_START_TIMEOUT,
    show_default=True,
    help="Seconds to wait for vLLM to load its model.",
)
@click.option(
    "--vllm-arg",
    "vllm_args",
    multiple=True,
    metavar="FLAG",
    help="One more flag for the vLLM server, as vLLM takes it (repeatable; write it with "
    "'=': --vllm-arg=--enforce-eager).",
)
def up_cmd(
    state_dir: Path,
    env_file: Path | None,
    vllm_python: str | None,
    vllm_model_dir: str | None,
    vllm_url: str | None,
    ollama_url: str | None,
    embedded: bool,
    host: str,
    vllm_port: int,
    chroma_port: int,
    notes_port: int,
    docs_port: int,
    rag_port: int,
    app_port: int,
    vllm_start_timeout: float,
    vllm_args: tuple[str, ...],
) -> None:
    """Start the stack and wait until every part is healthy and every service ready."""
    try:
        existing = StackPlan.load(state_dir)
    except ConfigError:
        existing = None
    if existing is not None and any(
        processes.owned_pid(existing, c.name) is not None for c in existing.owned
    ):
        _fail(f"a stack is already running from {state_dir}: rma stack status, rma stack down")
    options = StackOptions(
        state_dir=state_dir,
        env_file=env_file,
        vllm_python=vllm_python,
        vllm_model_dir=vllm_model_dir,
        vllm_url=vllm_url,
        ollama_url=ollama_url,
        host=host,
        vllm_port=vllm_port,
        chroma_port=chroma_port,
        service_ports={"notes": notes_port, "docs": docs_port, "rag": rag_port, "app": app_port},
        vllm_start_timeout=vllm_start_timeout,
        vllm_args=vllm_args,
        embedded=embedded,
    )
    try:
        plan, settings = build_plan(options, dict(os.environ))
    except ConfigError as exc:
        _fail(str(exc), 2)
    plan.save()
    try:
        asyncio.run(_up(plan))
    except StackError as exc:
        _fail(str(exc))
    chain = " -> ".join(settings.chat_chain)
    click.echo(f"stack up (chat: {chain}; state: {plan.state_dir})")
    secrets = plan.component(APP.name).env.get("RMA_SECRETS_DIR")
    if secrets:
        click.echo(f"  the app's keys: {secrets} (back them up with the data)")
    for row in summary(plan):
        owner = "" if row["owned"] else "  (not started by the stack)"
        click.echo(f"  {row['name']:<7} {row['url']}{owner}")
    database = plan.component(APP.name).env.get("RMA_DATABASE_URL", "")
    where = f"RMA_DATABASE_URL={database} " if database else ""
    click.echo(
        f"  people sign in at the app; the first admin: {where}rma users create --role admin "
        "--email EMAIL"
    )


async def _up(plan: StackPlan) -> None:
    """Start each tier once the one before it is healthy; on failure stop what started."""
    started: list[processes.Component] = []
    async with httpx.AsyncClient(timeout=PROBE_TIMEOUT) as client:
        try:
            for tier in sorted({c.tier for c in plan.components}):
                members = [c for c in plan.components if c.tier == tier]
                waits = []
                for component in members:
                    proc = None
                    if component.owned:
                        click.echo(f"starting {component.name} on port {component.port}", err=True)
                        proc = processes.start(plan, component)
                        started.append(component)
                    waits.append(processes.wait_healthy(component, proc, client))
                results = await asyncio.gather(*waits, return_exceptions=True)
                failures = [
                    (c, r)
                    for c, r in zip(members, results, strict=True)
                    if isinstance(r, Exception)
                ]
                if failures:
                    lines = []
                    for c, error in failures:
                        lines.append(str(error))
                        tail = processes.log_tail(plan, c.name) if c.owned else ""
                        if tail:
                            lines.append(f"--- last lines of {plan.log_path(c.name)}\n{tail}")
                    raise StackError("\n".join(lines))
            # Healthy is alive; the stack is up once each service's first probe passed.
            services = [c for c in plan.components if c.ready_path]
            await asyncio.gather(*(processes.wait_ready(c, client) for c in services))
        except BaseException:
            for component in reversed(started):
                await processes.stop(plan, component)
            raise


@stack.command("down")
@state_dir_option
@click.argument("components", nargs=-1)
def down_cmd(state_dir: Path, components: tuple[str, ...]) -> None:
    """Stop the stack, or only the COMPONENTS named (vllm, chroma, notes, docs, rag, app)."""
    plan = _load(state_dir)
    try:
        chosen = [plan.component(n) for n in components] if components else plan.components
    except ConfigError as exc:
        _fail(str(exc), 2)

    async def run() -> list[tuple[str, bool]]:
        # Services first, then what they depend on.
        order = sorted((c for c in chosen if c.owned), key=lambda c: -c.tier)
        return [(c.name, await processes.stop(plan, c)) for c in order]

    for name, was_running in asyncio.run(run()):
        click.echo(f"{name:<7} {'stopped' if was_running else 'was not running'}")
    for c in chosen:
        if not c.owned:
            click.echo(f"{c.name:<7} left running (not started by the stack)")


@stack.command("status")
@state_dir_option
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
def status_cmd(state_dir: Path, as_json: bool) -> None:
    """Each part's process, health and readiness; exit 1 if any part is not healthy."""
    plan = _load(state_dir)

    async def run() -> list[processes.ComponentStatus]:
        async with httpx.AsyncClient(timeout=PROBE_TIMEOUT) as client:
            return await processes.status(plan, client)

    rows = asyncio.run(run())
    if as_json:
        click.echo(json.dumps([r.as_dict() for r in rows], indent=2))
    else:
        for r in rows:
            process = (f"pid {r.pid}" if r.running else "stopped") if r.owned else "external"
            health = "healthy" if r.healthy else f"unhealthy ({r.health or 'no answer'})"
            ready = f" ready={r.ready}" if r.ready else ""
            click.echo(f"{r.name:<7} {process:<11} {health:<22}{ready}  {r.url}")
    sys.exit(0 if all(r.healthy for r in rows) else 1)


commands: list[click.Command] = [stack]
