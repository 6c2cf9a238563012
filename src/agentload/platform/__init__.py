"""Reference platform: an aiohttp server imitating the agentic orchestration platform's API.

It is the default target of demos, tests and benchmarks: realistic latency models, bounded capacity
with load shedding, and injectable faults. Start it with ``agentload platform`` or
``python -m agentload.platform``; from Python tests use ``agentload.platform.process.start_platform``.
"""
