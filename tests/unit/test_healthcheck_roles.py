"""The image's health check tells the platform, a master and a worker apart by their command line."""

import pytest

from agentload.healthcheck import Role, role_of

PLATFORM, MASTER = Role("platform", 3000), Role("master", 5557)


@pytest.mark.parametrize(
    ("argv", "role"),
    [
        (["/usr/local/bin/agentload", "platform", "--host", "0.0.0.0", "--port", "3000"], PLATFORM),
        (["python3", "/usr/local/bin/agentload", "platform", "--port=8080"], Role("platform", 8080)),
        (["python", "-m", "agentload.platform", "--port", "0"], Role("platform", 0)),
        (["locust", "-f", "locustfiles/budgets.py", "--master", "--web-host", "0.0.0.0"], MASTER),
        (["locust", "-f", "x.py", "--master", "--master-bind-port", "6000"], Role("master", 6000)),
        (["/usr/local/bin/python", "/usr/local/bin/locust", "-f", "x.py", "--worker"], Role("worker", 5557)),
        (["python", "-m", "locust", "--worker", "--master-port", "7000"], Role("worker", 7000)),
        (["locust", "-f", "locustfiles/budgets.py", "--headless"], Role("local")),
        (["sleep", "600"], None),
        (["python", "-c", "print('--master')"], None),
    ],
)
def test_role_from_the_command_line(argv, role) -> None:
    """Each role, with its default or explicit port; anything else is not ours."""
    assert role_of(argv) == role
