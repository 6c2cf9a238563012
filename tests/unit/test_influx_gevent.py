"""The flusher under Locust's gevent monkey-patching, with the real influxdb-client, in a fresh process.

Locust patches sockets and threads at import; the output must then post from its own greenlet while
the "load" greenlets keep running, so this runs a patched child process with a tiny gevent HTTP
server standing in for InfluxDB and checks that writes arrive during the run, once a second, on the
v2 write endpoint with the token header, and that the load greenlet was never blocked for long.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

CHILD = textwrap.dedent(
    """
    from gevent import monkey
    monkey.patch_all()
    import json, time
    from types import SimpleNamespace
    import gevent
    from gevent.pywsgi import WSGIServer
    from locust.event import Events
    from agentload.integrations import influx
    from agentload.recording.samples import Sample

    posts = []

    def app(environ, start_response):
        body = environ["wsgi.input"].read().decode()
        posts.append((time.monotonic(), environ["PATH_INFO"], environ["QUERY_STRING"],
                      environ.get("HTTP_AUTHORIZATION"), body.count("\\n") + 1))
        gevent.sleep(0.2)  # a slow server must not slow the load greenlet
        start_response("204 No Content", [])
        return [b""]

    server = WSGIServer(("127.0.0.1", 0), app, log=None)
    server.start()
    env = {"INFLUX_URL": f"http://127.0.0.1:{server.server_port}", "INFLUX_ORG": "o",
           "INFLUX_BUCKET": "b", "INFLUX_TOKEN": "tok"}
    environment = SimpleNamespace(events=Events(), runner=SimpleNamespace(user_count=1), parsed_options=None)
    listener = influx.install(environment, env=env)
    listener.on_test_start()
    sample = Sample("health_check_latency", 1.0, "ok")
    started = time.monotonic()
    worst_gap, last = 0.0, started
    while time.monotonic() - started < 3.2:
        environment.events.request.fire(name="h", response_time=1.0, response_length=1, exception=None,
                                        context={"agentload": sample})
        gevent.sleep(0.001)
        now = time.monotonic()
        worst_gap, last = max(worst_gap, now - last), now
    during = len(posts)
    listener.on_quitting()
    print(json.dumps({"during": during, "posts": posts, "started": started, "worst_gap": worst_gap,
                      "written": listener.written, "dropped": listener.dropped}))
    """
)


def test_flusher_posts_from_a_greenlet_under_monkey_patching() -> None:
    """In a patched process, writes arrive each second during the run and never stall the load loop."""
    result = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["during"] >= 2 and report["dropped"] == 0
    _, path, query, auth, _ = report["posts"][0]
    assert path == "/api/v2/write" and "precision=ms" in query and "bucket=b" in query and "org=o" in query
    assert auth == "Token tok"
    assert report["written"] == sum(post[4] for post in report["posts"])
    assert report["worst_gap"] < 0.15, report["worst_gap"]
