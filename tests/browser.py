"""A minimal headless-Chromium driver for tests: chromedriver's W3C WebDriver HTTP API over urllib.

No Selenium: the handful of commands the web UI tests need (open a page, find and click an element,
run a script, take a screenshot) are plain JSON requests to a chromedriver started here, against
the Debian `chromium` and `chromium-driver` packages that CI installs with apt.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import subprocess
import tempfile
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from agentload.platform.process import stop_process

from tools import free_port, wait_until

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")
ELEMENT = "element-6066-11e4-a52e-4f735466cecf"  # the W3C key of an element reference
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1500,900",
)


class BrowserError(RuntimeError):
    """A WebDriver command failed; the message carries chromedriver's error and message."""


def missing() -> str | None:
    """Why a browser cannot be started here (a missing binary), or None when it can."""
    for path in (CHROMIUM, CHROMEDRIVER):
        if not (shutil.which(path) or os.access(path, os.X_OK)):
            return f"{path} not found (apt-get install chromium chromium-driver)"
    return None



class Browser:
    """One chromedriver process and one headless Chromium session; use as a context manager."""

    def __init__(self, timeout: float = 30.0) -> None:
        self.port = free_port()
        self.profile = tempfile.mkdtemp(prefix="agentload-chromium-")
        self.driver = subprocess.Popen(
            [CHROMEDRIVER, f"--port={self.port}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        self.session = ""
        try:
            wait_until(self._ready, timeout, "chromedriver to be ready")
            options = {"binary": CHROMIUM, "args": [*FLAGS, f"--user-data-dir={self.profile}"]}
            capabilities = {"browserName": "chrome", "goog:chromeOptions": options}
            answer = self._call("POST", "/session", {"capabilities": {"alwaysMatch": capabilities}})
            self.session = answer["value"]["sessionId"]
        except BaseException:
            self.close()
            raise

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """End the session, stop chromedriver (which stops Chromium) and remove the profile."""
        if self.session:
            with contextlib.suppress(BrowserError, OSError):
                self._call("DELETE", f"/session/{self.session}")
            self.session = ""
        stop_process(self.driver)
        shutil.rmtree(self.profile, ignore_errors=True)

    def get(self, url: str) -> None:
        self._session_call("POST", "/url", {"url": url})

    def execute(self, script: str, *args: Any) -> Any:
        """Run `script` as a function body in the page (`return` gives the value back)."""
        return self._session_call("POST", "/execute/sync", {"script": script, "args": list(args)})

    def find(self, xpath: str) -> str | None:
        """The reference of the first element matching `xpath`, or None when there is none."""
        found = self._session_call("POST", "/elements", {"using": "xpath", "value": xpath})
        return found[0][ELEMENT] if found else None

    def click(self, element: str) -> None:
        self._session_call("POST", f"/element/{element}/click", {})

    def screenshot(self, path: Path) -> Path:
        """Save the viewport as a PNG at `path` (parent folders are created)."""
        png = base64.b64decode(self._session_call("GET", "/screenshot"))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(png)
        return path

    def _session_call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        return self._call(method, f"/session/{self.session}{path}", body)["value"]

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        url = f"http://127.0.0.1:{self.port}{path}"
        request = urllib.request.Request(url, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as exc:
            value = json.loads(exc.read() or b"{}").get("value", {})
            raise BrowserError(f"{method} {path}: {value.get('error')}: {value.get('message')}") from None

    def _ready(self) -> bool:
        """True once chromedriver says it is ready; raises if it has exited."""
        if self.driver.poll() is not None:
            raise BrowserError(f"chromedriver exited with {self.driver.returncode}")
        try:
            return bool(self._call("GET", "/status")["value"].get("ready"))
        except OSError:
            return False
