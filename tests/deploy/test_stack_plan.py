"""The local stack without a model server: how it wires the parts, what it writes to
disk, and that it refuses or cleans up rather than leaving a half-started stack."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from rma.errors import ConfigError
from rma.stack.plan import StackOptions, StackPlan, build_plan, read_env_file
from rma.stack.processes import is_alive
from tests.conftest import ROOT
from tests.support.servers import free_port


def rma_stack(*args: str, state_dir: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RMA_STACK_", "LLM_"))}
    return subprocess.run(
        [sys.executable, "-m", "rma.cli", "stack", *args, "--state-dir", str(state_dir)],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip


def test_the_env_file_is_read_as_compose_reads_it(tmp_path: Path) -> None:
    env_file = tmp_path / "rma.env"
    env_file.write_text(
        "# settings\n\nexport RMA_LOG_LEVEL=DEBUG\nVLLM_MODEL='my-model'\nRMA_CONFIG=\n"
    )
    assert read_env_file(env_file) == {
        "RMA_LOG_LEVEL": "DEBUG", "VLLM_MODEL": "my-model", "RMA_CONFIG": "",
    }  # fmt: skip
    env_file.write_text("RMA_LOG_LEVEL=INFO\nthis is not a setting\n")
    with pytest.raises(ConfigError, match=r"rma\.env:2"):
        read_env_file(env_file)


def test_the_stack_wires_the_parts_and_leaves_the_choices_to_the_operator(
    tmp_path: Path,
) -> None:
    env_file = tmp_path / "rma.env"
    env_file.write_text(
        "VLLM_URL=http://vllm:8000/v1\nVLLM_MODEL=served-name\nVLLM_CONTEXT_TOKENS=4096\n"
        "RMA_API_KEYS=secret-key-0123456789abcdef0123456789\nVLLM_API_KEY=secret-vllm-key\n"
        "RMA_SERVICE_KEY=secret-key-0123456789abcdef0123456789\n"
    )
    options = StackOptions(
        state_dir=tmp_path / "state", env_file=env_file, vllm_python="/opt/vllm/bin/python",
        vllm_model_dir="/models/m", ollama_url="http://127.0.0.1:11434/", vllm_port=9000,
        chroma_port=9001,
    )  # fmt: skip
    plan, settings = build_plan(options, {"LLM_BREAKER_THRESHOLD": "5"})
    # The stack's wiring beats the env file; the operator's other settings come through.
    assert settings.vllm_url == ["http://127.0.0.1:9000/v1"]
    assert (settings.chromadb_host, settings.chromadb_port) == ("127.0.0.1", 9001)
    assert settings.chat_chain == ["vllm", "ollama"]
    assert settings.ollama_url == "http://127.0.0.1:11434"
    assert settings.breaker_threshold == 5
    vllm = plan.component("vllm")
    assert vllm.argv[:3] == ["/opt/vllm/bin/python", "-m", "vllm.entrypoints.openai.api_server"]
    flags = dict(zip(vllm.argv[3::2], vllm.argv[4::2], strict=True))
    assert flags["--served-model-name"] == "served-name"  # VLLM_MODEL from the env file
    assert flags["--max-model-len"] == "4096"  # VLLM_CONTEXT_TOKENS
    assert (flags["--model"], flags["--port"]) == ("/models/m", "9000")
    # The operator's own vLLM flags come after the stack's, as given.
    extra = replace(options, vllm_args=("--enforce-eager", "--seed=7"))
    assert build_plan(extra, {})[0].component("vllm").argv[-2:] == ["--enforce-eager", "--seed=7"]
    with pytest.raises(ConfigError, match="--vllm-arg"):
        build_plan(replace(extra, vllm_python=None, vllm_model_dir=None, vllm_url="http://v"), {})
    assert [c.name for c in plan.components] == ["vllm", "chroma", "notes", "docs", "rag", "app"]
    assert [c.tier for c in plan.components] == [0, 0, 1, 1, 1, 2]  # the app last
    rag = plan.component("rag")
    assert rag.env["RMA_DATA_DIR"] == str((tmp_path / "state" / "data" / "rag").resolve())
    assert rag.argv[-4:] == ["--host", "127.0.0.1", "--port", "8102"]
    # one database for all the services, not one per data folder
    shared = f"sqlite:///{(tmp_path / 'state' / 'data' / 'rma.db').resolve()}"
    assert {c.env["RMA_DATABASE_URL"] for c in plan.components[2:]} == {shared}
    # stack.json records the wiring, never the secrets from the env file.
    plan.save()
    saved = (tmp_path / "state" / "stack.json").read_text()
    assert "secret" not in saved
    assert StackPlan.load(tmp_path / "state").component("rag").env == rag.env
    # The app calls the services where the stack runs them; its key is in a 0600 file.
    app = plan.component("app")
    assert app.env["RMA_RAG_URL"] == "http://127.0.0.1:8102" and app.port == 8103
    key_file = Path(app.env["RMA_SECRETS_DIR"]) / "RMA_ENCRYPTION_KEY"
    assert oct(key_file.stat().st_mode & 0o777) == "0o600" and key_file.read_text() not in saved


def test_the_embedded_stack_runs_no_model_server_and_keeps_its_key(tmp_path: Path) -> None:
    options = StackOptions(state_dir=tmp_path / "state", embedded=True)
    plan, settings = build_plan(options, {"LLM_PROVIDER": "vllm", "CHROMADB_HOST": "chroma"})
    assert [c.name for c in plan.components] == ["notes", "docs", "rag", "app"]
    assert [c.tier for c in plan.components] == [0, 0, 0, 1]
    assert settings.chat_chain == ["local"] and settings.chromadb_host == ""
    assert (settings.embed_provider, settings.ocr_provider) == ("local", "tesseract")
    key_file = Path(plan.component("app").env["RMA_SECRETS_DIR"]) / "RMA_ENCRYPTION_KEY"
    first = key_file.read_text()
    build_plan(options, {})
    assert key_file.read_text() == first  # generated once: the files stay readable
    given, _ = build_plan(options, {"RMA_ENCRYPTION_KEY": "k:" + "A" * 43})
    assert "RMA_SECRETS_DIR" not in given.component("app").env
    with pytest.raises(ConfigError, match="vLLM options"):
        build_plan(StackOptions(state_dir=tmp_path, embedded=True, vllm_url="http://x/v1"), {})
    with pytest.raises(ConfigError, match="RMA_SERVICE_KEY"):
        build_plan(options, {"RMA_API_KEYS": "people-key-" + "0" * 32})


def test_the_stack_makes_the_apps_service_key_once_and_keeps_it_out_of_stack_json(
    tmp_path: Path,
) -> None:
    options = StackOptions(state_dir=tmp_path / "state", embedded=True)
    plan, _ = build_plan(options, {"RMA_SERVICE_AUTH": "tokens"})
    app_key = Path(plan.component("app").env["RMA_SECRETS_DIR"]) / "RMA_SERVICE_KEY"
    folders = {Path(plan.component(s).env["RMA_SECRETS_DIR"]) for s in ("notes", "docs", "rag")}
    [services] = folders
    accepted = services / "RMA_API_KEYS"
    assert app_key.read_text() == accepted.read_text() and len(app_key.read_text()) >= 43
    for path in (app_key, accepted):
        assert oct(path.stat().st_mode & 0o777) == "0o600"
    plan.save()
    assert app_key.read_text() not in (tmp_path / "state" / "stack.json").read_text()
    again, _ = build_plan(options, {"RMA_SERVICE_AUTH": "tokens"})
    assert (Path(again.component("app").env["RMA_SECRETS_DIR"]) / "RMA_SERVICE_KEY").read_text() \
        == app_key.read_text()  # fmt: skip
    # An operator's own keys, or the check turned off: the stack makes none.
    key = "k1-" + "1" * 32
    for given in ({"RMA_API_KEYS": key, "RMA_SERVICE_KEY": key}, {"RMA_SERVICE_AUTH": "off"}):
        other, _ = build_plan(StackOptions(state_dir=tmp_path / "other", embedded=True), given)
        assert "RMA_SECRETS_DIR" not in other.component("rag").env


def test_an_operators_rollback_setting_is_kept(tmp_path: Path) -> None:
    options = StackOptions(state_dir=tmp_path, vllm_url="http://127.0.0.1:1/v1")
    _, settings = build_plan(options, {"LLM_PROVIDER": "ollama"})
    assert settings.chat_chain == ["ollama"]


def test_invalid_settings_stop_the_stack_before_anything_starts(tmp_path: Path) -> None:
    env_file = tmp_path / "rma.env"
    env_file.write_text("LLM_PROVIDER=openai\n")
    done = rma_stack("up", "--env-file", str(env_file), "--vllm-url", "http://127.0.0.1:1/v1",
                     state_dir=tmp_path / "state")  # fmt: skip
    assert done.returncode == 2
    assert "LLM_PROVIDER" in done.stderr
    assert not (tmp_path / "state" / "run").exists()


def test_a_stack_beyond_loopback_needs_credentials_before_anything_starts(
    tmp_path: Path,
) -> None:
    options = StackOptions(state_dir=tmp_path, vllm_url="http://127.0.0.1:1/v1", host="0.0.0.0")
    with pytest.raises(ConfigError, match=r"refusing to listen on 0\.0\.0\.0"):
        build_plan(options, {"RMA_SERVICE_AUTH": "off"})
    assert not (tmp_path / "keys").exists()  # refused before anything was made
    key = "k" * 40
    tokens = {"RMA_SERVICE_AUTH": "tokens"}
    _, settings = build_plan(options, tokens | {"RMA_API_KEYS": key, "RMA_SERVICE_KEY": key})
    assert settings.rma_api_keys
    plan, made = build_plan(options, tokens)  # the services ask for credentials: a key made
    assert made.rma_service_auth == "tokens" and "RMA_SECRETS_DIR" in plan.component("notes").env
    _, trusted = build_plan(options, {"RMA_SERVICE_AUTH": "off", "RMA_TRUSTED_NETWORK": "1"})
    assert trusted.rma_trusted_network and not trusted.rma_api_keys


def test_a_stack_without_vllm_is_refused_with_what_to_give(tmp_path: Path) -> None:
    done = rma_stack("up", state_dir=tmp_path)
    assert done.returncode == 2 and "--vllm-python" in done.stderr and "--vllm-url" in done.stderr


def test_when_a_dependency_is_down_up_fails_and_stops_what_it_started(tmp_path: Path) -> None:
    dead_vllm = f"http://127.0.0.1:{free_port()}/v1"
    done = rma_stack("up", "--vllm-url", dead_vllm, "--chroma-port", str(free_port()),
                     state_dir=tmp_path)  # fmt: skip
    assert done.returncode == 1
    assert "vllm did not answer" in done.stderr
    plan = StackPlan.load(tmp_path)
    assert plan is not None
    chroma_log = plan.log_path("chroma").read_text()
    assert "started" in chroma_log  # Chroma was started beside it, then stopped
    assert not plan.pid_path("chroma").exists()
    status = rma_stack("status", "--json", state_dir=tmp_path)
    assert status.returncode == 1
    assert not any(row["running"] for row in json.loads(status.stdout))


def test_down_never_signals_a_process_the_stack_did_not_start(tmp_path: Path) -> None:
    options = StackOptions(state_dir=tmp_path, vllm_url="http://127.0.0.1:1/v1")
    plan, _ = build_plan(options, {})
    plan.save()
    # A pid file naming a live process started at another time (the pid was reused).
    stranger = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        plan.pid_path("chroma").parent.mkdir(parents=True)
        plan.pid_path("chroma").write_text(f"{stranger.pid} 1\n")
        done = rma_stack("down", "chroma", state_dir=tmp_path)
        assert done.returncode == 0 and "was not running" in done.stdout
        assert is_alive(stranger.pid) and stranger.poll() is None
    finally:
        stranger.kill()
        stranger.wait()
