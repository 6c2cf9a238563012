"""agentload: a Locust-based performance-budget gate and load/stress toolkit."""

__version__ = "0.1.0"
