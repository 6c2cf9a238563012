"""The Kubernetes manifests: rendered with `kubectl kustomize`, validated offline, consistent with Compose.

No cluster runs on our machines, so this is the whole check: the kustomization renders, every
object is valid against the Kubernetes schemas (strict: no unknown fields), the ConfigMap carries
the repository's own locustfiles and budgets, the wiring holds (Service to Job, secrets to the
example Secret, worker count to --expect-workers), and the master and worker containers use the
same image, command lines and environment variables as docker-compose.yml and the README's table.
kubectl comes from PATH (Debian's kubernetes-client, which `.ci/run` installs when it is missing);
without it the tests skip, except under CI=true, where they fail.
"""

from __future__ import annotations

import re
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from tools import require_tool

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "kubernetes"
KUBERNETES_VERSION = "1.32.0"
IMAGE = "agentload:local"
SUITE_FILES = {
    "budgets.yaml": ROOT / "budgets.yaml",
    **{path.name: path for path in sorted((ROOT / "locustfiles").glob("*.py"))},
}


def kubectl() -> str:
    return require_tool("kubectl", "Debian package kubernetes-client")


@cache
def rendered() -> tuple[dict[str, Any], ...]:
    result = subprocess.run(
        [kubectl(), "kustomize", str(ROOT)], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    return tuple(doc for doc in yaml.safe_load_all(result.stdout) if doc)


def objects(kind: str) -> list[dict[str, Any]]:
    return [obj for obj in rendered() if obj["kind"] == kind]


def one(kind: str, name_prefix: str = "") -> dict[str, Any]:
    (found,) = [obj for obj in objects(kind) if obj["metadata"]["name"].startswith(name_prefix)]
    return found


def container(kind: str) -> dict[str, Any]:
    (only,) = one(kind)["spec"]["template"]["spec"]["containers"]
    return only


def load_file(name: str) -> dict[str, Any]:
    return yaml.safe_load((K8S / name).read_text(encoding="utf-8"))


def test_kustomization_renders_the_expected_objects() -> None:
    """One namespace, two ConfigMaps, the master Service, Job, reports volume and worker Deployment."""
    kinds = sorted((obj["kind"], obj["metadata"]["name"].rsplit("-", 1)[0]) for obj in rendered())
    assert [kind for kind, _ in kinds] == [
        "ConfigMap",
        "ConfigMap",
        "Deployment",
        "Job",
        "Namespace",
        "PersistentVolumeClaim",
        "Service",
    ]
    namespaced = [obj for obj in rendered() if obj["kind"] != "Namespace"]
    assert all(obj["metadata"].get("namespace") == "agentload" for obj in namespaced)
    assert not objects("Secret"), "no Secret (and so no placeholder) is ever applied by the kustomization"


@pytest.mark.parametrize("extra", [None, "secret.example.yaml", "reports-reader.yaml"])
def test_every_object_validates_offline_against_the_kubernetes_schemas(extra) -> None:
    """Each rendered object, the example Secret and the reports reader are strictly valid Kubernetes 1.32."""
    documents = list(rendered()) if extra is None else [load_file(extra)]
    for document in documents:
        kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)


def test_validation_rejects_a_broken_object() -> None:
    """The offline validator is live: a Job with a misspelt field fails."""
    job = yaml.safe_load(yaml.safe_dump(one("Job")))
    job["spec"]["backofLimit"] = job["spec"].pop("backoffLimit")
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(job, KUBERNETES_VERSION, strict=True)


def test_configmap_carries_the_repository_files_and_every_pod_mounts_them() -> None:
    """The ConfigMap holds the repository's budgets.yaml and locustfiles, mounted where the image has them."""
    files = one("ConfigMap", "agentload-files")
    assert files["data"] == {name: path.read_text(encoding="utf-8") for name, path in SUITE_FILES.items()}
    for kind in ("Job", "Deployment"):
        mounts = {m["mountPath"]: m for m in container(kind)["volumeMounts"] if m["name"] == "suite-files"}
        expected = {f"/app/locustfiles/{name}" for name in SUITE_FILES if name.endswith(".py")}
        assert set(mounts) == expected | {"/app/budgets.yaml"}, kind
        volumes = {v["name"]: v for v in one(kind)["spec"]["template"]["spec"]["volumes"]}
        assert volumes["suite-files"]["configMap"]["name"] == files["metadata"]["name"], kind


def test_master_job_is_the_verdict_and_workers_reach_it() -> None:
    """No retries, never restarted; the Service selects the Job's pod on its port; worker count agrees."""
    job = one("Job")
    pod = job["spec"]["template"]
    assert job["spec"]["backoffLimit"] == 0 and pod["spec"]["restartPolicy"] == "Never"
    service = one("Service")
    assert service["spec"]["selector"].items() <= pod["metadata"]["labels"].items()
    (port,) = service["spec"]["ports"]
    assert port["port"] == 5557
    assert {"name": "locust-master", "containerPort": 5557} in container("Job")["ports"]
    settings = one("ConfigMap", "agentload-settings")["data"]
    assert int(settings["LOCUST_EXPECT_WORKERS"]) == one("Deployment")["spec"]["replicas"]
    worker = container("Deployment")["command"]
    assert worker[worker.index("--master-host") + 1] == service["metadata"]["name"]
    volumes = {v["name"]: v for v in pod["spec"]["volumes"]}
    claim = one("PersistentVolumeClaim")["metadata"]["name"]
    assert volumes["reports"]["persistentVolumeClaim"]["claimName"] == claim
    assert settings["PROFILE"] in {name.removesuffix(".py") for name in SUITE_FILES}


def test_containers_are_non_root_with_requests_and_limits() -> None:
    """Both containers run as non-root on a read-only root filesystem, with CPU and memory requests/limits."""
    for kind in ("Job", "Deployment"):
        pod = one(kind)["spec"]["template"]["spec"]
        spec = container(kind)
        assert pod["securityContext"]["runAsNonRoot"] is True, kind
        assert spec["securityContext"]["readOnlyRootFilesystem"] is True, kind
        assert spec["securityContext"]["allowPrivilegeEscalation"] is False, kind
        for bound in ("requests", "limits"):
            assert {"cpu", "memory"} <= set(spec["resources"][bound]), (kind, bound)


def env_sources(spec: dict[str, Any]) -> dict[str, Any]:
    return {item["name"]: item.get("valueFrom", {"value": item.get("value")}) for item in spec["env"]}


def test_secrets_come_only_from_the_secret_and_match_the_example() -> None:
    """The three secrets are references to keys the example Secret defines; the example holds placeholders."""
    example = load_file("secret.example.yaml")
    for kind in ("Job", "Deployment"):
        sources = env_sources(container(kind))
        refs = {name: src["secretKeyRef"] for name, src in sources.items() if "secretKeyRef" in src}
        assert set(refs) == {"INTERNAL_SYSTEM_KEY", "INFLUX_TOKEN", "AGENTLOAD_CLUSTER_KEY"}, kind
        for name, ref in refs.items():
            assert ref["name"] == example["metadata"]["name"] and ref["key"] == name, (kind, name)
    assert set(example["stringData"]) == {"INTERNAL_SYSTEM_KEY", "INFLUX_TOKEN", "AGENTLOAD_CLUSTER_KEY"}
    assert all(value.startswith("REPLACE") for value in example["stringData"].values())


def readme_roles() -> dict[str, tuple[list[str], set[str]]]:
    """The README's table of container command lines and environment variables."""
    roles = {}
    for line in (ROOT / "README.md").read_text(encoding="utf-8").splitlines():
        match = re.match(r"\| (master|worker) \| `([^`]+)` \| (.+) \|$", line)
        if match:
            roles[match[1]] = (match[2].split(), set(re.findall(r"`([A-Z_]+)`", match[3])))
    assert set(roles) == {"master", "worker"}
    return roles


def normalized(command: list[str], master_host: str) -> list[str]:
    text = " ".join(command).replace("${PROFILE:-budgets}", "<profile>").replace("$(PROFILE)", "<profile>")
    words = text.split()
    if "--master-host" in words:
        i = words.index("--master-host") + 1
        assert words[i] == master_host
        words[i] = "<master>"
    return words


def compose_services() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))["services"]


@pytest.mark.parametrize(("role", "kind"), [("master", "Job"), ("worker", "Deployment")])
def test_kubernetes_compose_and_readme_agree(role, kind) -> None:
    """Same image, command line and environment variable names in Kubernetes, Compose and the README."""
    command, variables = readme_roles()[role]
    service = compose_services()[role]
    spec = container(kind)
    assert spec["image"] == service["image"] == IMAGE
    assert normalized(spec["command"], "agentload-master") == command
    assert normalized(service["command"], "master") == command
    assert set(env_sources(spec)) == variables
    assert set(service["environment"]) == variables
