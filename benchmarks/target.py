"""The benchmark target: one nginx worker with Debian's echo module, pinned to the target CPU.

The reference platform saturates one core at about 2,700 intent requests/s, so at 5,000/s it, not
the generators, would be measured. nginx answers the same three requests with a fixed plan and
holds far more than 5,000/s on one core (the harness checks its CPU in every run):

* `GET /api/health`: `{"status":"ok"}` at once (throughput);
* `POST /api/intent`: an intent document after `echo_sleep` (the planned service time);
* `POST /api/chat`: an OpenAI-style SSE stream whose headers and first token leave together after
  the planned TTFT (so k6's `http_req_waiting` is the TTFT), then one token per planned gap.

Each response names its plan in `Server-Timing`, as the platform does, so any client can check.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil

from agentload.platform.process import stop_process
from harness import free_port, pinned, wait_listening

ECHO_MODULE = Path("/usr/lib/nginx/modules/ngx_http_echo_module.so")
INTENT = json.dumps({"intent": {"type": "general_question", "confidence": 0.9}})


@dataclass(frozen=True)
class Plan:
    """What the target promises: the intent service time and the chat stream's timing."""

    intent_ms: int = 50
    ttft_ms: int = 1000
    itl_ms: int = 200
    tokens: int = 20

    @property
    def stream_s(self) -> float:
        return (self.ttft_ms + (self.tokens - 1) * self.itl_ms) / 1000


@dataclass(frozen=True)
class Target:
    """A running target: its base URL, its version and the nginx worker whose CPU every run checks."""

    url: str
    version: str
    worker: psutil.Process
    plan: Plan


def _sse(data: object) -> str:
    return f"echo 'data: {json.dumps(data, separators=(',', ':'))}';\n            echo;\n"


def chat_location(plan: Plan) -> str:
    """The chat stream as echo directives: sleep TTFT, then a token (flushed) per planned gap."""
    token = {"choices": [{"index": 0, "delta": {"content": "tok "}}]}
    parts = [f"echo_sleep {plan.ttft_ms / 1000:g};\n            "]
    for index in range(plan.tokens):
        if index:
            parts.append(f"echo_sleep {plan.itl_ms / 1000:g};\n            ")
        parts.append(_sse(token) + "            echo_flush;\n            ")
    usage = {"prompt_tokens": 1, "completion_tokens": plan.tokens, "total_tokens": plan.tokens + 1}
    parts.append(_sse({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}], "usage": usage}))
    parts.append("            echo 'data: [DONE]';\n            echo;")
    return "".join(parts)


def nginx_conf(tmp: str, port: int, plan: Plan) -> str:
    return f"""\
load_module {ECHO_MODULE};
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 65535; }}
worker_rlimit_nofile 65535;
http {{
    access_log off;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    keepalive_requests 10000000;
    keepalive_timeout 300s;
    server {{
        listen 127.0.0.1:{port} backlog=16384;
        location = /api/health {{ default_type application/json; return 200 '{{"status":"ok"}}'; }}
        location = /api/intent {{
            default_type application/json;
            add_header Server-Timing 'app;dur={plan.intent_ms};desc="planned"';
            echo_sleep {plan.intent_ms / 1000:g};
            echo '{INTENT}';
        }}
        location = /api/chat {{
            default_type text/event-stream;
            add_header Server-Timing 'ttft;dur={plan.ttft_ms};desc="planned"';
            {chat_location(plan)}
        }}
    }}
}}
"""


def missing() -> str | None:
    """Why the target cannot start here (a one-line install hint), or None."""
    if not ECHO_MODULE.exists():
        return f"nginx's echo module is missing ({ECHO_MODULE}): apt-get install nginx libnginx-mod-http-echo"
    return None


@contextlib.contextmanager
def nginx_target(cpus: list[int] | None, plan: Plan) -> Iterator[Target]:
    """Start nginx with the echo locations on a free port, pinned to `cpus`; stop it afterwards."""
    problem = missing()
    if problem:
        raise RuntimeError(problem)
    version = subprocess.run(["nginx", "-v"], capture_output=True, text=True).stderr.strip()
    with tempfile.TemporaryDirectory(prefix="agentload-target-") as tmp:
        port = free_port()
        conf = Path(tmp) / "nginx.conf"
        conf.write_text(nginx_conf(tmp, port, plan))
        command = ["nginx", "-p", tmp, "-e", f"{tmp}/error.log", "-c", str(conf), "-g", "daemon off;"]
        proc = subprocess.Popen(pinned(command, cpus), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_listening(port)
            worker = next(iter(psutil.Process(proc.pid).children()), None) or psutil.Process(proc.pid)
            name = version.replace("nginx version: ", "") + " + echo module"
            yield Target(f"http://127.0.0.1:{port}", name, worker, plan)
        finally:
            stop_process(proc)
