"""A journey in a plain Locust HttpUser: "book a table" is an intent, then two tool calls.

    INTERNAL_SYSTEM_KEY=... locust -f examples/journey.py --headless -u 10 -t 1m \
        --host http://localhost:3000 --budgets examples/journey.yaml

`with journey("book_table"):` measures the block as one unit: its wall time (`book_table`), the
sum of its requests' own times (`book_table_request_time`) and whether any request inside failed
(`book_table_error_rate`). Each request keeps its own metric too (named by `name=`).
"""

import os

from locust import HttpUser, constant, task

from agentload import journey, plugin  # noqa: F401  (plugin: records and gates every request)

USER = {"X-Test-User-Id": "example-user", "X-Clerk-Id": "example-clerk"}
SYSTEM = {"X-Internal-System-Key": os.environ.get("INTERNAL_SYSTEM_KEY", "test-key")}
MESSAGE = {"messages": [{"role": "user", "content": "book a table for two tonight"}]}


class BookTable(HttpUser):
    wait_time = constant(0.5)

    @task
    def book_table(self) -> None:
        with journey("book_table"):
            self.client.post("/api/intent", json=MESSAGE, headers=USER, name="intent")
            for index in (1, 2):
                step = {"executionId": "example", "stepIndex": index, "runAsync": False}
                self.client.post("/api/webhooks/execute-step", json=step, headers=SYSTEM, name="step")
