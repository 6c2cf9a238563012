"""A custom metric: the time the platform says it spent (its Server-Timing header), as a k6 Trend.

    locust -f examples/custom_trend.py --headless -u 10 -t 1m --budgets examples/custom_trend.yaml

`Trend`, `Counter` and `Rate` work like k6's: declare them at module level, `.add()` in a task,
budget them by name. They are merged exactly across workers like every other metric.
"""

from locust import constant, task

from agentload import AgentUser, Rate, Trend, plugin  # noqa: F401  (plugin: records and gates)

SERVER_TIME = Trend("platform_server_time")  # ms, from `Server-Timing: app;dur=12.5`
SERVER_TIMED = Rate("server_timing_present")


def app_duration_ms(header: str) -> float | None:
    """The `dur` of the `app` entry of a Server-Timing header, or None."""
    for entry in header.split(","):
        name, *params = (part.strip() for part in entry.split(";"))
        for param in params:
            key, _, value = param.partition("=")
            if name == "app" and key == "dur":
                return float(value)
    return None


class ServerTimedHealth(AgentUser):
    wait_time = constant(0.5)

    @task
    def health(self) -> None:
        response = self.client.get("/api/health", name="health_latency")
        duration = app_duration_ms(response.headers.get("Server-Timing", ""))
        SERVER_TIMED.add(duration is not None)
        if duration is not None:
            SERVER_TIME.add(duration)
