"""`agentload platform` runs the reference platform; `agentload demo` runs the budget gate against it;
`agentload healthcheck` is the container image's health check.

The demo is what a newcomer sees first, so it does the whole job end to end: start the platform
on a free port, run the budget profile headless (time-compressed to about 70 s), print the metric
summary and the verdict table, stop the platform, and exit with the verdict's code.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from agentload.platform.process import PlatformStartError, start_platform

DEMO_TIME_SCALE = "3"  # the 210 s budget profile in 70 s


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["platform"]:
        from agentload.platform.cli import main as platform_main

        return platform_main(argv[1:])
    parser = argparse.ArgumentParser(prog="agentload", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("platform", help="run the reference platform (see: agentload platform --help)")
    demo = commands.add_parser("demo", help="run the budget profile against the embedded reference platform")
    demo.add_argument("--time-scale", default=DEMO_TIME_SCALE, help="compress the profile (default: 3)")
    demo.add_argument("--report-json", default="reports/demo.json", help="JSON report path")
    demo.add_argument("platform_args", nargs="*", help="extra flags for the platform, after --")
    health = commands.add_parser("healthcheck", help="the container's health (platform, master or worker)")
    health.add_argument("--pid", type=int, default=None, help="the process to check (default: found)")
    args = parser.parse_args(argv)
    if args.command == "healthcheck":
        from agentload.healthcheck import main as healthcheck_main

        return healthcheck_main(args.pid)
    return run_demo(args.time_scale, args.report_json, args.platform_args)


def run_demo(time_scale: str, report_json: str, platform_args: list[str]) -> int:
    locustfile = Path("locustfiles/budgets.py")
    if not locustfile.exists():
        sys.stderr.write(f"agentload demo: {locustfile} not found; run it from the repository root\n")
        return 2
    try:
        platform = start_platform(*platform_args)
    except PlatformStartError as exc:
        sys.stderr.write(f"agentload demo: the reference platform did not start: {one_line(exc)}\n")
        return 3
    with platform:
        print(f"agentload demo: platform at {platform.url}; budget profile at time scale {time_scale}")
        command = [
            sys.executable,
            "-m",
            "locust",
            "-f",
            str(locustfile),
            "--headless",
            "--host",
            platform.url,
            "--time-scale",
            time_scale,
            "--report-json",
            report_json,
            "--only-summary",
        ]
        env = {**os.environ, "PYTHONWARNINGS": "ignore::DeprecationWarning"}
        return subprocess.call(command, env=env)


def one_line(exc: PlatformStartError) -> str:
    """The start error's reason and the platform's own last stderr line, without the command."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    reason = lines[0].split("; command")[0] if lines else "unknown reason"
    detail = lines[-1] if len(lines) > 1 else ""
    return f"{reason}: {detail}" if detail else reason


if __name__ == "__main__":
    sys.exit(main())
