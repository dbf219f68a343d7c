"""Fixtures for the browser tests: an HTTP client for the stack's API and a headless Chromium."""
import os
from pathlib import Path

import pytest
from e2e_support import Api, chromium, write_dataset

SCREENSHOTS = Path(__file__).parent / "screenshots"


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
    with chromium() as driver:
        SCREENSHOTS.mkdir(exist_ok=True)
        yield driver


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
