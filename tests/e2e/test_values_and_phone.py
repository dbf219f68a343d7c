"""Issue 26, third round: values that are always right and a phone that works, in a real Chromium against the
real stack. Each test failed before its fix."""
import uuid
from contextlib import contextmanager
from urllib.parse import parse_qs, urlencode, urlparse

import pytest
from e2e_support import MINUTE, account_action, idle, main_chart, sign_in, wait, window
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

pytestmark = pytest.mark.e2e

HEADINGS = ["Mean", "Min", "Max", "Last"]
OWN = {"3xx": 9504.0, "5xx": 15608.0}  # a stack top would read 25.1k
SHOWN = {"3xx": "9,504 req", "5xx": "15.6k req"}


@pytest.fixture(scope="module")
def codes(api, data):
    """A gauge of requests by status code with two series at constant, different values over the data's range."""
    name = f"x{uuid.uuid4().hex[:6]}_http"
    api.post("/api/metrics", {"name": name, "type": "gauge", "unit": "req", "label_keys": ["code", "service"]})
    minutes = list(range(data.start, data.end, MINUTE))
    api.post("/api/write", [{"name": name, "labels": {"code": code, "service": "api"}, "timestamps": minutes,
                             "values": [value] * len(minutes)} for code, value in OWN.items()])
    yield name
    api.request("DELETE", f"/api/metrics/{name}")


def set_theme(driver, theme):
    """Chooses the light or dark theme (kept in localStorage) and reloads the page."""
    driver.execute_script("localStorage.setItem('metrics_server.theme', arguments[0])", theme)
    driver.refresh()


def box(driver, element):
    return driver.execute_script("return arguments[0].getBoundingClientRect().toJSON()", element)


def legend_readings(driver, root):
    """What a reader sees in the legend under `root`: per row, its name as shown (or None when it has no room to
    show) and {heading seen above or beside the cell: the cell's text} for every value cell on screen."""
    table = driver.find_element(By.CSS_SELECTOR, f"{root} .legend")
    heads = [(th.text.strip(" ▲▼"), box(driver, th)) for th in table.find_elements(By.CSS_SELECTOR, "thead th.num")
             if th.is_displayed() and th.size["width"] > 0]
    out = []
    for row in table.find_elements(By.CSS_SELECTOR, "tbody tr"):
        label = row.find_element(By.CSS_SELECTOR, ".legend-label")
        lbox = box(driver, label)
        full = driver.execute_script("return arguments[0].scrollWidth <= arguments[0].clientWidth + 1", label)
        name = label.text if lbox["width"] > 20 and full else None
        cells = {}
        for td in row.find_elements(By.CSS_SELECTOR, "td.num"):
            b = box(driver, td)
            if b["width"] <= 0 or not td.is_displayed():
                continue
            middle = (b["left"] + b["right"]) / 2
            above = [h for h, hb in heads if hb["left"] <= middle <= hb["right"] and hb["bottom"] <= b["top"] + 1]
            cells[above[0] if above else None] = td.text
        out.append((name, cells))
    return out


def tooltip_values(driver, svg_css):
    """Hovers the middle of a chart and returns {name shown: value shown} from its tooltip."""
    overlay = driver.find_element(By.CSS_SELECTOR, f"{svg_css} .overlay")
    ActionChains(driver).move_to_element_with_offset(overlay, 5, 0).perform()
    tip = wait(driver, lambda d: d.find_element(By.CSS_SELECTOR, ".tooltip"), message="no tooltip")
    rows = tip.find_elements(By.CSS_SELECTOR, "tbody tr")
    return {r.find_element(By.CSS_SELECTOR, ".tooltip-label").text: r.find_element(By.CSS_SELECTOR, "td.num").text
            for r in rows}


def test_stacked_bars_report_each_series_own_values_in_legend_and_tooltip(browser, site_url, data, codes):
    browser.get(data.url(site_url, [codes], c=f"{codes}:stacked"))
    main_chart(browser)
    idle(browser)
    rows = legend_readings(browser, ".panel-main")
    assert sorted(name for name, _ in rows) == ["code=3xx", "code=5xx"], rows
    for name, cells in rows:
        expected = SHOWN[name.split("=")[1]]
        assert cells == dict.fromkeys(HEADINGS, expected), (name, cells)
    assert tooltip_values(browser, "svg[data-testid=main-chart]") == {
        f"code={code}": shown for code, shown in SHOWN.items()}


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_the_legend_at_390_px_names_each_series_and_puts_each_figure_under_its_own_heading(
        browser, site_url, api, data, codes, created, theme):
    dash = api.post("/api/dashboards", {
        "title": f"e2e {uuid.uuid4().hex[:8]}", "time": {"from": str(data.start), "to": str(data.end)},
        "panels": [{"id": "p1", "title": "codes", "metrics": [{"name": codes, "filters": {}}], "w": 6, "h": 2}]})
    created.append(dash["id"])
    with window(browser, 390, 844):
        for url, root, svg in ((data.url(site_url, [codes]), ".panel-main", "svg[data-testid=main-chart]"),
                               (f"{site_url}/?{urlencode({'d': dash['id']})}", ".dash-panel",
                                "svg[data-testid=panel-chart]")):
            browser.get(url)
            set_theme(browser, theme)
            wait(browser, lambda d, s=svg: d.find_elements(By.CSS_SELECTOR, f"{s} .series"), message="no chart")
            idle(browser)
            rows = legend_readings(browser, root)
            assert sorted(name or "" for name, _ in rows) == ["code=3xx", "code=5xx"], (root, rows)
            for name, cells in rows:
                assert cells == dict.fromkeys(HEADINGS, SHOWN[name.split("=")[1]]), (root, name, cells)
            assert tooltip_values(browser, svg) == {f"code={code}": shown for code, shown in SHOWN.items()}, root
            browser.save_screenshot(f"/tmp/dash/legend-390-{theme}-{root[1:]}.png")
    set_theme(browser, "system")


def test_half_width_panels_at_1024_px_show_whole_series_names(browser, site_url, api, data, codes, created):
    dash = api.post("/api/dashboards", {
        "title": f"e2e {uuid.uuid4().hex[:8]}", "time": {"from": str(data.start), "to": str(data.end)},
        "panels": [{"id": p, "title": p, "metrics": [{"name": m, "filters": {}}], "w": 6, "h": 2}
                   for p, m in (("a", codes), ("b", data.cpu))]})
    created.append(dash["id"])
    with window(browser, 1024, 768):
        browser.get(f"{site_url}/?{urlencode({'d': dash['id']})}")
        wait(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, "svg[data-testid=panel-chart] .series")) >= 3)
        idle(browser)
        for root, names in (("[data-panel=a]", ["code=3xx", "code=5xx"]), ("[data-panel=b]", ["host=a", "host=b"])):
            rows = legend_readings(browser, root)
            assert sorted(name or "" for name, _ in rows) == names, (root, rows)
            assert all(set(cells) == set(HEADINGS) for _, cells in rows), (root, rows)


def test_explore_shows_no_empty_notice_while_the_first_query_loads(browser, site_url, data):
    browser.execute_cdp_cmd("Network.enable", {})
    browser.execute_cdp_cmd("Network.emulateNetworkConditions", {
        "offline": False, "latency": 800, "downloadThroughput": -1, "uploadThroughput": -1})
    try:
        browser.get(data.url(site_url, [data.cpu]))
        seen = set()
        for _ in range(200):
            text = browser.execute_script("return document.querySelector('.panel-main')?.innerText || ''")
            seen.update(t for t in ("No data in this range", "Nothing was recorded") if t in text)
            if browser.find_elements(By.CSS_SELECTOR, "svg[data-testid=main-chart] .series"):
                break
            browser.execute_script("return new Promise((r) => setTimeout(r, 50))")
        assert browser.find_elements(By.CSS_SELECTOR, "svg[data-testid=main-chart] .series")
        assert not seen, f"said {seen} before the data came"
    finally:
        browser.execute_cdp_cmd("Network.emulateNetworkConditions", {
            "offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1})


def touch(driver, kind, points):
    """Sends one touch event (touchStart, touchMove, touchEnd) with finger points [(x, y)] in page pixels."""
    driver.execute_cdp_cmd("Input.dispatchTouchEvent", {
        "type": kind, "touchPoints": [{"x": x, "y": y, "id": i} for i, (x, y) in enumerate(points)]})


def swipe(driver, starts, ends, steps=8):
    """Moves fingers from `starts` to `ends` in small steps, as a hand does."""
    touch(driver, "touchStart", starts)
    for k in range(1, steps + 1):
        touch(driver, "touchMove", [(a[0] + (b[0] - a[0]) * k / steps, a[1] + (b[1] - a[1]) * k / steps)
                                    for a, b in zip(starts, ends)])
    touch(driver, "touchEnd", [])


def zoom_of(driver):
    q = parse_qs(urlparse(driver.current_url).query)
    return (int(q["zs"][0]), int(q["ze"][0])) if "zs" in q else None


@contextmanager
def phone(driver):
    """A 390 px wide touch screen (the page sees touch support, as on a phone), then the desktop again."""
    driver.execute_cdp_cmd("Emulation.setTouchEmulationEnabled", {"enabled": True, "maxTouchPoints": 5})
    try:
        with window(driver, 390, 844):
            yield
    finally:
        driver.execute_cdp_cmd("Emulation.setTouchEmulationEnabled", {"enabled": False})


def test_touch_tap_shows_the_tooltip_and_swipes_zoom(browser, site_url, data):
    with phone(browser):
        browser.get(data.url(site_url, [data.cpu]))
        svg = main_chart(browser)
        idle(browser)
        plot = box(browser, svg.find_element(By.CSS_SELECTOR, ".overlay"))
        cx, cy = (plot["left"] + plot["right"]) / 2, (plot["top"] + plot["bottom"]) / 2
        browser.execute_script(f"window.scrollTo(0, {max(0, cy - 300)})")
        scroll = browser.execute_script("return window.scrollY")
        plot = box(browser, svg.find_element(By.CSS_SELECTOR, ".overlay"))
        cx, cy = (plot["left"] + plot["right"]) / 2, (plot["top"] + plot["bottom"]) / 2
        touch(browser, "touchStart", [(cx, cy)])
        touch(browser, "touchEnd", [])
        wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, ".tooltip td.num"), message="a tap showed no tooltip")

        # Two fingers spread apart: the time between them widens to the plot, so the view narrows.
        w = plot["right"] - plot["left"]
        swipe(browser, [(cx - w * 0.1, cy), (cx + w * 0.1, cy)], [(cx - w * 0.4, cy), (cx + w * 0.4, cy)])
        zoom = wait(browser, lambda d: zoom_of(d), message="a pinch did not zoom")
        assert zoom[1] - zoom[0] < 0.5 * (data.end - data.start), zoom
        assert browser.execute_script("return window.scrollY") == scroll

        # One finger across the overview: a brush selection, a new zoom.
        over = box(browser, browser.find_element(By.CSS_SELECTOR, "[data-testid=overview] svg"))
        oy = (over["top"] + over["bottom"]) / 2 - 4
        swipe(browser, [(over["left"] + 70, oy)], [(over["left"] + 170, oy)])
        wait(browser, lambda d: zoom_of(d) != zoom, message="a swipe on the overview did not zoom")
        assert browser.execute_script("return window.scrollY") == scroll


def test_settings_fit_a_phone_and_their_buttons_are_readable(browser, site_url, api, viewer):
    admin = (f"admin_{uuid.uuid4().hex[:6]}", uuid.uuid4().hex)
    api.post("/api/auth/users", {"username": admin[0], "password": admin[1], "scopes": ["admin"]})
    sign_in(browser, site_url, *admin)
    try:
        with window(browser, 390, 844):
            browser.get(site_url)
            account_action(browser, "Settings")
            wait(browser, lambda d: d.find_elements(By.XPATH, "//button[.='Add user']"), message="no user form")
            for theme in ("light", "dark"):
                browser.execute_script("document.documentElement.setAttribute('data-theme', arguments[0])", theme)
                assert browser.execute_script("return document.documentElement.scrollWidth") <= 390
                for label in ("Create token", "Add user"):
                    button = browser.find_element(By.XPATH, f"//button[.='{label}']")
                    fg, bg = (browser.execute_script(
                        "return getComputedStyle(arguments[0]).getPropertyValue(arguments[1])", button, p)
                        for p in ("color", "background-color"))
                    assert contrast(fg, bg) >= 4.5, (theme, label, fg, bg)
            # Settings live in the URL: a reload keeps them, Back leaves them.
            assert parse_qs(urlparse(browser.current_url).query).get("page") == ["settings"]
            browser.refresh()
            wait(browser, lambda d: d.find_elements(By.XPATH, "//button[.='Add user']"), message="reload left Settings")
            browser.back()
            wait(browser, lambda d: not d.find_elements(By.CSS_SELECTOR, ".auth-settings"), message="Back kept Settings")
    finally:
        sign_in(browser, site_url, *viewer)
        api.request("DELETE", f"/api/auth/users/{admin[0]}")


def contrast(fg, bg):
    """WCAG contrast ratio of two CSS rgb()/rgba() colours (alpha ignored)."""
    def lum(css):
        r, g, b = (float(v) / 255 for v in css[css.index("(") + 1:-1].split(",")[:3])
        lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in (r, g, b)]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]
    hi, lo = sorted((lum(fg), lum(bg)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_an_exported_chart_carries_title_legend_and_time_range_without_csp_errors(browser, site_url, data, codes,
                                                                                 tmp_path):
    browser.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(tmp_path)})
    browser.get(data.url(site_url, [codes]))
    main_chart(browser)
    idle(browser)
    browser.get_log("browser")  # what came before
    for kind in ("SVG", "PNG"):
        browser.find_element(By.CSS_SELECTOR, ".panel-main .share > button").click()
        browser.find_element(By.XPATH, f"//button[@role='menuitem'][.='{kind}']").click()
        wait(browser, lambda d, k=kind: list(tmp_path.glob(f"*.{k.lower()}")), message=f"no {kind} file")
    svg = next(tmp_path.glob("*.svg")).read_text()
    for text in (codes, "code=3xx", "code=5xx", "Max 15.6k req", "–"):
        assert text in svg, text
    png = next(tmp_path.glob("*.png")).read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000
    errors = [e["message"] for e in browser.get_log("browser") if "Content Security Policy" in e["message"]]
    assert not errors, f"{len(errors)} CSP errors, first: {errors[:1]}"


def test_escape_closes_the_metric_drawer_even_from_its_search_field(browser, site_url, data):
    with window(browser, 390, 844):
        browser.get(data.url(site_url, [data.cpu]))
        main_chart(browser)
        browser.find_element(By.CSS_SELECTOR, ".drawer-toggle").click()
        search = wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, ".search input"))
        wait(browser, lambda d: search.is_displayed())
        search.send_keys("cpu", Keys.ESCAPE)
        wait(browser, lambda d: not d.find_elements(By.CSS_SELECTOR, ".app.drawer-open"), message="the drawer stayed")


def test_a_stat_panel_colours_each_last_value_by_the_thresholds_over_its_sparkline(browser, site_url, api, data, codes,
                                                                                  created):
    dash = api.post("/api/dashboards", {
        "title": f"e2e {uuid.uuid4().hex[:8]}", "time": {"from": str(data.start), "to": str(data.end)},
        "panels": [{"id": "s", "title": "codes", "metrics": [{"name": codes, "filters": {}}], "chart": "stat",
                    "y": {"log": False, "min": None, "max": None, "thresholds": [10000, 20000]}, "w": 6, "h": 2}]})
    created.append(dash["id"])
    browser.get(f"{site_url}/?{urlencode({'d': dash['id']})}")
    items = wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "[data-testid=stat] .stat-item .stat-spark"),
                 message="no stat with a sparkline")
    items = browser.find_elements(By.CSS_SELECTOR, "[data-testid=stat] .stat-item")
    seen = {i.find_element(By.CSS_SELECTOR, ".stat-label").text: (i.find_element(By.CSS_SELECTOR, ".stat-value").text,
                                                                   i.get_attribute("data-level")) for i in items}
    assert seen == {"code=3xx": (SHOWN["3xx"], "ok"), "code=5xx": (SHOWN["5xx"], "warn")}
    assert len(items) == 2
