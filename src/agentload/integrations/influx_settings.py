"""Where the InfluxDB output is switched on: four Locust options or four environment variables.

Kept apart from the writer so it is pure (no Locust, no influxdb-client, no network) and can be
tested with plain namespaces. An option wins over its environment variable; the output is enabled
when a URL is given, and then org, bucket and token are required, each failing in one line that
names its source. The token is a `Secret` and never appears in a repr, an error or a log line;
credentials in the URL (`http://user:password@host:8086`, InfluxDB 1.x style) become the token
(`user:password`, which 1.8's v2-compatibility endpoint accepts) and are removed from the URL.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlunsplit

from agentload.settings import Secret, SettingsError, parse_http_url, redact_url

OPTIONS = (
    ("url", "INFLUX_URL", "InfluxDB base URL, e.g. http://localhost:8086 (enables the output)"),
    ("org", "INFLUX_ORG", "InfluxDB organization (InfluxDB 1.x: any value, e.g. -)"),
    ("bucket", "INFLUX_BUCKET", "InfluxDB bucket (InfluxDB 1.x: database/retention-policy)"),
    ("token", "INFLUX_TOKEN", "InfluxDB API token (1.x: user:password); prefer the env variable"),
)
DEFAULT_TIMEOUT_S = 2.0
DEFAULT_MAX_POINTS = 10_000


@dataclass(frozen=True)
class InfluxSettings:
    """Where and how to write; `url` never holds credentials, `token` never prints."""

    url: str
    org: str
    bucket: str
    token: Secret = field(repr=False)
    timeout_s: float = DEFAULT_TIMEOUT_S
    max_points: int = DEFAULT_MAX_POINTS
    run_id: str | None = None

    @property
    def safe_url(self) -> str:
        return redact_url(self.url)

    def __str__(self) -> str:
        return f"influx {self.safe_url} org={self.org} bucket={self.bucket}"


def add_influx_options(parser: Any) -> None:
    """Register --influx-url/-org/-bucket/-token, all kept out of the web UI; safe to call twice."""
    if "--influx-url" in getattr(parser, "_option_string_actions", {}):
        return
    for name, env, help_text in OPTIONS:
        parser.add_argument(
            f"--influx-{name}",
            default=None,
            include_in_web_ui=False,
            help=f"{help_text} (env {env})",
        )


def influx_settings(options: Any, env: Mapping[str, str]) -> InfluxSettings | None:
    """The output's settings from Locust's parsed options (may be None) and `env`; None when disabled."""
    raw = {name: _pick(options, env, name, var) for name, var, _ in OPTIONS}
    if not raw["url"][0]:
        return None
    url, url_token = parse_influx_url(*raw["url"])
    for name in ("org", "bucket"):
        if not raw[name][0]:
            raise SettingsError(f"{raw['url'][1]} is set, so --influx-{name} (or {_env(name)}) is required")
    token = raw["token"][0] or url_token
    if not token:
        raise SettingsError(f"{raw['url'][1]} is set, so --influx-token (or INFLUX_TOKEN) is required")
    bucket = raw["bucket"][0]
    if any(c.isspace() for c in bucket):
        raise SettingsError(f"{raw['bucket'][1]}: must not contain spaces (got {bucket[:40]!r})")
    return InfluxSettings(
        url=url,
        org=raw["org"][0],
        bucket=bucket,
        token=Secret(token),
        timeout_s=_positive(env.get("INFLUX_TIMEOUT"), "INFLUX_TIMEOUT", DEFAULT_TIMEOUT_S),
        max_points=int(_positive(env.get("INFLUX_MAX_POINTS"), "INFLUX_MAX_POINTS", DEFAULT_MAX_POINTS)),
        run_id=(env.get("AGENTLOAD_RUN_ID") or "").strip() or None,
    )


def parse_influx_url(text: str, source: str) -> tuple[str, str | None]:
    """An http(s) URL with a host, without trailing slash; userinfo is split off as a 1.x token."""
    parts = parse_http_url(text, source, "http://localhost:8086")
    if parts.query or parts.fragment:
        raise SettingsError(f"{source}: must not have a query or fragment (got {redact_url(text)[:60]!r})")
    token = None
    if parts.username is not None:
        token = unquote(parts.username) + (":" + unquote(parts.password) if parts.password else "")
    netloc = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", "")), token


def _pick(options: Any, env: Mapping[str, str], name: str, var: str) -> tuple[str, str]:
    """(value, source) of one setting: the option if given, else the variable; blanks count as unset."""
    value = getattr(options, f"influx_{name}", None) if options is not None else None
    if value not in (None, ""):
        return str(value).strip(), f"--influx-{name}"
    return (env.get(var) or "").strip(), var


def _env(name: str) -> str:
    return f"INFLUX_{name.upper()}"


def _positive(text: str | None, source: str, default: float) -> float:
    if text in (None, ""):
        return default
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise SettingsError(f"{source}: must be a number greater than 0 (got {str(text)[:40]!r})")
    return value
