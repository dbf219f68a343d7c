"""What the browser tests share (the compose test too): an API client, Chromium, the module's data set, waiting,
and reading the chart's SVG."""
import json
import math
import os
import random
import re
import shutil
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, fields
from pathlib import Path
from urllib.parse import urlencode

import pytest
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"

MINUTE = 60_000
SPAN = 120  # minutes of data
GAP = (50, 70)  # minutes without cpu data
BATCH = 100  # points per write: ~10 kB, what a small exporter sends


class Api:
    """A small JSON/CSV client for the stack's /api, through nginx like the browser, as the admin token."""

    def __init__(self, base_url):
        self.base = base_url.rstrip("/")
        self.headers = {"Content-Type": "application/json",
                        "Authorization": "Bearer " + os.environ["METRICS_TEST_ADMIN_TOKEN"]}

    def request(self, method, path, body=None):
        """Sends a request and returns (status, text) without raising on 4xx/5xx."""
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method, headers=self.headers)
        try:
            with urllib.request.urlopen(req, timeout=60) as res:
                return res.status, res.read().decode()
        except urllib.error.HTTPError as err:
            return err.code, err.read().decode()

    def get_text(self, path):
        """GETs a path that must succeed and returns its body."""
        status, text = self.request("GET", path)
        assert status == 200, f"GET {path} -> {status}: {text[:300]}"
        return text

    def get_json(self, path):
        """GETs a path that must succeed and returns its JSON."""
        return json.loads(self.get_text(path))

    def post(self, path, body):
        """POSTs JSON that must be accepted (201) and returns the JSON answer."""
        status, text = self.request("POST", path, body)
        assert status == 201, f"POST {path} -> {status}: {text[:300]}"
        return json.loads(text)


def sign_in(driver, site_url: str, name: str, password: str) -> None:
    """Give the browser a session: signed in through the API, the cookie handed to the browser as the
    server set it (HttpOnly, SameSite=Strict). tests/e2e/test_sign_in.py signs in through the page itself."""
    request = urllib.request.Request(f"{site_url}/api/auth/login", method="POST",
                                     data=json.dumps({"username": name, "password": password}).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        cookie = response.headers["Set-Cookie"].split(";")[0].split("=", 1)[1]
    driver.get(f"{site_url}/api/health")
    driver.add_cookie({"name": "mts_session", "value": cookie, "path": "/", "httpOnly": True,
                       "sameSite": "Strict"})


# Run before a page's own scripts: performance.now() when the page first holds `want` elements matching `selector`.
DRAWN_OBSERVER = """
window.__drawn = null;
const want = %d, selector = %s;
new MutationObserver((_, obs) => {
  if (document.querySelectorAll(selector).length >= want) { window.__drawn = performance.now(); obs.disconnect(); }
}).observe(document, {childList: true, subtree: true});
"""


def load_timed(driver, url: str, selector: str, want: int = 1, settle: float = 0.0, timeout: float = 60) -> dict:
    """Loads `url` and returns its timeline in ms from navigation start: drawn (when the page first held `want`
    elements matching `selector`, seen by an observer run before the page's own scripts), load, dom, and api: the
    /api requests (Resource Timing: path, query, start, ms, end) that ended within `settle` s after drawn."""
    script = driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument",
                                    {"source": DRAWN_OBSERVER % (want, json.dumps(selector))})
    try:
        driver.get(url)
        deadline = time.monotonic() + timeout
        while driver.execute_script("return window.__drawn") is None:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{url}: fewer than {want} of {selector} after {timeout} s")
            time.sleep(0.05)
        time.sleep(settle)
        return driver.execute_script("""
            const nav = performance.getEntriesByType('navigation')[0];
            return {drawn: window.__drawn, load: nav.loadEventEnd, dom: nav.domContentLoadedEventEnd,
                    api: performance.getEntriesByType('resource').filter(e => e.name.includes('/api/'))
                      .map(e => ({path: new URL(e.name).pathname, query: new URL(e.name).search,
                                  start: e.startTime, ms: e.duration, end: e.responseEnd}))};""")
    finally:
        driver.execute_cdp_cmd("Page.removeScriptToEvaluateOnNewDocument", {"identifier": script["identifier"]})


@contextmanager
def chromium(trace_categories: str = ""):
    """Debian's Chromium, headless, with a fresh profile that is deleted afterwards; with trace_categories, its
    trace of those categories is collected into the "performance" log (chromedriver's perfLoggingPrefs)."""
    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        pytest.skip("chromium and chromium-driver are not installed (apt-get install chromium chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="e2e-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--window-size=1440,900", f"--user-data-dir={profile}"):
        options.add_argument(arg)
    logs = {"browser": "ALL"}  # the console: CSP violations show there
    if trace_categories:
        logs["performance"] = "ALL"
        options.add_experimental_option("perfLoggingPrefs", {"enableNetwork": False, "enablePage": False,
                                                             "traceCategories": trace_categories})
    options.set_capability("goog:loggingPrefs", logs)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@dataclass
class Dataset:
    """What the module wrote: metric names and the absolute range holding the data."""
    cpu: str
    latency: str
    requests: str
    state: str
    sizes: str
    start: int
    end: int

    def url(self, base, metrics, **extra):
        """A dashboard link showing `metrics` over the data's range."""
        params = [("m", m) for m in metrics] + [("from", str(self.start)), ("to", str(self.end))]
        return f"{base}/?{urlencode(params + list(extra.items()))}"

    def names(self):
        """The metric names of the set."""
        return [getattr(self, f.name) for f in fields(self) if f.name not in ("start", "end")]


def write_dataset(api):
    """Creates metrics of every type with two hours of per-minute data (and a 20-minute hole in cpu)."""
    p = f"e2e_{uuid.uuid4().hex[:8]}"
    names = {k: f"{p}_{k}" for k in ("cpu", "latency", "requests", "state", "sizes")}
    for key, kind, unit in (("cpu", "gauge", "%"), ("latency", "gauge", "ms"), ("requests", "counter", "req"),
                            ("state", "enum", ""), ("sizes", "histogram", "B")):
        api.post("/api/metrics", {"name": names[key], "type": kind, "label_keys": ["host"], "unit": unit,
                                  "description": f"e2e {key}"})
    end = int(time.time() * 1000) // MINUTE * MINUTE - 5 * MINUTE
    start = end - SPAN * MINUTE
    rnd = random.Random(4)
    items, total = [], {"a": 1000.0, "b": 5000.0}
    for i in range(SPAN):
        ts = start + i * MINUTE
        for host, shift in (("a", 0.0), ("b", 1.3)):
            wave = math.sin(i / 14 + shift)
            if not GAP[0] <= i < GAP[1]:
                items.append({"name": names["cpu"], "labels": {"host": host}, "timestamp": ts,
                              "value": round(48 + 18 * wave + 10 * shift + rnd.gauss(0, 2.5), 2)})
            items.append({"name": names["latency"], "labels": {"host": host}, "timestamp": ts,
                          "value": round(160 + 45 * math.sin(i / 23 + 2 * shift) + 30 * shift + rnd.gauss(0, 9), 1)})
            total[host] += 60 * (40 + 15 * math.cos(i / 18 + shift) + rnd.uniform(0, 6))
            items.append({"name": names["requests"], "labels": {"host": host}, "value": round(total[host]),
                          "timestamp": ts})
        items.append({"name": names["state"], "labels": {"host": "a"},
                      "state": ("running", "running", "idle", "failed")[(i // 10) % 4], "timestamp": ts})
        items.append({"name": names["sizes"], "labels": {"host": "a"}, "timestamp": ts,
                      "buckets": {"10": rnd.randint(0, 4), "100": rnd.randint(8, 16), "1000": 3 + i // 20 + rnd.randint(0, 3),
                                  "+inf": rnd.randint(0, 2)}})
    for k in range(0, len(items), BATCH):
        api.post("/api/write", items[k:k + BATCH])
    return Dataset(start=start, end=end, **names)


@contextmanager
def window(driver, width, height):
    """Resizes the window for a block, then restores 1440×900."""
    driver.set_window_size(width, height)
    try:
        yield
    finally:
        driver.set_window_size(1440, 900)


def wait(driver, predicate, timeout=30, message=""):
    """Waits until predicate(driver) is truthy and returns its value; an element React replaced while the predicate
    read it (stale) is a reason to ask again, not a failure."""
    return WebDriverWait(driver, timeout, poll_frequency=0.2,
                         ignored_exceptions=(StaleElementReferenceException,)).until(predicate, message)


def main_chart(driver):
    """The main chart's <svg> once it has drawn series."""
    return wait(driver, lambda d: d.find_element(By.CSS_SELECTOR, "svg[data-testid=main-chart]")
                if d.find_elements(By.CSS_SELECTOR, "svg[data-testid=main-chart] .series") else None,
                message="the main chart never drew a series")


def idle(driver):
    """Waits for every loading bar to stop."""
    wait(driver, lambda d: not d.find_elements(By.CSS_SELECTOR, ".loading-bar.is-active"), message="still loading")


def segments(d):
    """Splits an SVG path into its subpaths and returns each one's [min x, max x]."""
    out = []
    for part in re.split(r"(?=M)", d):
        xs = [float(x) for x in re.findall(r"(-?[\d.]+(?:e-?\d+)?),-?[\d.]+", part)]
        if xs:
            out.append((min(xs), max(xs)))
    return out


def account_action(driver, label):
    """Opens the account menu in the top bar and chooses `label` (Settings, Dashboard, Sign out)."""
    wait(driver, lambda d: d.find_element(By.CSS_SELECTOR, "nav[aria-label=Account] summary"),
         message="no account menu").click()
    wait(driver, lambda d: d.find_element(By.XPATH, f"//nav[@aria-label='Account']//button[.='{label}']"),
         message=f"no {label} in the account menu").click()
