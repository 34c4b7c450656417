"""A small WebDriver client over the standard library, for driving headless Chromium.

Only what the metaflow-ui check needs: open a page, read its text, find elements, take a
screenshot, and read Chrome's performance log (every request the page made, with its status).
"""

import base64
import json
import socket
import subprocess
import time
import urllib.error
import urllib.request


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(check, timeout, interval=0.25):
    """The first truthy value of `check()` within `timeout` seconds, else None."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            return None
        time.sleep(interval)


class Browser:
    def __init__(self, chromium, chromedriver, profile_dir, width=1400, height=1100):
        self.port = free_port()
        self.driver = subprocess.Popen(
            [chromedriver, f"--port={self.port}"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.base = f"http://127.0.0.1:{self.port}"
        if not wait_until(self._driver_up, 30):
            self.driver.kill()
            raise RuntimeError("chromedriver did not start in 30 s")
        options = {
            "binary": chromium,
            "args": [
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                f"--window-size={width},{height}",
                f"--user-data-dir={profile_dir}",
            ],
            "perfLoggingPrefs": {"enableNetwork": True, "enablePage": False},
        }
        caps = {
            "browserName": "chrome",
            "goog:chromeOptions": options,
            "goog:loggingPrefs": {"performance": "ALL", "browser": "ALL"},
        }
        try:
            answer = self._call("POST", "/session", {"capabilities": {"alwaysMatch": caps}})
        except RuntimeError:
            self.driver.kill()
            self.driver.wait()
            raise
        self.session = f"/session/{answer['sessionId']}"

    def _driver_up(self):
        try:
            with urllib.request.urlopen(self.base + "/status", timeout=2) as r:
                return json.load(r)["value"].get("ready", False)
        except (OSError, ValueError, KeyError):
            return False

    def _call(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method)
        req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=120) as r:
                return json.load(r)["value"]
        except urllib.error.HTTPError as e:
            raise RuntimeError(f"webdriver {method} {path}: {e.read()[:500]!r}") from None

    def close(self):
        try:
            self._call("DELETE", self.session)
        finally:
            self.driver.kill()
            self.driver.wait()

    def open(self, url):
        self._call("POST", self.session + "/url", {"url": url})

    def script(self, source, *args):
        return self._call("POST", self.session + "/execute/sync", {"script": source, "args": list(args)})

    def text(self):
        return self.script("return document.body ? document.body.innerText : ''") or ""

    def count(self, css):
        return len(self._call("POST", self.session + "/elements", {"using": "css selector", "value": css}))

    def click_text(self, text):
        """Click the innermost visible element whose own text is `text`; True when one was found."""
        return self.script(
            """
            const want = arguments[0];
            const all = [...document.querySelectorAll('body *')].filter(
              e => e.offsetParent !== null && e.textContent.trim() === want);
            const el = all.find(e => ![...e.children].some(c => c.textContent.trim() === want));
            if (!el) return false;
            el.click();
            return true;
            """,
            text,
        )

    def click(self, css):
        """Click the first element matching `css`; True when there was one."""
        return self.script("const e = document.querySelector(arguments[0]); if (e) e.click(); return !!e;", css)

    def screenshot(self, path):
        """The whole page, not just the window, through Chrome's DevTools protocol."""
        width, height = self.script(
            "const d = document.documentElement; return [d.scrollWidth, Math.max(d.scrollHeight, innerHeight)];"
        )
        clip = {"x": 0, "y": 0, "width": width, "height": min(height, 8000), "scale": 1}
        params = {"format": "png", "captureBeyondViewport": True, "clip": clip}
        png = self._call("POST", self.session + "/goog/cdp/execute",
                         {"cmd": "Page.captureScreenshot", "params": params})["data"]
        with open(path, "wb") as f:
            f.write(base64.b64decode(png))

    def log(self, kind):
        return self._call("POST", self.session + "/se/log", {"type": kind})


class Requests:
    """Requests seen in Chrome's performance log: URL, status (101 for a WebSocket), or the
    network error that stopped it."""

    def __init__(self):
        self.by_id = {}
        self.order = []

    def read(self, browser):
        for entry in browser.log("performance"):
            message = json.loads(entry["message"])["message"]
            self._event(message.get("method", ""), message.get("params", {}))

    def _slot(self, request_id, url):
        if request_id not in self.by_id:
            self.by_id[request_id] = {"url": url, "status": None, "error": None}
            self.order.append(request_id)
        slot = self.by_id[request_id]
        slot["url"] = slot["url"] or url
        return slot

    def _event(self, method, params):
        rid = params.get("requestId")
        if method == "Network.requestWillBeSent":
            self._slot(rid, params["request"]["url"])
        elif method == "Network.responseReceived":
            self._slot(rid, params["response"]["url"])["status"] = params["response"]["status"]
        elif method == "Network.loadingFailed":
            slot = self._slot(rid, None)
            if slot["status"] is None:
                slot["error"] = params.get("errorText", "failed")
        elif method == "Network.webSocketCreated":
            self._slot(rid, params["url"])
        elif method == "Network.webSocketHandshakeResponseReceived":
            self._slot(rid, None)["status"] = params["response"]["status"]
        elif method == "Network.webSocketFrameError":
            self._slot(rid, None)["error"] = params.get("errorMessage", "frame error")

    def all(self):
        return [self.by_id[r] for r in self.order if self.by_id[r]["url"]]
