"""Fixtures for the browser tests: an HTTP client for the stack's API and a headless Chromium."""
import os
import secrets
from pathlib import Path

import pytest
from e2e_support import Api, chromium, sign_in, write_dataset

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


@pytest.fixture(scope="session")
def viewer(site_url):
    """A dashboard user of the stack under test who may read, save and delete (dashboards, alert rules), not
    administer: (user name, password)."""
    name, password = f"member_{secrets.token_hex(4)}", secrets.token_urlsafe(16)
    status, text = Api(site_url).request("POST", "/api/auth/users", {"username": name, "password": password,
                                                                      "scopes": ["read", "write", "delete"]})
    assert status == 201, text
    return name, password


@pytest.fixture(scope="module")
def browser(site_url, viewer):
    """Debian's Chromium, headless, with a fresh profile, signed in as the viewer; closed after the module."""
    with chromium() as driver:
        sign_in(driver, site_url, *viewer)
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


@pytest.fixture
def created(api):
    """Ids of dashboards a test made, deleted afterwards."""
    ids = []
    yield ids
    for dash_id in ids:
        api.request("DELETE", f"/api/dashboards/{dash_id}")
