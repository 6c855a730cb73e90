"""The Kubernetes manifests, rendered by Kustomize, agree with the code: kinds, ports,
probes, autoscaling, the Chroma volume, secrets apart from settings, and every variable
name one the code reads."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from rma.config import load_settings
from tests.conftest import ROOT
from tests.deploy.conftest import (
    DEPLOYED_NAMES,
    SECRETS,
    SERVICE_PORTS,
    image_variables,
    settings_names,
)
from tests.support import kustomize

K8S = ROOT / "deploy" / "k8s"
OVERLAYS = {"base": K8S / "base", "cpu": K8S / "overlays" / "cpu", "gpu": K8S / "overlays" / "gpu"}
RMA_IMAGE = "rma"

Manifest = dict[str, Any]


@pytest.fixture(scope="module", params=sorted(OVERLAYS))
def rendered(request: pytest.FixtureRequest) -> tuple[str, list[Manifest]]:
    return request.param, kustomize.render(OVERLAYS[request.param])


def by_kind(objects: list[Manifest], kind: str) -> dict[str, Manifest]:
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}


def containers(workload: Manifest) -> list[Manifest]:
    return workload["spec"]["template"]["spec"]["containers"]


def settings_of(objects: list[Manifest]) -> dict[str, str]:
    config = by_kind(objects, "ConfigMap")["rma-settings"]["data"]
    assert not set(config) & SECRETS  # secrets only in the Secret the operator creates
    return dict(config)


def test_the_expected_objects_are_rendered(rendered: tuple[str, list[Manifest]]) -> None:
    overlay, objects = rendered
    kinds = {(o["kind"], o["metadata"]["name"]) for o in objects}
    expected = {("Namespace", "rma"), ("ConfigMap", "rma-settings"),
                ("StatefulSet", "chromadb"), ("Service", "chromadb"), ("ConfigMap", "chroma-proxy"),
                ("StatefulSet", "postgres"), ("Service", "postgres"),
                ("PersistentVolumeClaim", "case-files"),
                ("NetworkPolicy", "chromadb-from-services"),
                ("NetworkPolicy", "postgres-from-services")}  # fmt: skip
    for name in DEPLOYED_NAMES:
        expected |= {("Deployment", name), ("Service", name), ("HorizontalPodAutoscaler", name)}
    if overlay == "gpu":
        expected |= {("Deployment", "vllm"), ("Service", "vllm"), ("Deployment", "ollama"),
                     ("Service", "ollama"), ("PersistentVolumeClaim", "models"),
                     ("PersistentVolumeClaim", "ollama-models"),
                     ("NetworkPolicy", "model-servers-from-services")}  # fmt: skip
    assert kinds == expected
    assert all(o["metadata"].get("namespace") == "rma" for o in objects if o["kind"] != "Namespace")


def test_every_variable_name_is_read_by_the_code(
    rendered: tuple[str, list[Manifest]], code_names: set[str]
) -> None:
    _, objects = rendered
    assert set(settings_of(objects)) <= code_names
    for name in DEPLOYED_NAMES:
        (container,) = containers(by_kind(objects, "Deployment")[name])
        names = {e["name"] for e in container.get("env", [])}
        assert names <= code_names | image_variables()
        sources = {s.get("configMapRef", s.get("secretRef", {})).get("name")
                   for s in container["envFrom"]}  # fmt: skip
        assert sources == {"rma-settings", "rma-secrets"}


def test_the_settings_are_valid_and_point_at_the_rendered_servers(
    rendered: tuple[str, list[Manifest]],
) -> None:
    overlay, objects = rendered
    values = settings_of(objects)
    settings = load_settings(**{k: v for k, v in values.items() if k in settings_names()})
    services = by_kind(objects, "Service")
    assert settings.chromadb_host in services
    assert settings.chromadb_port == services["chromadb"]["spec"]["ports"][0]["port"]
    if overlay == "gpu":
        assert settings.chat_chain == ["vllm", "ollama"]
        for url in settings.vllm_url:
            parts = urlsplit(url)
            assert parts.hostname in services and parts.path == "/v1"
            assert parts.port == services[parts.hostname]["spec"]["ports"][0]["port"]
        ollama = urlsplit(settings.ollama_url)
        assert ollama.port == services["ollama"]["spec"]["ports"][0]["port"]
    else:
        assert settings.chat_chain == ["local"]


def test_each_service_listens_where_its_service_sends_traffic_and_is_probed(
    rendered: tuple[str, list[Manifest]],
) -> None:
    _, objects = rendered
    deployments = by_kind(objects, "Deployment")
    services = by_kind(objects, "Service")
    for name, serve_name in DEPLOYED_NAMES.items():
        port = SERVICE_PORTS[serve_name]
        (container,) = containers(deployments[name])
        assert container["image"].split(":")[0] == RMA_IMAGE
        assert {"name": "RMA_SERVICE", "value": serve_name} in container["env"]
        assert container["ports"] == [{"name": "http", "containerPort": port}]
        assert container["readinessProbe"]["httpGet"] == {"path": "/ready", "port": "http"}
        assert container["livenessProbe"]["httpGet"] == {"path": "/health", "port": "http"}
        assert container["startupProbe"]["httpGet"]["path"] == "/health"
        service = services[name]["spec"]
        assert service["ports"] == [{"name": "http", "port": port, "targetPort": "http"}]
        labels = deployments[name]["spec"]["template"]["metadata"]["labels"]
        assert service["selector"].items() <= labels.items()
        pod = deployments[name]["spec"]["template"]["spec"]["securityContext"]
        assert pod["runAsNonRoot"] is True and pod["runAsUser"] != 0


def test_every_service_scales_on_a_horizontal_pod_autoscaler(
    rendered: tuple[str, list[Manifest]],
) -> None:
    _, objects = rendered
    for name in DEPLOYED_NAMES:
        hpa = by_kind(objects, "HorizontalPodAutoscaler")[name]
        assert hpa["apiVersion"] == "autoscaling/v2"
        target = hpa["spec"]["scaleTargetRef"]
        assert (target["kind"], target["name"]) == ("Deployment", name)
        assert 2 <= hpa["spec"]["minReplicas"] < hpa["spec"]["maxReplicas"]
        (container,) = containers(by_kind(objects, "Deployment")[name])
        assert container["resources"]["requests"]["cpu"]  # utilisation needs a request


def test_chroma_keeps_its_data_on_a_claimed_volume(rendered: tuple[str, list[Manifest]]) -> None:
    _, objects = rendered
    chroma = by_kind(objects, "StatefulSet")["chromadb"]
    (claim,) = chroma["spec"]["volumeClaimTemplates"]
    store = next(c for c in containers(chroma) if c["image"].startswith("chromadb/chroma:"))
    assert {"name": claim["metadata"]["name"], "mountPath": "/data"} in store["volumeMounts"]
    service = by_kind(objects, "Service")["chromadb"]["spec"]
    assert chroma["spec"]["serviceName"] == "chromadb" and service["clusterIP"] == "None"


def test_chroma_answers_only_through_its_token_proxy(rendered: tuple[str, list[Manifest]]) -> None:
    _, objects = rendered
    chroma = by_kind(objects, "StatefulSet")["chromadb"]
    store = next(c for c in containers(chroma) if c["image"].startswith("chromadb/chroma:"))
    proxy = next(c for c in containers(chroma) if c["image"].startswith("nginx:"))
    args = store["args"]
    assert args[args.index("--host") + 1] == "127.0.0.1"  # not reachable from outside the pod
    assert "ports" not in store
    assert proxy["ports"] == [{"name": "http", "containerPort": 8000}]
    env = {e["name"]: e.get("value", e.get("valueFrom")) for e in proxy["env"]}
    assert env["CHROMADB_TOKEN"] == {
        "secretKeyRef": {"name": "rma-secrets", "key": "CHROMADB_TOKEN"}
    }
    assert env["CHROMA_UPSTREAM"] == f"127.0.0.1:{args[args.index('--port') + 1]}"
    assert proxy["readinessProbe"]["httpGet"]["path"] == "/api/v2/heartbeat"
    # The configuration is deploy/chroma-proxy's, word for word (Compose mounts that file).
    template = (ROOT / "deploy" / "chroma-proxy" / "default.conf.template").read_text()
    config = by_kind(objects, "ConfigMap")["chroma-proxy"]["data"]["default.conf.template"]
    assert config == template
    mount = next(m for m in proxy["volumeMounts"] if m["name"] == "proxy-config")
    assert mount["mountPath"] == "/etc/nginx/templates"


def test_no_secret_is_shipped(rendered: tuple[str, list[Manifest]]) -> None:
    """The operator creates rma-secrets and rma-database; nothing rendered holds a value."""
    _, objects = rendered
    assert by_kind(objects, "Secret") == {}
    for workload in [
        *by_kind(objects, "Deployment").values(),
        *by_kind(objects, "StatefulSet").values(),
    ]:
        for container in containers(workload):
            for entry in container.get("env", []):
                assert entry["name"] not in SECRETS or "valueFrom" in entry, entry


def test_only_the_services_reach_the_stores_and_model_servers(
    rendered: tuple[str, list[Manifest]],
) -> None:
    overlay, objects = rendered
    services = {"notes-service", "doc-processor", "rag-service"}
    # The adviser app calls the services, not the models or Chroma; it keeps the cases,
    # accounts and audit log in PostgreSQL.
    callers = {"postgres": services | {"adviser-app"}}
    guarded = {"chromadb", "postgres"} | ({"vllm", "ollama"} if overlay == "gpu" else set())
    covered: set[str] = set()
    for policy in by_kind(objects, "NetworkPolicy").values():
        spec = policy["spec"]
        assert spec["policyTypes"] == ["Ingress"]
        selector = spec["podSelector"]
        targets = set(selector.get("matchLabels", {}).values())
        for expression in selector.get("matchExpressions", []):
            targets |= set(expression["values"])
        covered |= targets
        (allowed,) = {frozenset(callers.get(target, services)) for target in targets}
        for rule in spec["ingress"]:
            for peer in rule["from"]:
                (expression,) = peer["podSelector"]["matchExpressions"]
                assert expression["key"] == "app.kubernetes.io/name"
                assert set(expression["values"]) == allowed
    assert covered == guarded
    # Each guarded workload's pods carry the label the policy selects on.
    workloads = {**by_kind(objects, "Deployment"), **by_kind(objects, "StatefulSet")}
    for name in guarded:
        labels = workloads[name]["spec"]["template"]["metadata"]["labels"]
        assert labels["app.kubernetes.io/name"] == name
    for name in services | callers["postgres"]:
        labels = workloads[name]["spec"]["template"]["metadata"]["labels"]
        assert labels["app.kubernetes.io/name"] == name


DATABASE_SECRET = {"secretKeyRef": {"name": "rma-database", "key": "password"}}


def test_postgres_keeps_its_data_and_its_password_is_a_secret_not_shipped(
    rendered: tuple[str, list[Manifest]],
) -> None:
    _, objects = rendered
    postgres = by_kind(objects, "StatefulSet")["postgres"]
    (container,) = containers(postgres)
    env = {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}
    assert env["POSTGRES_PASSWORD"] == DATABASE_SECRET
    assert "rma-database" not in by_kind(objects, "Secret")  # the operator creates it
    (claim,) = postgres["spec"]["volumeClaimTemplates"]
    mount = {"name": claim["metadata"]["name"], "mountPath": "/var/lib/postgresql/data"}
    assert mount in container["volumeMounts"]
    assert env["PGDATA"].startswith("/var/lib/postgresql/data/")
    assert "pg_isready" in container["readinessProbe"]["exec"]["command"]
    # The services find it where the URL says and take the password from the same Secret.
    url = urlsplit(settings_of(objects)["RMA_DATABASE_URL"])
    service = by_kind(objects, "Service")["postgres"]["spec"]
    assert (url.hostname, url.port) == ("postgres", service["ports"][0]["port"])
    assert (url.username, url.path, url.password) == (
        env["POSTGRES_USER"],
        "/" + env["POSTGRES_DB"],
        None,
    )
    for name in ("notes-service", "rag-service", "adviser-app"):
        (app,) = containers(by_kind(objects, "Deployment")[name])
        passwords = [e["valueFrom"] for e in app["env"] if e["name"] == "RMA_DATABASE_PASSWORD"]
        assert passwords == [DATABASE_SECRET], name


def test_vllm_runs_as_gpu_replicas_behind_one_service() -> None:
    objects = kustomize.render(OVERLAYS["gpu"])
    vllm = by_kind(objects, "Deployment")["vllm"]
    assert vllm["spec"]["replicas"] >= 2
    (container,) = containers(vllm)
    assert container["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert "--served-model-name=$(VLLM_MODEL)" in container["args"]
    assert "--max-model-len=$(VLLM_CONTEXT_TOKENS)" in container["args"]
    env = {e["name"]: e["valueFrom"] for e in container["env"] if "valueFrom" in e}
    assert env["VLLM_MODEL"] == {"configMapKeyRef": {"name": "rma-settings", "key": "VLLM_MODEL"}}
    assert env["VLLM_API_KEY"] == {"secretKeyRef": {"name": "rma-secrets", "key": "VLLM_API_KEY"}}
    port = next(p["containerPort"] for p in container["ports"] if p["name"] == "http")
    assert f"--port={port}" in container["args"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/health"
    service = by_kind(objects, "Service")["vllm"]["spec"]
    assert service["selector"].items() <= vllm["spec"]["template"]["metadata"]["labels"].items()
    (ollama,) = containers(by_kind(objects, "Deployment")["ollama"])
    slots = next(e["value"] for e in ollama["env"] if e["name"] == "OLLAMA_NUM_PARALLEL")
    assert slots == settings_of(objects)["OLLAMA_MAX_IN_FLIGHT"]


@pytest.mark.skipif(kustomize.kustomize_command() is None, reason="no kubectl or kustomize here")
@pytest.mark.parametrize("overlay", sorted(OVERLAYS))
def test_the_fallback_resolver_renders_what_kustomize_renders(overlay: str) -> None:
    def keyed(objects: list[Manifest]) -> dict[tuple[str, str], Manifest]:
        return {(o["kind"], o["metadata"]["name"]): o for o in objects}

    directory: Path = OVERLAYS[overlay]
    assert keyed(kustomize.build(directory)) == keyed(kustomize.render_with_tool(directory))


ENCRYPTION_SECRET = {"secretKeyRef": {"name": "rma-encryption", "key": "key"}}


def test_the_app_calls_the_services_and_alone_holds_the_encryption_key(
    rendered: tuple[str, list[Manifest]],
) -> None:
    _, objects = rendered
    values = settings_of(objects)
    services = by_kind(objects, "Service")
    for variable, name in (("RMA_NOTES_URL", "notes-service"), ("RMA_DOCS_URL", "doc-processor"),
                           ("RMA_RAG_URL", "rag-service")):  # fmt: skip
        url = urlsplit(values[variable])
        assert url.hostname == name and url.port == services[name]["spec"]["ports"][0]["port"]
    assert "rma-encryption" not in by_kind(objects, "Secret")  # the operator creates it
    for name in DEPLOYED_NAMES:
        (container,) = containers(by_kind(objects, "Deployment")[name])
        keys = [e.get("valueFrom") for e in container["env"] if e["name"] == "RMA_ENCRYPTION_KEY"]
        assert keys == ([ENCRYPTION_SECRET] if name == "adviser-app" else []), name
    app = by_kind(objects, "Deployment")["adviser-app"]["spec"]["template"]["spec"]
    data = next(v for v in app["volumes"] if v["name"] == "data")
    claim = by_kind(objects, "PersistentVolumeClaim")[data["persistentVolumeClaim"]["claimName"]]
    assert claim["spec"]["accessModes"] == ["ReadWriteMany"]  # shared by the replicas
