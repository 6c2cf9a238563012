"""A stream's request sent straight to its pooled connection, past the wrappers a stream never uses.

`FastHttpSession.request` wraps the one `HTTPClient.request` that does the work in geventhttpclient's
`UserAgent` (a URL object and a request object per request, redirects, retries, the cookie jar) and
Locust's response context manager. At 4,000 streams on one core those wrappers took about 9% of the
core, and the context manager with the request event 7% (py-spy, README "Streams per core"). A
stream needs none of them: `Route.open` sends the same request (the session's default headers, its
basic-auth header, `Accept-Encoding`, the JSON body) on the same pooled connections, and `AgentApi`
fires Locust's request event itself, once, as the wrapper would. A session that holds cookies keeps
the wrapper, which sends them (`route_of` gives None).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from geventhttpclient.url import URL


@dataclass(frozen=True, slots=True)
class Route:
    """Where a stream request to one path goes: the pool's client, the URI and the fixed headers."""

    client: Any  # geventhttpclient.HTTPClient
    url: str
    uri: str
    headers: dict[str, str]

    def open(self, method: str, headers: dict[str, str], body: Any) -> Any:
        """Send the request and read the response's status line and headers (the caller releases it).

        Raises what the connection raises (refused, reset, timed out), as the wrapper would have
        reported it."""
        sent = {**self.headers, **headers}
        payload = b""
        if body is not None:
            payload = json.dumps(body)
            sent.setdefault("Content-Type", "application/json")
            if "Accept" not in headers and "accept" not in headers:
                sent["Accept"] = "application/json"
        return self.client.request(method, self.uri, body=payload, headers=sent)


def route_of(session: Any, path: str, routes: dict[str, Route]) -> Route | None:
    """The direct route of a stream to `path` (kept in `routes`), or None when only the session's
    own request can send it: it holds cookies, or it is not a `FastHttpSession`."""
    jar = getattr(session, "cookiejar", None)
    if jar is None or len(jar) or not hasattr(session, "_build_url"):
        return None
    route = routes.get(path)
    if route is None:
        url = session._build_url(path)
        split = URL(url)
        headers = dict(session.client.default_headers.items())
        headers.setdefault("Accept-Encoding", "gzip, deflate, br")  # as FastHttpSession.request sends
        if session.auth_header:
            headers["Authorization"] = session.auth_header
        uri = getattr(split, "quoted_uri", split.request_uri)
        route = routes[path] = Route(session.client.clientpool.get_client(split), url, uri, headers)
    return route
