"""The health pre-check: is the target there at all, before any load is generated?

A gate that "passes" because every request was refused is worse than no gate, and a run that
fails with a thousand identical errors hides the one useful fact. So before load starts we ask
`GET /api/health` once, with a short bounded wait, and name the reason when it fails: refused,
DNS, timeout, TLS, or an unexpected status. Credentials in the URL are never printed.
"""

from __future__ import annotations

import base64
import socket
import ssl
import time
import urllib.error
import urllib.request
from urllib.parse import unquote, urlsplit, urlunsplit

from agentload.settings import redact_url

HEALTH_PATH = "/api/health"
DEFAULT_WAIT_S = 5.0


def probe(base_url: str, wait_s: float = DEFAULT_WAIT_S) -> str | None:
    """None when the target answers 200; otherwise the reason, e.g. "connection refused".

    Retries until `wait_s` has passed, so a platform that is still starting gets a moment.
    """
    deadline = time.monotonic() + wait_s
    while True:
        reason = _probe_once(base_url + HEALTH_PATH, timeout=min(2.0, wait_s))
        if reason is None or time.monotonic() >= deadline or reason in ("DNS lookup failed", "TLS error"):
            return reason
        time.sleep(0.25)


def health_request(url: str) -> urllib.request.Request:
    """A GET for `url`; `user:password@` moves into a Basic Authorization header, as Locust does.

    urllib would otherwise take "user:password@host" for the host name (a bogus "DNS lookup failed")
    and could echo the password in its error text.
    """
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return urllib.request.Request(url)
    bare = urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))
    token = f"{unquote(parts.username or '')}:{unquote(parts.password or '')}".encode()
    authorization = "Basic " + base64.b64encode(token).decode()
    return urllib.request.Request(bare, headers={"Authorization": authorization})


def _probe_once(url: str, timeout: float) -> str | None:
    try:
        with urllib.request.urlopen(health_request(url), timeout=timeout) as response:
            return None if response.status == 200 else f"HTTP {response.status}"
    except urllib.error.HTTPError as exc:
        return f"HTTP {exc.code}"
    except urllib.error.URLError as exc:
        return _reason(exc.reason)
    except (OSError, ValueError) as exc:
        return _reason(exc)


def _reason(cause: object) -> str:
    if isinstance(cause, ConnectionRefusedError):
        return "connection refused"
    if isinstance(cause, socket.gaierror):
        return "DNS lookup failed"
    if isinstance(cause, TimeoutError | socket.timeout):
        return "timeout"
    if isinstance(cause, ssl.SSLError):
        return "TLS error"
    if isinstance(cause, ConnectionResetError):
        return "connection reset"
    return str(cause)[:80] or type(cause).__name__


def unreachable_message(base_url: str, reason: str) -> str:
    """One line naming the URL and the reason, with a hint a person can act on."""
    url = redact_url(base_url) + HEALTH_PATH
    return (
        f"target unreachable: GET {url} failed ({reason}); is the platform running? "
        f"Check with: curl {url}  (or pass --skip-health-check)"
    )
