"""The README's screenshots: `python -m tools.screenshots --url http://127.0.0.1:8080` after `make demo`.

With an admin token (METRICS_SERVER_TOKEN or --token) it makes a six-panel dashboard over the demo metrics (saved
three times, so it has a version history) and a throw-away admin user, signs Debian's headless Chromium in as that
user, and saves every page (Explore, the dashboard list, a dashboard, its version history, Settings) at 390, 1024
and 1440 px wide, light and dark, whole pages, as docs/screenshots/<page>-<width>-<theme>.png, and the 1440 px
light dashboard as docs/screenshots/dashboard.png; `--pages history` redraws only those pages. The dashboard and
the user are deleted afterwards.
"""
import argparse
import json
import os
import shutil
import time
import urllib.request
import uuid
from pathlib import Path
from urllib.parse import urlencode

from selenium.webdriver.common.by import By

from tests.e2e.e2e_support import chromium, sign_in, wait

OUT = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
WIDTHS = (390, 1024, 1440)
THEMES = ("light", "dark")
PANELS = [
    {"id": "cpu", "title": "CPU by host", "metrics": [{"name": "cpu_usage", "filters": {"host": ["$host"]}}], "w": 8,
     "h": 2,
     "y": {"log": False, "min": None, "max": None, "thresholds": [80]}},
    {"id": "lat", "title": "Latency now", "metrics": [{"name": "request_latency", "filters": {}}], "chart": "stat",
     "w": 4, "h": 2, "y": {"log": False, "min": None, "max": None, "thresholds": [50, 100]}},
    {"id": "req", "title": "Requests per second by host", "metrics": [{"name": "http_requests", "filters": {}}],
     "chart": "stacked", "w": 6, "h": 2},
    {"id": "avg", "title": "Latency, all hosts", "metrics": [{"name": "request_latency", "filters": {}}],
     "across": "avg", "w": 6, "h": 2},
    {"id": "jobs", "title": "Service states", "metrics": [{"name": "service_state", "filters": {}}], "chart": "pie",
     "w": 6, "h": 2},
    {"id": "sizes", "title": "Response time", "metrics": [{"name": "response_time", "filters": {}}],
     "chart": "heatmap", "w": 6, "h": 2},
]


def call(base, token, method, path, body=None):
    req = urllib.request.Request(base + path, method=method, data=None if body is None else json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(req, timeout=60) as res:
        text = res.read()
    return json.loads(text) if text else {}


def settle(driver, ready):
    """Waits for `ready` (a CSS selector) and for every loading bar to stop, then a moment for the last paint."""
    wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, ready), timeout=60, message=f"no {ready}")
    wait(driver, lambda d: not d.find_elements(By.CSS_SELECTOR, ".loading-bar.is-active, .spinner"), timeout=60)
    time.sleep(0.5)


def save_whole(driver, width, path):
    """The whole page at `width` px: the window made as tall as the page, then a screenshot."""
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(width, min(height, 4000))
    time.sleep(0.3)
    driver.save_screenshot(str(path))


def open_history(driver):
    """Opens the dashboard's version history (its History button)."""
    driver.find_element(By.XPATH, "//button[normalize-space()='History']").click()


def shoot(driver, base, dashboard_id, only=()):
    dashboard = f"{base}/?{urlencode({'d': dashboard_id, 'from': '-24h'})}"
    pages = {  # page: (its URL, what shows it is drawn, what to do on it first)
        "explore": (f"{base}/?{urlencode([('m', 'cpu_usage'), ('m', 'request_latency'), ('from', '-24h')])}",
                    "svg[data-testid=main-chart] .series", None),
        "dashboards": (f"{base}/?page=dashboards", ".dashboard-table, table", None),
        "dashboard": (dashboard, "svg[data-testid=panel-chart] .series", None),
        "history": (dashboard, "[data-testid=history] tbody tr", open_history),
        "settings": (f"{base}/?page=settings", ".auth-settings", None),
    }
    for theme in THEMES:
        driver.get(base + "/api/health")
        driver.execute_script("localStorage.setItem('metrics_server.theme', arguments[0])", theme)
        for width in WIDTHS:
            for page, (url, ready, first) in pages.items():
                if only and page not in only:
                    continue
                driver.set_window_size(width, 900)
                driver.get(url)
                if first:
                    settle(driver, "svg[data-testid=panel-chart] .series")
                    first(driver)
                settle(driver, ready)
                save_whole(driver, width, OUT / f"{page}-{width}-{theme}.png")
    if not only or "dashboard" in only:
        shutil.copyfile(OUT / "dashboard-1440-light.png", OUT / "dashboard.png")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8080")
    parser.add_argument("--token", default=os.environ.get("METRICS_SERVER_TOKEN", ""))
    parser.add_argument("--pages", nargs="*", default=[], help="only these pages (default: all)")
    args = parser.parse_args()
    base, token = args.url.rstrip("/"), args.token
    user = (f"shots_{uuid.uuid4().hex[:6]}", uuid.uuid4().hex)
    call(base, token, "POST", "/api/auth/users", {"username": user[0], "password": user[1], "scopes": ["admin"]})
    dashboard = call(base, token, "POST", "/api/dashboards", {
        "title": "Shop", "description": "the demo's hosts", "time": {"from": "-24h", "to": "now"},
        "variables": [{"name": "host", "metric": "cpu_usage", "label": "host", "multi": True}], "panels": PANELS})
    try:
        for change in ({"title": "Web shop"}, {"description": "the demo's hosts, latency thresholds"}):
            saved = call(base, token, "GET", f"/api/dashboards/{dashboard['id']}")
            call(base, token, "PUT", f"/api/dashboards/{dashboard['id']}", {**saved, **change})
        OUT.mkdir(parents=True, exist_ok=True)
        with chromium() as driver:
            sign_in(driver, base, *user)
            shoot(driver, base, dashboard["id"], args.pages)
    finally:
        call(base, token, "DELETE", f"/api/dashboards/{dashboard['id']}")
        call(base, token, "DELETE", f"/api/auth/users/{user[0]}")


if __name__ == "__main__":
    main()
