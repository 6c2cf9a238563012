"""Command line of the reference platform: ``agentload platform [flags]`` / ``python -m agentload.platform``.

Parents (tests, benchmarks, the demo runner) start the platform as a subprocess, so the CLI has a small
machine-friendly contract: bad flag values give one line on stderr and exit status 2, ``--port 0``
binds a free port and exactly one line ``agentload platform listening on http://HOST:PORT`` goes to
stdout once the socket accepts connections, and SIGTERM/SIGINT shut down cleanly with status 0.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from collections.abc import Mapping, Sequence
from dataclasses import replace

from aiohttp import web

from agentload.platform.app import build_app
from agentload.platform.components import parse_component_scale
from agentload.platform.config import (
    DEFAULT_MAX_BODY,
    DEFAULT_QUEUE,
    DEFAULT_SLOTS,
    DEFAULT_SYSTEM_KEY,
    PlatformConfig,
    faults_from_texts,
    parse_fixed_latency,
    parse_non_negative,
)
from agentload.platform.faults import FAULT_LIMITS, OVERLOAD_MODES
from agentload.platform.latency import FixedTiming, LatencyParams
from agentload.platform.streaming import ENCODERS

PROG = "agentload platform"
FAULT_FLAGS = tuple(FAULT_LIMITS)  # error_rate, latency_scale, stall_rate, truncate_rate, reset_rate

EPILOG = f"""\
fault specs: a number for every endpoint ("0.1") or per endpoint ("intent=1.0,chat=0.5"); a bare
number in a list sets the endpoints not named ("0.1,intent=1"). Endpoints: health, intent, step, chat.
Each fault flag falls back to an environment variable: PLATFORM_ERROR_RATE, PLATFORM_LATENCY_SCALE,
PLATFORM_STALL_RATE, PLATFORM_TRUNCATE_RATE, PLATFORM_RESET_RATE, PLATFORM_OVERLOAD_MODE,
PLATFORM_STALL_MAX_S; --system-key falls back to INTERNAL_SYSTEM_KEY. Faults can be changed at run
time with POST /_admin/faults (header X-Internal-System-Key), e.g. {{"latency_scale": 3}}.

fixed timing (deterministic, for tests/benchmarks): --fixed-latency-ms sets intent/step/health/chat
service times ("0" = all endpoints take 0 ms); chat becomes fixed when any --fixed-ttft-ms,
--fixed-itl-ms, --fixed-tokens or --fixed-latency-ms chat=... is given (missing parts: ttft =
fixed chat latency or 0, itl 0, 16 tokens).

capacity: {DEFAULT_SLOTS} slots + {DEFAULT_QUEUE} queued by default: the budget profile (about 24
requests in service at once) fits, 200 closed-loop stress users overflow it and get 429s.
"""


class UsageError(Exception):
    """A bad command line; reported as one line on stderr with exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(message)


def build_parser() -> argparse.ArgumentParser:
    """Argument parser with every flag documented in ``--help``."""
    p = _Parser(
        prog=PROG,
        description="Reference agentic-orchestration platform (aiohttp) for load tests.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_server_flags(p)
    _add_timing_flags(p)
    _add_fault_flags(p)
    p.add_argument("--access-log", action="store_true", help="log every request (off: it costs throughput)")
    p.add_argument(
        "--stream-format",
        choices=tuple(ENCODERS),
        default=None,
        help="chat stream format when the request does not ask (X-Stream-Format); env PLATFORM_STREAM_FORMAT",
    )
    p.add_argument("--log-level", default="warning", choices=("debug", "info", "warning", "error"))
    return p


def _add_server_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=3000, help="port to bind, 0 picks a free one (default 3000)")
    p.add_argument(
        "--system-key",
        default=None,
        help=f"X-Internal-System-Key value (default $INTERNAL_SYSTEM_KEY or {DEFAULT_SYSTEM_KEY!r})",
    )
    p.add_argument("--seed", type=int, default=1, help="seed of the latency and fault RNGs (default 1)")
    p.add_argument(
        "--slots", type=int, default=DEFAULT_SLOTS, help=f"concurrent model slots (default {DEFAULT_SLOTS})"
    )
    p.add_argument(
        "--queue",
        type=int,
        default=DEFAULT_QUEUE,
        help=f"requests allowed to wait for a slot before shedding (default {DEFAULT_QUEUE})",
    )
    p.add_argument(
        "--max-body", type=int, default=DEFAULT_MAX_BODY, help="request body limit in bytes (default 65536)"
    )
    p.add_argument("--async-step-rate", default="0.1", help="share of steps answered 202 (default 0.1)")


def _add_timing_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--fixed-latency-ms",
        default=None,
        metavar="SPEC",
        help='fixed service time, e.g. "intent=100,step=50" or "0" (default: random models)',
    )
    p.add_argument("--fixed-ttft-ms", default=None, help="fixed chat time to first token")
    p.add_argument("--fixed-itl-ms", default=None, help="fixed chat gap between tokens")
    p.add_argument("--fixed-tokens", default=None, help="fixed number of chat tokens (>= 1)")
    p.add_argument(
        "--prefill-ms-per-1k-tokens",
        default=None,
        help="chat time to first token added per 1,000 input tokens (default 500, 0 under fixed chat timing)",
    )


def _add_fault_flags(p: argparse.ArgumentParser) -> None:
    helps = {
        "error_rate": "share of requests answered 500/503 (default 0)",
        "latency_scale": "service-time multiplier (default 1)",
        "stall_rate": "share of requests never answered (default 0)",
        "truncate_rate": "share of answers cut short, streams before their end event (default 0)",
        "reset_rate": "share of connections reset before any answer (default 0)",
    }
    for name in FAULT_FLAGS:
        p.add_argument(f"--{name.replace('_', '-')}", default=None, metavar="SPEC", help=helps[name])
    p.add_argument(
        "--overload-mode",
        default=None,
        choices=OVERLOAD_MODES,
        help="past the queue: shed = 429 + Retry-After, error = 500, queue = unbounded (default shed)",
    )
    p.add_argument("--no-shed", action="store_true", help="same as --overload-mode queue")
    p.add_argument(
        "--stall-max-s", default=None, help="a stalled request is dropped after this long (default 120)"
    )
    p.add_argument(
        "--component-scale",
        default=None,
        metavar="SPEC",
        help='slow one component: "llm=3,db=5" everywhere or "intent.llm=5" on one endpoint '
        "(components: cache, llm, db, tool; env PLATFORM_COMPONENT_SCALE)",
    )


def _fixed_timing(args: argparse.Namespace) -> FixedTiming:
    latency = parse_fixed_latency(args.fixed_latency_ms) if args.fixed_latency_ms is not None else {}
    ttft = (
        parse_non_negative("--fixed-ttft-ms", args.fixed_ttft_ms) if args.fixed_ttft_ms is not None else None
    )
    itl = parse_non_negative("--fixed-itl-ms", args.fixed_itl_ms) if args.fixed_itl_ms is not None else None
    tokens = None
    if args.fixed_tokens is not None:
        tokens = int(parse_non_negative("--fixed-tokens", args.fixed_tokens, integer=True))
        if tokens < 1:
            raise ValueError(f"--fixed-tokens {args.fixed_tokens!r} must be >= 1")
    return FixedTiming(latency, ttft, itl, tokens, _prefill(args) or 0.0)


def _prefill(args: argparse.Namespace) -> float | None:
    text = args.prefill_ms_per_1k_tokens
    return None if text is None else parse_non_negative("--prefill-ms-per-1k-tokens", text)


def _latency_params(args: argparse.Namespace) -> LatencyParams:
    prefill = _prefill(args)
    return LatencyParams() if prefill is None else LatencyParams(prefill_ms_per_1k_tokens=prefill)


def _check_ranges(args: argparse.Namespace) -> None:
    if not 0 <= args.port <= 65535:
        raise ValueError(f"--port {args.port} must be between 0 and 65535")
    if args.slots < 1:
        raise ValueError(f"--slots {args.slots} must be >= 1")
    if args.queue < 0:
        raise ValueError(f"--queue {args.queue} must be >= 0")
    if args.max_body < 1:
        raise ValueError(f"--max-body {args.max_body} must be >= 1")


def config_from_args(args: argparse.Namespace, env: Mapping[str, str]) -> PlatformConfig:
    """Validated configuration; flags win over environment variables. Raises ValueError."""
    _check_ranges(args)
    async_rate = parse_non_negative("--async-step-rate", args.async_step_rate)
    if async_rate > 1:
        raise ValueError(f"--async-step-rate {args.async_step_rate!r} must be between 0 and 1")
    texts = {name: _flag_or_env(getattr(args, name), env, name) for name in FAULT_FLAGS}
    mode = "queue" if args.no_shed else _flag_or_env(args.overload_mode, env, "overload_mode") or "shed"
    stall_text = _flag_or_env(args.stall_max_s, env, "stall_max_s") or "120"
    faults = faults_from_texts(texts, mode, parse_non_negative("--stall-max-s", stall_text))
    scale_text = _flag_or_env(args.component_scale, env, "component_scale")
    if scale_text is not None:
        faults = replace(faults, component_scale=parse_component_scale(scale_text))
    key = args.system_key or env.get("INTERNAL_SYSTEM_KEY") or DEFAULT_SYSTEM_KEY
    return PlatformConfig(
        host=args.host,
        port=args.port,
        system_key=key,
        seed=args.seed,
        slots=args.slots,
        queue=args.queue,
        max_body=args.max_body,
        async_step_rate=async_rate,
        latency=_latency_params(args),
        fixed=_fixed_timing(args),
        faults=faults,
        access_log=args.access_log,
        stream_format=_stream_format(_flag_or_env(args.stream_format, env, "stream_format") or "openai"),
    )


def _stream_format(name: str) -> str:
    if name not in ENCODERS:
        raise UsageError(f"PLATFORM_STREAM_FORMAT: must be one of {', '.join(ENCODERS)} (got {name[:40]!r})")
    return name


def _flag_or_env(value: str | None, env: Mapping[str, str], name: str) -> str | None:
    return value if value is not None else env.get(f"PLATFORM_{name.upper()}")


def _display_url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


async def serve(config: PlatformConfig) -> int:
    """Run until SIGTERM/SIGINT; print the listening line once bound. Returns the exit status."""
    access_log = logging.getLogger("aiohttp.access") if config.access_log else None
    runner = web.AppRunner(
        build_app(config), access_log=access_log, handler_cancellation=True, shutdown_timeout=1.0
    )
    await runner.setup()
    site = web.TCPSite(runner, config.host, config.port, backlog=2048)
    try:
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        print(
            f"{PROG}: error: cannot listen on {config.host}:{config.port}: {exc.strerror or exc}",
            file=sys.stderr,
        )
        return 1
    port = runner.addresses[0][1]
    print(f"agentload platform listening on {_display_url(config.host, port)}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await runner.cleanup()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: parse flags, run the platform, return the exit status (2 for bad flags)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        config = config_from_args(args, os.environ)
    except (UsageError, ValueError) as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    except SystemExit as exc:  # --help
        return exc.code if isinstance(exc.code, int) else 0
    logging.basicConfig(
        level=args.log_level.upper(),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        return asyncio.run(serve(config))
    except KeyboardInterrupt:
        return 0
