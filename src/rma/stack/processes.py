"""Starting, watching and stopping the stack's processes.

Each process runs in its own session (so it outlives ``rma stack up`` and its whole
process group can be stopped), writes to its own log and leaves a pid file with the
process's start time beside its pid. A pid is signalled only while both still match, so
a pid reused by an unrelated process (after a reboot, say) is never stopped by mistake.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from rma.stack.plan import Component, StackPlan, component_environment

POLL_SECONDS = 0.5
STOP_TIMEOUT = 20.0
LOG_TAIL_LINES = 20


class StackError(Exception):
    """A component did not start, or the stack is not in a state to do what was asked."""


@dataclass
class ComponentStatus:
    name: str
    url: str
    owned: bool
    pid: int | None
    running: bool
    health: int | None  # HTTP status of the health path, None when unreachable
    # A service's /ready status ("ready", "degraded", "not_ready"; "no answer" when
    # /ready did not answer); None for a part without one or not healthy.
    ready: str | None

    @property
    def healthy(self) -> bool:
        return self.health == 200 and (self.running or not self.owned)

    def as_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "healthy": self.healthy}


def start_time(pid: int) -> str | None:
    """When the process started (clock ticks since boot), or None if there is no such
    process; "" where the system does not say (no /proc)."""
    proc = Path(f"/proc/{pid}")
    if not proc.exists():
        return "" if _exists(pid) else None
    try:
        fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    # fields[0] is the state (field 3 of stat); a zombie has already ended.
    return None if fields[0] in ("Z", "X") else fields[19]


def is_alive(pid: int) -> bool:
    """The process exists and has not ended (a zombie has)."""
    return start_time(pid) is not None


def owned_pid(plan: StackPlan, name: str) -> int | None:
    """The pid of the component's process if the one the stack started is still running."""
    try:
        pid_text, _, started = plan.pid_path(name).read_text().strip().partition(" ")
        pid = int(pid_text)
    except (OSError, ValueError):
        return None
    now = start_time(pid)
    return pid if now is not None and now == started else None


def _exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def start(plan: StackPlan, component: Component) -> subprocess.Popen[bytes]:
    """Start one component in the background; its output goes to its log file."""
    log = plan.log_path(component.name)
    log.parent.mkdir(parents=True, exist_ok=True)
    plan.pid_path(component.name).parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        out.write(f"\n=== started {time.strftime('%Y-%m-%d %H:%M:%S')}\n".encode())
        out.flush()
        proc = subprocess.Popen(
            component.argv,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=component_environment(plan, component),
            cwd=plan.cwd,
            start_new_session=True,
        )
    plan.pid_path(component.name).write_text(f"{proc.pid} {start_time(proc.pid) or ''}\n")
    return proc


async def wait_healthy(
    component: Component, proc: subprocess.Popen[bytes] | None, client: httpx.AsyncClient
) -> None:
    """Wait until the component's health path answers 200; fail early if it exits."""
    deadline = time.monotonic() + component.start_timeout
    while True:
        if proc is not None and proc.poll() is not None:
            raise StackError(f"{component.name} exited with status {proc.returncode}")
        try:
            response = await client.get(component.health_url)
            if response.status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise StackError(
                f"{component.name} did not answer {component.health_url} within "
                f"{component.start_timeout:.0f} s"
            )
        await asyncio.sleep(POLL_SECONDS)


async def wait_ready(component: Component, client: httpx.AsyncClient) -> str:
    """Wait until the service's readiness is ``ready`` or ``degraded`` (its first
    background probe has passed) and return it; fail with what ``/ready`` reports if it
    is still not ready after ``start_timeout``."""
    assert component.ready_path is not None
    deadline = time.monotonic() + component.start_timeout
    said = "no answer"
    while True:
        try:
            body = (await client.get(component.base_url + component.ready_path)).json()
            if body.get("status") in ("ready", "degraded"):
                return str(body["status"])
            problems = [f"{c['role']} {c['provider']}: {c['error']}" for c in body["checks"]
                        if c.get("error")]  # fmt: skip
            said = "; ".join(filter(None, [body.get("note"), *problems])) or "not ready"
        except (httpx.HTTPError, ValueError, KeyError, TypeError):
            pass
        if time.monotonic() > deadline:
            raise StackError(
                f"{component.name} is not ready after {component.start_timeout:.0f} s: {said}"
            )
        await asyncio.sleep(POLL_SECONDS)


async def stop(plan: StackPlan, component: Component) -> bool:
    """Stop one owned component (SIGTERM to its process group, SIGKILL after a while).
    True if a running process was stopped."""
    pid = owned_pid(plan, component.name)
    pid_file = plan.pid_path(component.name)
    if pid is None:
        pid_file.unlink(missing_ok=True)
        return False
    _signal_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT
    while is_alive(pid) and time.monotonic() < deadline:
        _reap(pid)
        await asyncio.sleep(POLL_SECONDS / 5)
    if is_alive(pid):
        _signal_group(pid, signal.SIGKILL)
        while is_alive(pid):
            _reap(pid)
            await asyncio.sleep(POLL_SECONDS / 5)
    pid_file.unlink(missing_ok=True)
    return True


def _signal_group(pid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        pass
    except PermissionError:
        os.kill(pid, sig)


def _reap(pid: int) -> None:
    # A process started by this same Python stays a zombie until it is waited for.
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


async def status(plan: StackPlan, client: httpx.AsyncClient) -> list[ComponentStatus]:
    """Each component's process and HTTP state, probed concurrently."""

    async def one(c: Component) -> ComponentStatus:
        pid = owned_pid(plan, c.name) if c.owned else None
        running = pid is not None
        health = ready = None
        with contextlib.suppress(httpx.HTTPError):
            health = (await client.get(c.health_url)).status_code
        if c.ready_path and health == 200:
            try:
                ready = (await client.get(c.base_url + c.ready_path)).json().get("status")
            except (httpx.HTTPError, ValueError, AttributeError):
                ready = "no answer"
        return ComponentStatus(c.name, c.base_url, c.owned, pid, running, health, ready)

    return list(await asyncio.gather(*(one(c) for c in plan.components)))


def log_tail(plan: StackPlan, name: str, lines: int = LOG_TAIL_LINES) -> str:
    try:
        text = plan.log_path(name).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])
