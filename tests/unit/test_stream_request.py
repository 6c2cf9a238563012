"""A stream's direct route carries what Locust's own request would send, and is refused with cookies."""

from __future__ import annotations

from http.cookiejar import Cookie

from locust.contrib.fasthttp import FastHttpSession
from locust.event import EventHook

from agentload.traffic.stream_request import route_of


def session(url: str = "http://127.0.0.1:9") -> FastHttpSession:
    return FastHttpSession(url, EventHook(), user=None)


def test_the_route_sends_the_sessions_headers_and_basic_auth_once_per_path() -> None:
    routes: dict = {}
    client = session("http://alice:s3cret@127.0.0.1:9")
    route = route_of(client, "/api/chat?x=1", routes)
    assert route is not None and route is route_of(client, "/api/chat?x=1", routes)
    assert route.url == "http://127.0.0.1:9/api/chat?x=1" and route.uri == "/api/chat?x=1"
    assert route.headers["Authorization"] == client.auth_header
    assert route.headers["Accept-Encoding"] == "gzip, deflate, br"
    assert route.headers["User-Agent"].startswith("python/gevent-http-client")
    request = route.client._build_request("POST", route.uri, body=b"{}", headers=route.headers)
    assert request.count("Authorization:") == 1 and request.count("User-Agent:") == 1


def test_a_session_holding_cookies_keeps_locusts_own_request() -> None:
    client = session()
    where = ("127.0.0.1", False, False, "/", True)
    cookie = Cookie(0, "sid", "1", None, False, *where, False, None, False, None, None, {})
    client.cookiejar.set_cookie(cookie)
    assert route_of(client, "/api/chat", {}) is None


def test_any_other_client_keeps_its_own_request() -> None:
    assert route_of(object(), "/api/chat", {}) is None
