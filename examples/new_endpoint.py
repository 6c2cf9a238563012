"""A new endpoint with its own contract, budget and an open-model (arrival-rate) schedule.

    locust -f examples/new_endpoint.py --headless --budgets examples/new_endpoint.yaml

`Endpoint` declares the request once: where it goes, what it is measured as, which statuses and
body mean success and how long it may take. `self.api.call()` sends it with a trace id and the
credentials it asks for, judges the answer and records it exactly. The shape runs 20 requests/s
for 30 s whatever the platform's latency, and late starts count (`tool_catalogue_latency_scheduled`).
"""

from locust import task

from agentload import AgentUser, ArrivalRate, Endpoint, ScenarioShape, plugin  # noqa: F401


def lists_tools(document: object, sent: object) -> str | None:
    """The body check: None when the answer is good, else why not."""
    tools = document.get("tools") if isinstance(document, dict) else None
    return None if isinstance(tools, list) and tools else "no tools listed"


TOOL_CATALOGUE = Endpoint(
    "tools", "GET", "/api/tools", metric="tool_catalogue_latency", check=lists_tools, timeout_s=2, auth="user"
)


class ToolCatalogue(AgentUser):
    @task
    def list_tools(self) -> None:
        self.api.call(TOOL_CATALOGUE)


class CatalogueShape(ScenarioShape):
    schedules = {ToolCatalogue: ArrivalRate(rate=20, duration_s=30, max_concurrency=10)}
