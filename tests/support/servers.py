"""Start and stop real server processes for tests (vLLM, Chroma, RMA services)."""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import socket
import stat
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest

from rma import constants as C
from rma.llm.router import READINESS_PROMPT, READINESS_TEXT


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(
    url: str, timeout: float, proc: subprocess.Popen[bytes] | None = None, what: str = ""
) -> None:
    """Wait for ``url`` to answer. A wait of more than a few seconds says so on the terminal
    every 20 s (past pytest's capture), so a server set-up of a minute never looks hung."""
    started = time.monotonic()
    deadline = started + timeout
    next_note = started + 10
    while time.monotonic() < deadline:
        if what and time.monotonic() >= next_note:
            waited = time.monotonic() - started
            sys.__stderr__.write(f"\n[test set-up] starting {what}: {waited:.0f} s so far\n")
            next_note += 20
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process for {url} exited with {proc.returncode}")
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise TimeoutError(f"{url} not ready after {timeout:.0f} s")


@dataclass
class ServerProcess:
    """A child process serving HTTP on ``port``; its output goes to ``log``."""

    argv: list[str]
    port: int
    health_path: str
    log: Path
    env: dict[str, str] = field(default_factory=dict)
    start_timeout: float = 60.0
    # Variables of the test's own environment the process must not inherit (by prefix).
    withheld: tuple[str, ...] = ()
    proc: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def name(self) -> str:
        """What the process is, for progress lines: its log file's name."""
        return self.log.stem

    def start(self) -> ServerProcess:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        out = self.log.open("ab")
        self.proc = subprocess.Popen(
            self.argv,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={
                **{k: v for k, v in os.environ.items() if not k.startswith(self.withheld or "\0")},
                **self.env,
            },
            start_new_session=True,
        )
        try:
            wait_http(self.base + self.health_path, self.start_timeout, self.proc, self.name)
        except Exception:
            self.stop()
            raise RuntimeError(f"{self.argv[0]} did not start; see {self.log}") from None
        return self

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


@dataclass
class ServerDouble:
    """A running test double of a model server, with its test-only control endpoints
    (``/_control``, ``/_requests``, ``/_stats``, ``/_reset``) served at ``root``."""

    url: str  # the base URL a client is given
    process: ServerProcess

    # What a service's readiness check sends (rma.llm.router), at any time it likes: a
    # chat's messages and an embedding's input.
    PROBE: ClassVar[dict[str, str]] = {"role": "user", "content": READINESS_PROMPT}
    EMBED_PROBE: ClassVar[list[str]] = [READINESS_TEXT]

    @property
    def root(self) -> str:
        return self.url.removesuffix("/v1")

    def control(self, **settings: object) -> None:
        """Script the server. A scripted failure (``fail_next``) is for the calls a test
        makes: the readiness probe is ``spare``d unless a test says otherwise, or a probe
        that happens to land first would take the failure and the test's call succeed."""
        settings.setdefault("spare", [[self.PROBE], self.EMBED_PROBE])
        httpx.post(f"{self.root}/_control", json=settings).raise_for_status()

    def requests(self) -> list[dict[str, Any]]:
        return list(httpx.get(f"{self.root}/_requests").json())

    def stats(self) -> dict[str, Any]:
        return dict(httpx.get(f"{self.root}/_stats").json())

    def reset(self) -> None:
        httpx.post(f"{self.root}/_reset").raise_for_status()


def vllm_process(
    python: str,
    model_dir: str,
    served_name: str,
    port: int,
    log: Path,
    *,
    pooling: bool = False,
) -> ServerProcess:
    """The real vLLM OpenAI-compatible server on CPU (``pooling``: an embedding server)."""
    model_args = (
        ["--runner", "pooling", "--dtype", "float32", "--max-model-len", "256"]
        if pooling
        else [
            "--dtype",
            "float32",
            "--max-model-len",
            "2048",
            "--structured-outputs-config",
            C.VLLM_STRUCTURED_OUTPUTS_CONFIG,
        ]
    )
    argv = [python, "-m", "vllm.entrypoints.openai.api_server", "--model", model_dir]
    # Eager and in float32: on a CPU without AVX-512 compiling the graph makes each start
    # (and restart) take about 4 minutes instead of one, and served 8 long prompts at once
    # no faster (280 s compiled, 290 s eager, in bfloat16); float32 served them 3.8 times
    # as fast as bfloat16 (76 s), which such a CPU only emulates. Speed is ``rma bench``'s.
    argv += ["--served-model-name", served_name, *model_args, "--enforce-eager"]
    argv += ["--gpu-memory-utilization", "0.3", "--host", "127.0.0.1", "--port", str(port)]
    return ServerProcess(
        argv=argv,
        port=port,
        health_path="/health",
        log=log,
        env={"VLLM_CPU_KVCACHE_SPACE": "1" if pooling else "2", "VLLM_LOGGING_LEVEL": "WARNING"},
        start_timeout=420.0,
    )


def rma_service(name: str, port: int, log: Path, env: dict[str, str]) -> ServerProcess:
    """``rma serve NAME`` as its own process, as it is deployed (its sources first on the
    path, so a worktree's code is what runs)."""
    source = str(Path(__file__).resolve().parents[2] / "src")
    path = os.pathsep.join(p for p in (source, *sys.path) if p)  # then what the tests see
    return ServerProcess(
        argv=[sys.executable, "-m", "rma.cli", "serve", name, "--port", str(port)],
        port=port,
        health_path="/health",
        log=log,
        env={"PYTHONPATH": path, **env},
        start_timeout=180.0,
        # The developer's own settings would change what is tested.
        withheld=("LLM_", "VLLM_", "OLLAMA_", "RMA_", "CHROMADB_", "FALLBACK_PROVIDER",
                  "EMBED_PROVIDER", "OCR_PROVIDER", "MANUALS_PATH"),
    )  # fmt: skip


def process_tree(pid: int) -> list[int]:
    """``pid`` and every process below it (a service and its document workers)."""
    found = [pid]
    for current in found:
        for task in Path(f"/proc/{current}/task").glob("*"):
            with contextlib.suppress(OSError):
                found += [int(c) for c in (task / "children").read_text().split()]
    return found


def rss_bytes(pid: int) -> int:
    """Resident memory of one process (0 once it has gone)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    line = next((ln for ln in status.splitlines() if ln.startswith("VmRSS:")), "VmRSS: 0 kB")
    return int(line.split()[1]) * 1024


def temp_bytes(pid: int, folder: Path) -> int:
    """Bytes of regular files a process holds open in ``folder`` or that are deleted but
    still open (a spooled upload), plus the files in ``folder`` itself."""
    total = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    for fd in Path(f"/proc/{pid}/fd").glob("*"):
        try:
            target = os.readlink(fd)
            if target.startswith(str(folder)) or target.endswith("(deleted)"):
                info = fd.stat()
                if stat.S_ISREG(info.st_mode):
                    total += info.st_size
        except OSError:
            pass
    return total


def vllm_install() -> tuple[str, str] | None:
    """The vLLM environment's python and the converted SmolLM2 model folder: from
    ``RMA_TEST_VLLM_PYTHON`` and ``RMA_TEST_VLLM_MODEL_DIR`` when set (``scripts/test``
    exports them), else the ones ``scripts/lib.sh`` left in its cache (``RMA_CACHE``,
    default ``~/.cache/rma``), found by the same keys it builds them under; None if
    neither is there."""
    python = os.environ.get("RMA_TEST_VLLM_PYTHON")
    model_dir = os.environ.get("RMA_TEST_VLLM_MODEL_DIR")
    if python and model_dir:
        return python, model_dir
    from rma.llm import assets

    root = Path(__file__).resolve().parents[2]
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    cache = Path(os.environ.get("RMA_CACHE") or Path(xdg) / "rma")
    key = hashlib.sha256((root / "requirements" / "vllm.txt").read_bytes()).hexdigest()[:12]
    env = cache / f"vllm-{key}"
    sha = assets.SMOLLM2_GGUF.sha256
    model = cache / "models" / f"smollm2-hf-{sha[:16]}"
    source = model / "SOURCE_SHA256"
    if not (env / ".complete").is_file() or not source.is_file():
        return None
    if source.read_text().strip() != sha:
        return None
    return str(env / "bin" / "python"), str(model)


def require_reachable(url: str, variable: str) -> None:
    """Fail the tests, saying why, when a server a variable names does not answer."""
    try:
        httpx.get(f"{url.rstrip('/')}/models", timeout=10).raise_for_status()
    except httpx.HTTPError as exc:
        pytest.fail(
            f"{variable}={url} is set, but that server does not answer ({exc!r}); start it, "
            f"or unset {variable} to let the tests start vLLM themselves",
            pytrace=False,
        )
