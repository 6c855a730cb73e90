"""llama.cpp's OpenAI-compatible server with one slot: the comparison backend.

Ollama runs llama.cpp and, by default, one request at a time per model. Where Ollama
itself cannot run, ``python -m llama_cpp.server`` on the bundled SmolLM2 GGUF is the
closest stand-in: the same engine, one request at a time (the server holds a lock around
its single model, and ``--interrupt_requests False`` makes later requests wait their
turn). Needs the server's own packages (``pip install -e '.[bench]'``).
"""

from __future__ import annotations

import asyncio
import socket
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx

from rma import constants as C
from rma.errors import ConfigError
from rma.llm import assets

LABEL = "llama.cpp server, 1 slot (stand-in for Ollama's default)"
MODEL_ALIAS = C.DEFAULT_VLLM_MODEL
START_TIMEOUT = 120.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def server_argv(port: int, threads: int = C.LOCAL_THREADS, n_ctx: int = 2048) -> list[str]:
    """The command that serves the bundled GGUF on ``port`` (model id ``MODEL_ALIAS``)."""
    gguf = assets.locate(assets.SMOLLM2_GGUF)
    return [
        sys.executable, "-m", "llama_cpp.server",
        "--model", str(gguf), "--model_alias", MODEL_ALIAS,
        "--n_threads", str(threads), "--n_ctx", str(n_ctx),
        # Queue a request that arrives while one runs, as Ollama does; the server's
        # default would cut the running stream short instead.
        "--interrupt_requests", "False",
        "--host", "127.0.0.1", "--port", str(port),
    ]  # fmt: skip


@asynccontextmanager
async def llamacpp_server(
    log: Path, port: int | None = None, threads: int = C.LOCAL_THREADS, n_ctx: int = 2048
) -> AsyncIterator[str]:
    """Start the server, wait until it lists its model, yield its ``/v1`` URL, stop it."""
    try:
        import llama_cpp.server.app  # noqa: F401
    except ImportError as exc:
        raise ConfigError(
            f"llama.cpp's server needs its extra packages ({exc.name}): pip install -e '.[bench]'"
        ) from None
    port = port or free_port()
    async with _serving(server_argv(port, threads, n_ctx), port, log) as base:
        yield base


@asynccontextmanager
async def _serving(argv: list[str], port: int, log: Path) -> AsyncIterator[str]:
    """Run a server process, wait until it lists its model, yield its ``/v1`` URL, stop it."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        proc = await asyncio.create_subprocess_exec(
            *argv, stdout=out, stderr=asyncio.subprocess.STDOUT, start_new_session=True
        )
    base = f"http://127.0.0.1:{port}/v1"
    try:
        await _wait_ready(base, proc)
        yield base
    finally:
        if proc.returncode is None:
            proc.terminate()
            try:
                await asyncio.wait_for(proc.wait(), 15)
            except TimeoutError:
                proc.kill()
                await proc.wait()


async def _wait_ready(base: str, proc: asyncio.subprocess.Process) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + START_TIMEOUT
    async with httpx.AsyncClient(timeout=2) as client:
        while loop.time() < deadline:
            if proc.returncode is not None:
                raise ConfigError(f"llama.cpp's server exited with {proc.returncode}")
            try:
                if (await client.get(f"{base}/models")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.5)
    raise ConfigError(f"llama.cpp's server did not answer within {START_TIMEOUT:.0f} s")


# ---------------------------------------------------------------- llama.cpp's own server

SERVER_LABEL = "llama.cpp's llama-server, {slots} slot(s){batching}"


# The repository (a source checkout): scripts/lib.sh builds what the benchmarks run.
REPOSITORY = Path(__file__).resolve().parents[3]


def build_llama_server(root: Path = REPOSITORY) -> Path:
    """The ``llama-server`` binary, built once by ``scripts/lib.sh`` (``llama_server``) from
    the llama.cpp source in the llama-cpp-python sdist, with the wheel's portable flags."""
    import subprocess

    script = root / "scripts" / "lib.sh"
    if not script.is_file():
        raise ConfigError(f"building llama-server needs the repository's {script}")
    done = subprocess.run(
        ["bash", "-c", f'source "{script}" && llama_server'],
        capture_output=True,
        text=True,
        check=False,
    )
    path = Path(done.stdout.strip().splitlines()[-1]) if done.stdout.strip() else None
    if done.returncode != 0 or path is None or not path.is_file():
        raise ConfigError(f"llama-server could not be built: {done.stderr[-800:]}")
    return path


def llama_server_argv(
    binary: Path, port: int, slots: int, threads: int, n_ctx: int = 2048
) -> list[str]:
    """``llama-server`` on the bundled GGUF with ``slots`` parallel slots (continuous
    batching on when more than one), each with ``n_ctx`` tokens of context."""
    gguf = assets.locate(assets.SMOLLM2_GGUF)
    argv = [
        str(binary), "--model", str(gguf), "--alias", MODEL_ALIAS,
        "--parallel", str(slots), "--ctx-size", str(n_ctx * slots),
        "--threads", str(threads), "--host", "127.0.0.1", "--port", str(port),
    ]  # fmt: skip
    argv.append("--cont-batching" if slots > 1 else "--no-cont-batching")
    return argv


@asynccontextmanager
async def llama_server(
    binary: Path, log: Path, slots: int, threads: int = C.LOCAL_THREADS
) -> AsyncIterator[str]:
    """Start ``llama-server`` with ``slots`` slots, yield its ``/v1`` URL, stop it."""
    port = free_port()
    argv = llama_server_argv(binary, port, slots, threads)
    async with _serving(argv, port, log) as base:
        yield base


def server_label(slots: int) -> str:
    return SERVER_LABEL.format(slots=slots, batching=", continuous batching" if slots > 1 else "")
