"""The k6 suite's "Custom Scenarios" example as a locustfile: a plain FastHttpUser with a check.

    locust -f examples/custom_scenario.py --headless -u 10 -t 1m \
        --host http://localhost:3000 --budgets examples/custom_scenario.yaml

Nothing here is agentload's but the plugin import: every request Locust sees is recorded exactly
and gated by its name (`health_latency` in examples/custom_scenario.yaml).
"""

from locust import FastHttpUser, constant, task

from agentload import plugin  # noqa: F401  (records and gates every request)


class HealthCheck(FastHttpUser):
    wait_time = constant(1)  # k6: sleep(1)

    @task
    def health(self) -> None:
        with self.client.get("/api/health", name="health_latency", catch_response=True) as response:
            if response.status_code != 200:  # k6: check(res, {"status is 200": ...})
                response.failure("status is not 200")
