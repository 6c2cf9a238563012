"""The Budgets tab in a real browser: real locust processes, the real platform, headless Chromium.

A unit test cannot show that Locust's React UI really draws the tab from our template arguments,
that the rows reach it through `/stats/requests` while the test runs, that the colouring script
runs, or that no page or JSON the UI loads leaks the internal key. So each mode (a local runner,
and a master with one worker) starts a real `locust` in web-UI mode with --autostart, and
chromedriver's plain WebDriver API drives Chromium through it (see tests/browser.py).

Timing: the platform answers in fixed times (intent 20 ms, step 30 ms), so against budgets of
800 ms and 1 ms the statuses are certain; every wait polls against a deadline, never a sleep.
"""

from __future__ import annotations

import json
import subprocess
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from agentload.integrations.webui import STATUS_COLOURS
from agentload.platform.process import PlatformProcess, start_platform, stop_process

from browser import Browser, missing
from locust_run import start_locust
from tools import free_port, skip_or_fail, wait_until

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "reports"
CANARY = "sk-agentload-leak-canary-42"
INTENT, STEP = "intent_inference_latency", "step_execution_latency"

LOCUSTFILE = """\
import locust

from agentload import plugin  # noqa: F401  (the plugin alone adds the Budgets tab)
from agentload.traffic import users


class Intents(users.IntentInference):
    abstract = False


class Steps(users.StepExecution):
    abstract = False
"""

BUDGETS = f"""\
budgets:
  - {{metric: {INTENT}, stat: p95, threshold: 800ms, min_samples: 1}}
  - {{metric: {STEP}, stat: p95, threshold: 1ms, min_samples: 1}}
"""

READ_TABLE = """\
const table = [...document.querySelectorAll("table")].find(
  t => [...t.querySelectorAll("th")].some(th => th.textContent.trim() === "Criticality"));
if (!table) return null;
const heads = [...table.querySelectorAll("thead th")].map(th => th.textContent.trim());
return [...table.querySelectorAll("tbody tr")].map(tr => {
  const cells = [...tr.querySelectorAll("td")];
  return Object.fromEntries(heads.map((head, i) => [head, {
    text: cells[i] ? cells[i].textContent.trim() : "",
    painted: cells[i] ? cells[i].dataset.agentloadStatus || "" : "",
    background: cells[i] ? getComputedStyle(cells[i]).backgroundColor : ""}]));
});
"""

LOADED_URLS = "return performance.getEntriesByType('resource').map(e => e.name).concat([location.href]);"


def fetch(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read().decode("utf-8", errors="replace")


def locust(tmp_path: Path, *args: str, log: str) -> subprocess.Popen[bytes]:
    """A `locust` subprocess in `tmp_path`, with the canary as its internal key, output to `log`."""
    env = {"INTERNAL_SYSTEM_KEY": CANARY}
    return start_locust(tmp_path / "locustfile.py", *args, log=tmp_path / log, env=env, cwd=tmp_path)


def start_run(stack: ExitStack, tmp_path: Path, host: str, mode: str) -> str:
    """Start locust (local, or a master and one worker) and return the web UI's URL once it answers."""
    (tmp_path / "locustfile.py").write_text(LOCUSTFILE)
    (tmp_path / "budgets.yaml").write_text(BUDGETS)
    web_port, master_port = free_port(), free_port()
    common = ["--host", host, "--budgets", "budgets.yaml", "--web-host", "127.0.0.1",
              "--web-port", str(web_port), "--autostart", "-u", "4", "-r", "4", "-t", "40s"]
    if mode == "distributed":
        common += ["--master", "--master-bind-host", "127.0.0.1", "--master-bind-port", str(master_port),
                   "--expect-workers", "1"]
    main = locust(tmp_path, *common, log="locust.log")
    stack.callback(stop_process, main)
    if mode == "distributed":
        worker_args = ["--worker", "--master-host", "127.0.0.1", "--master-port", str(master_port)]
        stack.callback(stop_process, locust(tmp_path, *worker_args, "--host", host, log="worker.log"))
    url = f"http://127.0.0.1:{web_port}"
    wait_until(lambda: running(url, main, tmp_path / "locust.log"), 60, "the autostarted run to begin")
    return url


def running(url: str, process: subprocess.Popen[bytes], log: Path) -> bool:
    """True once the run is spawning or running: a page loaded while the UI is "ready" shows the form."""
    if process.poll() is not None:
        pytest.fail(f"locust exited with {process.returncode}:\n{log.read_text()[-3000:]}")
    try:
        return json.loads(fetch(url + "/stats/requests"))["state"] in ("spawning", "running")
    except OSError:
        return False


@pytest.fixture(scope="module")
def platform() -> Iterator[PlatformProcess]:
    args = ("--fixed-latency-ms", "intent=20,step=30", "--fixed-ttft-ms", "30", "--fixed-itl-ms", "5")
    with start_platform(*args, system_key=CANARY) as server:
        yield server


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    reason = missing()
    if reason:
        skip_or_fail(reason)
    with Browser() as driver:
        yield driver


@pytest.fixture(scope="module", params=["local", "distributed"])
def web_ui(request: pytest.FixtureRequest, platform: PlatformProcess,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """(mode, web UI URL) of a locust run that started itself with --autostart."""
    with ExitStack() as stack:
        url = start_run(stack, tmp_path_factory.mktemp(request.param), platform.url, request.param)
        yield request.param, url


def open_budgets_tab(browser: Browser, url: str) -> None:
    """Load the UI as a user would, then click the "Budgets" tab (it appears once the run started)."""
    browser.get(url + "/")
    xpath = "//button[@role='tab'][normalize-space(.)='Budgets']"
    tab = wait_until(lambda: browser.find(xpath), 30, "the Budgets tab")
    browser.click(tab)
    wait_until(lambda: "tab=budgets" in browser.execute("return location.search"), 5, "the tab to open")


def budget_rows(browser: Browser) -> dict[str, dict[str, dict[str, str]]]:
    """The rendered table, by metric: {metric: {column title: {text, painted, background}}}."""
    rows = browser.execute(READ_TABLE) or []
    return {row["Budget"]["text"].split()[0]: row for row in rows}


def statuses_rendered(browser: Browser) -> dict[str, dict[str, dict[str, str]]] | None:
    rows = budget_rows(browser)
    done = INTENT in rows and STEP in rows and rows[STEP]["Status"]["text"] == "FAIL"
    return rows if done else None


def rgb(hex_colour: str) -> str:
    red, green, blue = (int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgb({red}, {green}, {blue})"


def test_budgets_tab_shows_live_coloured_statuses(web_ui: tuple[str, str], browser: Browser) -> None:
    """The tab shows intent PASS (green) and step FAIL (red), and its sample counts grow while it runs."""
    mode, url = web_ui
    open_budgets_tab(browser, url)
    rows = wait_until(lambda: statuses_rendered(browser), 60, "PASS/FAIL statuses in the Budgets tab")
    intent, step = rows[INTENT], rows[STEP]
    assert (intent["Status"]["text"], step["Status"]["text"]) == ("PASS", "FAIL")
    assert intent["Threshold"]["text"] == "< 800ms" and step["Threshold"]["text"] == "< 1ms"
    assert (intent["Status"]["painted"], step["Status"]["painted"]) == ("PASS", "FAIL")
    assert intent["Status"]["background"] == rgb(STATUS_COLOURS["PASS"])
    assert step["Status"]["background"] == rgb(STATUS_COLOURS["FAIL"])
    assert intent["Cumulative"]["text"].endswith("ms") and intent["Last 30s"]["text"].endswith("ms")
    before = int(intent["Samples"]["text"])
    grew = wait_until(lambda: int(budget_rows(browser)[INTENT]["Samples"]["text"]) > before, 20,
                    "the intent sample count to grow without a reload")
    assert grew
    name = "webui-budgets.png" if mode == "local" else "webui-budgets-distributed.png"
    browser.screenshot(SCREENSHOTS / name)


def test_no_page_or_json_of_the_ui_shows_the_internal_key(web_ui: tuple[str, str], browser: Browser) -> None:
    """Neither the DOM nor any HTML/JSON/JS the UI serves or the page loaded contains the internal key."""
    _, url = web_ui
    open_budgets_tab(browser, url)
    wait_until(lambda: statuses_rendered(browser), 60, "the Budgets tab to render")  # key was used: samples
    page = browser.execute("return document.documentElement.outerHTML + JSON.stringify(window.templateArgs)")
    assert CANARY not in page
    loaded = {u for u in browser.execute(LOADED_URLS) if u.startswith(url)}
    served = {f"{url}{path}" for path in ("/", "/stats/requests", "/agentload/budgets",
                                          "/agentload/webui.js", "/tasks", "/exceptions", "/logs")}
    assert f"{url}/stats/requests" in loaded and f"{url}/agentload/webui.js" in loaded
    for resource in sorted(loaded | served):
        assert CANARY not in fetch(resource), resource
