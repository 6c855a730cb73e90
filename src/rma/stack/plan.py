"""What the local stack runs and how the parts are wired: the same variables as Compose.

Two shapes: the GPU-server deployment on one machine (vLLM on the CPU, a Chroma server,
the three services, the adviser app), and ``--embedded``, the embedded default (the three
services on the bundled models with embedded Chroma, and the app; no model server at
all). Either way the services share one SQLite database unless the operator names one,
and the app's encryption key is generated once into the state folder's ``keys/`` (mode
0600) unless the operator gives ``RMA_ENCRYPTION_KEY``.

A :class:`StackPlan` lists the components in start order (model server and store first,
then the services that depend on them), each with its command line, port, health path
and the environment variables the stack sets for it. It is saved as ``stack.json`` in
the state folder so that ``status`` and ``down`` act on what ``up`` started. Secrets are
never written there: only the wiring the stack itself decides.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rma import constants as C
from rma.config import Settings, load_settings
from rma.errors import ConfigError

VLLM_PORT = 8000  # the port of DEFAULT_VLLM_URL
CHROMA_PORT = 8001  # beside vLLM's; in Compose each has its own host and both use 8000
VLLM_START_TIMEOUT = 600.0
CHROMA_START_TIMEOUT = 60.0
SERVICE_START_TIMEOUT = 180.0
# KV cache for vLLM on the CPU, in GiB; enough for a small model's 2k-token context.
VLLM_CPU_KVCACHE_GIB = "2"
PLAN_FILE = "stack.json"


@dataclass(frozen=True)
class ServiceSpec:
    """One RMA service: its ``rma serve`` name, its Compose name and its default port."""

    name: str
    compose_name: str
    port: int


SERVICES: tuple[ServiceSpec, ...] = (
    ServiceSpec("notes", "notes-service", C.NOTES_PORT),
    ServiceSpec("docs", "doc-processor", C.DOCS_PORT),
    ServiceSpec("rag", "rag-service", C.RAG_PORT),
)
APP = ServiceSpec("app", "adviser-app", C.APP_PORT)
# What --embedded means: every model in-process, Tesseract, Chroma embedded in the RAG
# service. Forced, not defaults: a model server named elsewhere would not be embedded.
EMBEDDED = {
    "LLM_PROVIDER": "local",
    "FALLBACK_PROVIDER": "",
    "EMBED_PROVIDER": "local",
    "OCR_PROVIDER": "tesseract",
    "CHROMADB_HOST": "",
}
# The app's settings the stack writes to files rather than to stack.json (secrets).
SECRETS_DIR = "keys"


@dataclass
class Component:
    """One process of the stack (or, with ``owned`` false, a server it only uses)."""

    name: str
    tier: int  # started after every component of a lower tier is healthy
    port: int
    health_path: str
    argv: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)  # set on top of the base environment
    ready_path: str | None = None
    start_timeout: float = SERVICE_START_TIMEOUT
    owned: bool = True
    base_url: str = ""

    def __post_init__(self) -> None:
        if not self.base_url:
            self.base_url = f"http://127.0.0.1:{self.port}"

    @property
    def health_url(self) -> str:
        return self.base_url + self.health_path


@dataclass
class StackPlan:
    state_dir: Path
    components: list[Component]
    cwd: str
    env_file: str | None = None

    def component(self, name: str) -> Component:
        for c in self.components:
            if c.name == name:
                return c
        known = ", ".join(c.name for c in self.components)
        raise ConfigError(f"the stack has no component {name!r} (it has: {known})")

    @property
    def owned(self) -> list[Component]:
        return [c for c in self.components if c.owned]

    def log_path(self, name: str) -> Path:
        return self.state_dir / "logs" / f"{name}.log"

    def pid_path(self, name: str) -> Path:
        return self.state_dir / "run" / f"{name}.pid"

    def save(self) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        data = {
            "cwd": self.cwd,
            "env_file": self.env_file,
            "components": [asdict(c) for c in self.components],
        }
        staging = self.state_dir / (PLAN_FILE + ".new")
        staging.write_text(json.dumps(data, indent=1), encoding="utf-8")
        staging.replace(self.state_dir / PLAN_FILE)

    @classmethod
    def load(cls, state_dir: Path) -> StackPlan | None:
        try:
            data = json.loads((state_dir / PLAN_FILE).read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise ConfigError(f"{state_dir / PLAN_FILE} is unreadable: {exc}") from None
        return cls(
            state_dir=state_dir,
            components=[Component(**c) for c in data["components"]],
            cwd=data["cwd"],
            env_file=data.get("env_file"),
        )


@dataclass
class StackOptions:
    """What the operator chose on the command line."""

    state_dir: Path
    env_file: Path | None = None
    vllm_python: str | None = None
    vllm_model_dir: str | None = None
    vllm_url: str | None = None
    ollama_url: str | None = None
    host: str = "127.0.0.1"
    vllm_port: int = VLLM_PORT
    chroma_port: int = CHROMA_PORT
    service_ports: dict[str, int] = field(default_factory=dict)
    vllm_start_timeout: float = VLLM_START_TIMEOUT
    vllm_args: tuple[str, ...] = ()  # more of vLLM's own flags, given as they are
    embedded: bool = False


def read_env_file(path: Path) -> dict[str, str]:
    """``NAME=value`` lines as Compose reads an env_file: ``#`` comments, blank lines and
    an optional ``export`` skipped, one pair of matching quotes removed."""
    values: dict[str, str] = {}
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ConfigError(f"cannot read the env file {path}: {exc.strerror}") from None
    for number, raw in enumerate(lines, 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        line = line.removeprefix("export ").strip()
        name, sep, value = line.partition("=")
        name = name.strip()
        if not sep or not name.isidentifier():
            raise ConfigError(f"{path}:{number}: expected NAME=value")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[name] = value
    return values


def service_settings(env: dict[str, str]) -> Settings:
    """The settings the services will read from ``env``, checked before anything starts."""
    aliases = {f.alias for f in Settings.model_fields.values() if f.alias}
    return load_settings(**{k: v for k, v in env.items() if k in aliases})


def build_plan(options: StackOptions, base_env: dict[str, str]) -> tuple[StackPlan, Settings]:
    """The components to start and their wiring; the settings the services will see."""
    state = options.state_dir.resolve()
    file_env = read_env_file(options.env_file) if options.env_file else {}
    # The operator's choices (environment, then the env file) under the stack's wiring.
    chosen = {**base_env, **file_env}
    components: list[Component]
    wiring: dict[str, str]
    provider_env: dict[str, str]
    if options.embedded:
        if options.vllm_url or options.vllm_python or options.vllm_model_dir or options.vllm_args:
            raise ConfigError("--embedded runs no model server: leave out the vLLM options")
        if options.ollama_url:
            raise ConfigError("--embedded runs every model in-process: leave out --ollama-url")
        components, wiring, provider_env = [], dict(EMBEDDED), {}
    else:
        components, wiring, provider_env = _model_servers(options, chosen, state)
    if not chosen.get("RMA_DATABASE_URL"):
        # One database for every service (each has its own RMA_DATA_DIR): SQLite in WAL
        # mode takes several processes; an operator's RMA_DATABASE_URL is kept.
        wiring["RMA_DATABASE_URL"] = f"sqlite:///{state / 'data' / 'rma.db'}"
    settings = service_settings({**chosen, **provider_env, **wiring})
    settings.check_exposure(options.host)  # before anything starts, not in each service's log
    if settings.rma_api_keys and not settings.rma_service_key.get_secret_value():
        raise ConfigError(
            "RMA_API_KEYS is set, so the services need a key: set RMA_SERVICE_KEY to the one "
            "the adviser app presents to them (one of RMA_API_KEYS)"
        )
    # The services take service credentials only: unless the operator gave keys (or turned
    # the check off), the stack makes one for the app, kept in files, never in stack.json.
    service_secrets, made_key = None, ""
    if settings.rma_service_auth == "tokens" and not (
        settings.rma_api_keys or settings.rma_service_key.get_secret_value()
    ):
        service_secrets, made_key = services_secrets(state)
    tier = 0 if options.embedded else 1
    rma_serve = [sys.executable, "-m", "rma.cli", "serve"]
    service_urls: dict[str, str] = {}
    for spec in SERVICES:
        port = options.service_ports.get(spec.name, spec.port)
        service_urls[spec.name] = f"http://127.0.0.1:{port}"
        env = {**provider_env, **wiring, "RMA_DATA_DIR": str(state / "data" / spec.name)}
        if service_secrets is not None:
            env["RMA_SECRETS_DIR"] = str(service_secrets)
        components.append(
            Component(
                spec.name,
                tier,
                port,
                "/health",
                argv=[*rma_serve, spec.name, *flags(host=options.host, port=port)],
                env=env,
                ready_path="/ready",
            )
        )
    app_port = options.service_ports.get(APP.name, APP.port)
    app_env = {
        **provider_env,
        **wiring,
        "RMA_DATA_DIR": str(state / "data" / APP.name),
        "RMA_NOTES_URL": service_urls["notes"],
        "RMA_DOCS_URL": service_urls["docs"],
        "RMA_RAG_URL": service_urls["rag"],
    }
    if not chosen.get("RMA_ENCRYPTION_KEY") or made_key:
        encryption = not chosen.get("RMA_ENCRYPTION_KEY")
        app_env["RMA_SECRETS_DIR"] = str(
            app_secrets(state, encryption=encryption, service_key=made_key)
        )
    components.append(
        Component(
            APP.name,
            tier + 1,
            app_port,
            "/health",
            argv=[*rma_serve, APP.name, *flags(host=options.host, port=app_port)],
            env=app_env,
            ready_path="/ready",
        )
    )
    plan = StackPlan(
        state_dir=state,
        components=components,
        cwd=os.getcwd(),
        env_file=str(options.env_file.resolve()) if options.env_file else None,
    )
    return plan, settings


def _model_servers(
    options: StackOptions, chosen: dict[str, str], state: Path
) -> tuple[list[Component], dict[str, str], dict[str, str]]:
    """vLLM (started, or one already running) and the Chroma server: the components, the
    wiring the services get, and the provider defaults left to the operator."""
    if options.vllm_url and (options.vllm_python or options.vllm_model_dir):
        raise ConfigError("give either --vllm-url (a server already running) or the vLLM python "
                          "and model folder (a server the stack starts), not both")  # fmt: skip
    if options.vllm_url and options.vllm_args:
        raise ConfigError("--vllm-arg is for a vLLM the stack starts, not one at --vllm-url")
    if not options.vllm_url and not (options.vllm_python and options.vllm_model_dir):
        raise ConfigError(
            "vLLM: give --vllm-python and --vllm-model-dir (RMA_STACK_VLLM_PYTHON, "
            "RMA_STACK_VLLM_MODEL_DIR) to start one, or --vllm-url to use a running server "
            "(or --embedded for no model server at all)"
        )
    components: list[Component] = []
    if options.vllm_url:
        vllm_url = options.vllm_url.rstrip("/")
        vllm_root = vllm_url.removesuffix("/v1")
        components.append(
            Component("vllm", 0, 0, "/health", owned=False, base_url=vllm_root, start_timeout=0)
        )
    else:
        vllm_url = f"http://127.0.0.1:{options.vllm_port}/v1"
    wiring: dict[str, str] = {
        "VLLM_URL": vllm_url,
        "CHROMADB_HOST": "127.0.0.1",
        "CHROMADB_PORT": str(options.chroma_port),
    }
    if options.ollama_url:
        wiring["OLLAMA_URL"] = options.ollama_url.rstrip("/")
    # Provider choices are the operator's to make (LLM_PROVIDER=ollama is the rollback);
    # without one, the stack is what Compose deploys: vLLM, with Ollama behind it if known.
    defaults = {"LLM_PROVIDER": "vllm"}
    if options.ollama_url:
        defaults["FALLBACK_PROVIDER"] = "ollama"
    provider_env = {k: v for k, v in defaults.items() if k not in chosen}
    if not options.vllm_url:
        served = service_settings({**chosen, **provider_env, **wiring})
        vllm_env = {"VLLM_CPU_KVCACHE_SPACE": VLLM_CPU_KVCACHE_GIB}
        vllm_server = [str(options.vllm_python), "-m", "vllm.entrypoints.openai.api_server"]
        components.append(
            Component(
                "vllm",
                0,
                options.vllm_port,
                "/health",
                argv=vllm_server
                + flags(
                    model=str(options.vllm_model_dir),
                    served_model_name=served.vllm_model,
                    max_model_len=served.vllm_context_tokens,
                    dtype="bfloat16",
                    structured_outputs_config=C.VLLM_STRUCTURED_OUTPUTS_CONFIG,
                    host="127.0.0.1",
                    port=options.vllm_port,
                )
                + list(options.vllm_args),
                env={k: v for k, v in vllm_env.items() if k not in chosen},
                start_timeout=options.vllm_start_timeout,
            )
        )
    chroma_flags = flags(path=str(state / "chroma"), host="127.0.0.1", port=options.chroma_port)
    components.append(
        Component(
            "chroma",
            0,
            options.chroma_port,
            "/api/v2/heartbeat",
            argv=[chroma_executable(), "run", *chroma_flags],
            start_timeout=CHROMA_START_TIMEOUT,
        )
    )
    return components, wiring, provider_env


def app_secrets(state: Path, *, encryption: bool = True, service_key: str = "") -> Path:
    """The app's secrets folder (RMA_SECRETS_DIR): its encryption key, generated once and
    kept (mode 0600): without it, the client files already stored cannot be read; and
    the key it presents to the services, if the stack made one."""
    from rma.cases.vault import generate_key

    folder = _secrets_folder(state, APP.name)
    if encryption:
        _secret_file(folder, "RMA_ENCRYPTION_KEY", lambda: generate_key("stack"))
    if service_key:
        _secret_file(folder, "RMA_SERVICE_KEY", lambda: service_key)
    return folder


def services_secrets(state: Path) -> tuple[Path, str]:
    """The services' secrets folder, holding the one service key the stack made for the
    app (RMA_API_KEYS), generated once; the folder and the key."""
    folder = _secrets_folder(state, "services")
    key = _secret_file(folder, "RMA_API_KEYS", lambda: secrets.token_urlsafe(32))
    return folder, key


def _secrets_folder(state: Path, name: str) -> Path:
    folder = state / SECRETS_DIR / name
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return folder


def _secret_file(folder: Path, name: str, make: Callable[[], str]) -> str:
    """The secret in ``folder/name``, written once (mode 0600) if it is not there yet."""
    path = folder / name
    if not path.exists():
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(make())
    return path.read_text(encoding="utf-8").strip()


def flags(**values: object) -> list[str]:
    """``--name value`` pairs for a command line (underscores become dashes)."""
    return [part for k, v in values.items() for part in (f"--{k.replace('_', '-')}", str(v))]


def component_environment(plan: StackPlan, component: Component) -> dict[str, str]:
    """The full environment of one process: ours, the env file, then the stack's wiring."""
    file_env = read_env_file(Path(plan.env_file)) if plan.env_file else {}
    return {**os.environ, **file_env, **component.env}


def chroma_executable() -> str:
    """The ``chroma`` command installed beside this Python (the chromadb package's CLI)."""
    beside = Path(sys.executable).parent / "chroma"
    if beside.exists():
        return str(beside)
    import shutil

    found = shutil.which("chroma")
    if found is None:
        raise ConfigError("the chroma command is not installed (it comes with chromadb)")
    return found


def summary(plan: StackPlan) -> list[dict[str, Any]]:
    return [
        {"name": c.name, "url": c.base_url, "owned": c.owned, "log": str(plan.log_path(c.name))}
        for c in plan.components
    ]
