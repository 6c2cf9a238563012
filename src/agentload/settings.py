"""The one place where environment variables and Locust options are read.

Everything else receives a frozen `Settings`. Values are parsed where they arrive, by small
`parse_*` functions whose errors quote the bad value, so a typo in CI fails in one clear line
(exit 2) before any load is generated. Secrets come from the process environment only, never from
Locust options: Locust copies its options into the web UI and into every worker's spawn message.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import SplitResult, urlsplit, urlunsplit

from agentload.traffic.endpoints import BUILTIN_ENDPOINTS
from agentload.traffic.streams import FORMATS

DEFAULT_BASE_URL = "http://localhost:3000"
DEFAULT_TIMEOUT_S = 10.0  # the k6 suite's request timeout
# A worker gives up on a silent master after this long. Locust's master sends a heartbeat every
# second and marks a worker missing after about 3 s of silence; the worker uses the same figure.
DEFAULT_MASTER_TIMEOUT_S = 3.0
MIN_MASTER_TIMEOUT_S = 2.0
MIN_CLUSTER_KEY_CHARS = 16
ENDPOINTS = tuple(BUILTIN_ENDPOINTS)  # the names --request-timeout accepts


class SettingsError(ValueError):
    """A bad option or environment value; its message is one line naming the source and the value."""


class Secret(str):
    """A string that never shows itself in repr(), logs or f-strings with !r."""

    def __repr__(self) -> str:
        return "Secret('***')"


@dataclass(frozen=True)
class Settings:
    base_url: str = DEFAULT_BASE_URL
    test_user_id: str = "k6-test-user"
    clerk_id: str = "test_clerk_id"
    internal_key: Secret = field(default=Secret("test-key"), repr=False)
    time_scale: float = 1.0
    timeouts_s: Mapping[str, float] = field(
        default_factory=lambda: dict.fromkeys(ENDPOINTS, DEFAULT_TIMEOUT_S)
    )
    default_timeout_s: float = DEFAULT_TIMEOUT_S
    """The deadline of custom endpoints that declare none (`--request-timeout 5s` sets it too)."""
    budgets_path: str = "budgets.yaml"
    report_only: bool = False
    report_json: str | None = None
    report_junit: str | None = None
    baseline: str | None = None
    skip_health_check: bool = False
    master_timeout_s: float = DEFAULT_MASTER_TIMEOUT_S
    cluster_key: Secret | None = field(default=None, repr=False)
    stream_format: str | None = None  # None: chosen per response from its headers and first event
    generator_probe: bool = True
    """AGENTLOAD_GENERATOR_PROBE=false turns the generator's health probe off: a benchmarking knob
    (it prices the probe); the gate cannot then tell a saturated generator from a slow platform."""
    gc_tuning: bool = True
    """AGENTLOAD_GC_TUNING=false keeps CPython's collector defaults in load-sending processes: a
    benchmarking knob (it prices `traffic.collector`)."""

    @property
    def safe_base_url(self) -> str:
        return redact_url(self.base_url)

    def timeout_for(self, endpoint: str, declared: float | None = None) -> float:
        """The deadline of a request: the built-in endpoint's setting, else its own, else the default."""
        if endpoint in self.timeouts_s:
            return self.timeouts_s[endpoint]
        return declared if declared is not None else self.default_timeout_s


def parse_time_scale(text: str, source: str) -> float:
    """`--time-scale 10` compresses every duration tenfold; it must be a finite number > 0."""
    try:
        value = float(text)
    except (TypeError, ValueError):
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise SettingsError(f"{source}: must be a number greater than 0 (got {str(text)[:40]!r})")
    return value


def parse_bool(text: str, source: str) -> bool:
    lowered = str(text).strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("", "0", "false", "no", "off"):
        return False
    raise SettingsError(f"{source}: must be true or false (got {str(text)[:40]!r})")


def parse_http_url(text: str, source: str, example: str) -> SplitResult:
    """The parts of an http(s) URL with a host and a valid port; the error never shows credentials."""
    try:
        parts = urlsplit(text.strip())
        port_ok = parts.port is None or parts.port > 0
    except ValueError:
        parts, port_ok = None, False
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname or not port_ok:
        shown = redact_url(text)[:60]
        raise SettingsError(f"{source}: must be an http(s) URL like {example} (got {shown!r})")
    return parts


def parse_base_url(text: str, source: str) -> str:
    """An http(s) URL with a host; trailing slashes are dropped so paths join cleanly."""
    parse_http_url(text, source, "http://localhost:3000")
    return text.strip().rstrip("/")


def parse_timeout(text: str, source: str) -> float:
    """Seconds, as a number (`10`) or with a unit (`10s`, `500ms`)."""
    raw = str(text).strip().lower()
    scale = 1.0
    if raw.endswith("ms"):
        raw, scale = raw[:-2], 0.001
    elif raw.endswith("s"):
        raw = raw[:-1]
    try:
        value = float(raw) * scale
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise SettingsError(f"{source}: must be a duration like 10s (got {str(text)[:40]!r})")
    return value


def parse_timeouts(text: str, source: str) -> dict[str, float]:
    """`10s` for every endpoint, or `chat=30s,intent=5s` per endpoint (the rest keep 10 s)."""
    timeouts = dict.fromkeys(ENDPOINTS, DEFAULT_TIMEOUT_S)
    if "=" not in text:
        return dict.fromkeys(ENDPOINTS, parse_timeout(text, source))
    for item in filter(None, (part.strip() for part in text.split(","))):
        endpoint, _, value = item.partition("=")
        if endpoint.strip() not in ENDPOINTS:
            raise SettingsError(
                f"{source}: unknown endpoint {endpoint.strip()[:40]!r} (one of {', '.join(ENDPOINTS)})"
            )
        timeouts[endpoint.strip()] = parse_timeout(value, f"{source}[{endpoint.strip()}]")
    return timeouts


def parse_master_timeout(text: str, source: str) -> float:
    """How long a worker waits for a silent master: a duration of at least 2 s (heartbeats are 1 s apart)."""
    value = parse_timeout(text, source)
    if value < MIN_MASTER_TIMEOUT_S:
        message = f"{source}: must be at least 2s, heartbeats are 1 s apart (got {str(text)[:40]!r})"
        raise SettingsError(message)
    return value


def parse_cluster_key(text: str | None, source: str) -> Secret | None:
    """The shared cluster key, or None when unset; the error gives its length, never the key."""
    if not text:
        return None
    if len(text) < MIN_CLUSTER_KEY_CHARS:
        raise SettingsError(
            f"{source}: must be at least {MIN_CLUSTER_KEY_CHARS} characters (got {len(text)} characters)"
        )
    return Secret(text)


def parse_default_timeout(text: str, source: str) -> float:
    """The deadline of custom endpoints: the single value of `--request-timeout 5s`, else 10 s."""
    return DEFAULT_TIMEOUT_S if "=" in text else parse_timeout(text, source)


def parse_stream_format(text: str, source: str) -> str | None:
    """One of the decoder's formats, or `auto` (the default: chosen per response)."""
    value = str(text).strip().lower()
    if value in ("", "auto"):
        return None
    if value not in FORMATS:
        raise SettingsError(f"{source}: must be auto or one of {', '.join(FORMATS)} (got {str(text)[:40]!r})")
    return value


def redact_url(url: str) -> str:
    """The URL without any user:password part, safe to print."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable URL>"
    if parts.username is None and parts.password is None:
        return url
    host = parts.netloc.rsplit("@", 1)[1]  # as written: parts.port raises for a port out of range
    return urlunsplit((parts.scheme, f"***@{host}", parts.path, parts.query, parts.fragment))


def load(options: Any = None, host: str | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """Build Settings from Locust's parsed options (may be None) and the environment."""
    env = os.environ if env is None else env
    opt = _OptionReader(options)
    base_url = host or env.get("BASE_URL") or DEFAULT_BASE_URL
    source = "--host" if host else "BASE_URL"
    time_scale = opt.get("time_scale") or env.get("AGENTLOAD_TIME_SCALE") or "1"
    ts_source = "--time-scale" if opt.get("time_scale") else "AGENTLOAD_TIME_SCALE"
    timeouts = opt.get("request_timeout") or env.get("AGENTLOAD_TIMEOUT") or str(DEFAULT_TIMEOUT_S)
    timeout_source = "--request-timeout" if opt.get("request_timeout") else "AGENTLOAD_TIMEOUT"
    report_only = opt.get("report_only") or env.get("AGENTLOAD_REPORT_ONLY", "false")
    master_timeout = opt.get("master_timeout") or env.get("AGENTLOAD_MASTER_TIMEOUT") or "3s"
    master_timeout_source = "--master-timeout" if opt.get("master_timeout") else "AGENTLOAD_MASTER_TIMEOUT"
    stream_format = opt.get("stream_format") or env.get("AGENTLOAD_STREAM_FORMAT") or ""
    format_source = "--stream-format" if opt.get("stream_format") else "AGENTLOAD_STREAM_FORMAT"
    return Settings(
        base_url=parse_base_url(base_url, source),
        test_user_id=env.get("TEST_USER_ID") or Settings.test_user_id,
        clerk_id=env.get("CLERK_ID") or Settings.clerk_id,
        internal_key=Secret(env.get("INTERNAL_SYSTEM_KEY") or "test-key"),
        time_scale=parse_time_scale(str(time_scale), ts_source),
        timeouts_s=parse_timeouts(str(timeouts), timeout_source),
        default_timeout_s=parse_default_timeout(str(timeouts), timeout_source),
        budgets_path=opt.get("budgets") or env.get("AGENTLOAD_BUDGETS") or "budgets.yaml",
        report_only=report_only is True or parse_bool(str(report_only), "AGENTLOAD_REPORT_ONLY"),
        report_json=opt.get("report_json") or None,
        report_junit=opt.get("report_junit") or None,
        baseline=opt.get("baseline") or None,
        skip_health_check=bool(opt.get("skip_health_check")),
        master_timeout_s=parse_master_timeout(str(master_timeout), master_timeout_source),
        cluster_key=parse_cluster_key(env.get("AGENTLOAD_CLUSTER_KEY"), "AGENTLOAD_CLUSTER_KEY"),
        stream_format=parse_stream_format(stream_format, format_source),
        generator_probe=parse_bool(env.get("AGENTLOAD_GENERATOR_PROBE", "true"), "AGENTLOAD_GENERATOR_PROBE"),
        gc_tuning=parse_bool(env.get("AGENTLOAD_GC_TUNING", "true"), "AGENTLOAD_GC_TUNING"),
    )


class _OptionReader:
    """Reads attributes of Locust's parsed options, tolerating None and missing attributes."""

    def __init__(self, options: Any) -> None:
        self._options = options

    def get(self, name: str) -> Any:
        return getattr(self._options, name, None) if self._options is not None else None


CAPACITY_SCENARIOS = ("intent", "step", "chat", "load_mix")


@dataclass(frozen=True)
class CapacitySettings:
    """`locustfiles/capacity.py`'s options: which scenario, the ramp, and the rate to reach."""

    scenario: str = "load_mix"
    target_per_s: float | None = None
    start_per_s: float = 10.0
    tolerance: float = 0.05
    max_concurrency: int = 500


def _positive(text: Any, source: str, upper: float = math.inf) -> float:
    try:
        value = float(text)
    except (TypeError, ValueError):
        value = math.nan
    if not math.isfinite(value) or value <= 0 or value > upper:
        limit = f" and at most {upper:g}" if math.isfinite(upper) else ""
        raise SettingsError(f"{source}: must be a number greater than 0{limit} (got {str(text)[:40]!r})")
    return value


def load_capacity(options: Any = None) -> CapacitySettings:
    """The capacity sweep's options from Locust's parsed options; SettingsError names the bad one."""
    opt = _OptionReader(options)
    scenario = opt.get("capacity_scenario") or "load_mix"
    if scenario not in CAPACITY_SCENARIOS:
        expected = ", ".join(CAPACITY_SCENARIOS)
        raise SettingsError(f"--capacity-scenario: must be one of {expected} (got {str(scenario)[:40]!r})")
    target = opt.get("capacity_target")
    concurrency = _positive(opt.get("capacity_max_concurrency") or 500, "--capacity-max-concurrency", 100_000)
    return CapacitySettings(
        scenario=scenario,
        target_per_s=_positive(target, "--capacity-target") if target is not None else None,
        start_per_s=_positive(opt.get("capacity_start") or 10, "--capacity-start"),
        tolerance=_positive(opt.get("capacity_tolerance") or 0.05, "--capacity-tolerance", 0.5),
        max_concurrency=int(concurrency),
    )
