"""Fixtures for the browser tests: an HTTP client for the stack's API and a headless Chromium."""
import json
import os
import shutil
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from e2e_support import write_dataset

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
SCREENSHOTS = Path(__file__).parent / "screenshots"


class Api:
    """A small JSON/CSV client for the stack's /api, through nginx like the browser."""

    def __init__(self, base_url):
        self.base = base_url.rstrip("/")

    def request(self, method, path, body=None):
        """Sends a request and returns (status, text) without raising on 4xx/5xx."""
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
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


@pytest.fixture(scope="session")
def site_url(request):
    """The stack's base URL: the test stack (live_stack), or E2E_BASE_URL to aim at a stack already running."""
    if os.environ.get("E2E_BASE_URL"):
        return os.environ["E2E_BASE_URL"]
    return request.getfixturevalue("live_stack").url


@pytest.fixture(scope="module")
def api(site_url):
    """The API of the stack under test."""
    return Api(site_url)


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium, headless, with a fresh profile; closed after the module."""
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
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    SCREENSHOTS.mkdir(exist_ok=True)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def shot():
    """Saves a page's screenshot as tests/e2e/screenshots/<name>.png (gitignored) and returns its path."""
    def save(driver, name):
        path = SCREENSHOTS / f"{name}.png"
        driver.save_screenshot(str(path))
        return path
    return save


@pytest.fixture(scope="module")
def data(api):
    """Metrics of every type with two hours of per-minute data (and a 20-minute hole in cpu), deleted after."""
    dataset = write_dataset(api)
    yield dataset
    for name in dataset.names():
        api.request("DELETE", f"/api/metrics/{name}")
