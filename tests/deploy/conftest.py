"""What the deployment files must agree with: the variables the code reads and the
ports the services listen on, both derived from the code rather than listed here."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from rma import constants as C
from rma.config import Settings
from tests.conftest import ROOT

# `rma serve NAME` -> the port it listens on.
SERVICE_PORTS = {
    "notes": C.NOTES_PORT, "docs": C.DOCS_PORT, "rag": C.RAG_PORT, "app": C.APP_PORT,
}  # fmt: skip
# The same services under their Compose and Kubernetes names.
DEPLOYED_NAMES = {
    "notes-service": "notes", "doc-processor": "docs", "rag-service": "rag",
    "adviser-app": "app",
}  # fmt: skip
# The ones that call models and read the vector store (the app calls them instead).
MODEL_USERS = {"notes-service", "doc-processor", "rag-service"}
# Settings only Secrets hold: never in a ConfigMap, never with a value in .env.example.
SECRETS = {"RMA_API_KEYS", "VLLM_API_KEY", "RMA_SERVICE_KEY", "CHROMADB_TOKEN"}
_ENV_READ = re.compile(
    r"""(?:os\.environ\.get|os\.getenv|os\.environ\[)\(?\s*["']([A-Z0-9_]+)["']"""
)


def settings_names() -> set[str]:
    return {field.alias for field in Settings.model_fields.values() if field.alias}


def environ_reads() -> set[str]:
    """Variables the services read with os.environ / os.getenv (the local-stack launcher,
    rma.stack, reads the operator's shell, not service settings)."""
    names: set[str] = set()
    package = ROOT / "src" / "rma"
    for path in package.rglob("*.py"):
        if path.is_relative_to(package / "stack"):
            continue
        names.update(_ENV_READ.findall(path.read_text(encoding="utf-8")))
    return names


def image_variables() -> set[str]:
    """Variables the image itself reads (its CMD and HEALTHCHECK), not the Python code."""
    return {"RMA_SERVICE"}


@pytest.fixture(scope="session")
def code_names() -> set[str]:
    names = settings_names() | environ_reads()
    assert {"LLM_PROVIDER", "VLLM_URL", "CHROMADB_HOST", "RMA_CONFIG"} <= names
    return names


def read_env_example(path: Path) -> dict[str, str]:
    values = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            values[name.strip()] = value.strip()
    return values
