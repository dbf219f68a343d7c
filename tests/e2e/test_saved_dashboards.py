"""Saved dashboards in a real Chromium against the real stack: from Explore to a dashboard, the grid (resize,
reorder, remove, edit), versioned saves refused when stale, the list (search, duplicate, delete, import), and
variables and time in the URL."""
import json
import uuid
from urllib.parse import parse_qs, urlencode, urlparse

import pytest
from e2e_support import idle, wait
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

pytestmark = pytest.mark.e2e


def make_dashboard(api, data, panels, **extra):
    """Creates a dashboard over the data set's range through the API and returns it."""
    body = {"title": f"e2e {uuid.uuid4().hex[:8]}", "time": {"from": str(data.start), "to": str(data.end)},
            "panels": panels, **extra}
    return api.post("/api/dashboards", body)


def line_panel(pid, metric, **extra):
    return {"id": pid, "title": pid, "metrics": [{"name": metric, "filters": {}}], **extra}


def panels_in_page(driver):
    return [p.get_attribute("data-panel") for p in driver.find_elements(By.CSS_SELECTOR, "[data-testid=dashboard] .dash-panel")]


def open_dashboard(driver, site_url, dash, **params):
    driver.get(f"{site_url}/?{urlencode({'d': dash['id'], **params})}")
    wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "[data-testid=dashboard]"), message="no dashboard")


def test_a_chart_in_explore_becomes_a_panel_of_a_new_dashboard(browser, site_url, api, data, created):
    browser.get(data.url(site_url, [data.cpu, data.latency], agg="max"))
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "svg[data-testid=main-chart] .series"))
    browser.find_element(By.XPATH, "//button[.='Add to dashboard']").click()
    title = f"from explore {uuid.uuid4().hex[:6]}"
    browser.find_element(By.CSS_SELECTOR, ".add-to-dashboard input[aria-label='New dashboard title']").send_keys(title)
    browser.find_element(By.CSS_SELECTOR, ".add-to-dashboard button[type=submit]").click()
    wait(browser, lambda d: "d" in parse_qs(urlparse(d.current_url).query), message="the dashboard did not open")
    dash_id = parse_qs(urlparse(browser.current_url).query)["d"][0]
    created.append(dash_id)
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "svg[data-testid=panel-chart] .series"),
         message="the new panel drew nothing")
    saved = api.get_json(f"/api/dashboards/{dash_id}")
    assert saved["title"] == title and len(saved["panels"]) == 1
    panel = saved["panels"][0]
    assert [m["name"] for m in panel["metrics"]] == [data.cpu, data.latency] and panel["agg"] == "max"


def test_the_grid_resizes_reorders_removes_and_saves_a_new_version(browser, site_url, api, data, created):
    dash = make_dashboard(api, data, [line_panel("one", data.cpu), line_panel("two", data.latency, chart="stat", w=3),
                                      line_panel("three", data.requests, chart="bars", w=4)])
    created.append(dash["id"])
    open_dashboard(browser, site_url, dash)
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "[data-testid=stat] .stat-value"), message="no stat")
    assert browser.find_element(By.CSS_SELECTOR, "[data-testid=stat] .stat-value").text.endswith("ms")
    assert panels_in_page(browser) == ["one", "two", "three"]
    one = browser.find_element(By.CSS_SELECTOR, "[data-panel=one]")
    Select(one.find_element(By.CSS_SELECTOR, "select[aria-label=Width]")).select_by_value("12")
    browser.find_element(By.CSS_SELECTOR, "[data-panel=three] button[aria-label='Move earlier']").click()
    assert panels_in_page(browser) == ["one", "three", "two"]
    browser.find_element(By.CSS_SELECTOR, "[data-panel=two] button[aria-label='Remove panel']").click()
    assert panels_in_page(browser) == ["one", "three"]
    wide = browser.find_element(By.CSS_SELECTOR, "[data-panel=one]").rect["width"]
    assert wide > 2 * browser.find_element(By.CSS_SELECTOR, "[data-panel=three]").rect["width"]
    assert browser.find_element(By.CSS_SELECTOR, "[data-testid=save-state]").text == "unsaved changes"
    browser.find_element(By.XPATH, "//button[.='Save']").click()
    wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, "[data-testid=save-state]").text == "Saved as version 2")
    saved = api.get_json(f"/api/dashboards/{dash['id']}")
    assert [(p["id"], p["w"]) for p in saved["panels"]] == [("one", 12), ("three", 4)] and saved["version"] == 2


def test_a_stale_save_is_refused_with_a_message_and_their_version_can_be_loaded(browser, site_url, api, data, created):
    dash = make_dashboard(api, data, [line_panel("one", data.cpu)])
    created.append(dash["id"])
    open_dashboard(browser, site_url, dash)
    status, text = api.request("PUT", f"/api/dashboards/{dash['id']}", {**dash, "title": "saved by someone else"})
    assert status == 200, text
    title = browser.find_element(By.CSS_SELECTOR, "input[aria-label='Dashboard title']")
    title.send_keys(" (mine)")
    browser.find_element(By.XPATH, "//button[.='Save']").click()
    notice = wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, "[data-testid=dashboard] .notice-error"))
    assert "someone else saved this dashboard" in notice.text and "version 2" in notice.text
    assert "(HTTP 409)" in notice.text
    assert api.get_json(f"/api/dashboards/{dash['id']}")["title"] == "saved by someone else"
    notice.find_element(By.XPATH, ".//button[.='Reload their version']").click()
    wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, "input[aria-label='Dashboard title']")
         .get_attribute("value") == "saved by someone else")


def test_the_list_searches_duplicates_deletes_and_imports(browser, site_url, api, data, created, tmp_path):
    dash = make_dashboard(api, data, [line_panel("one", data.cpu)])
    created.append(dash["id"])
    browser.get(f"{site_url}/?page=dashboards")
    search = wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, "input[aria-label='Search dashboards']"))
    search.send_keys(dash["title"])
    rows = lambda: browser.find_elements(By.CSS_SELECTOR, "[data-testid=dashboard-list] tbody tr")  # noqa: E731
    wait(browser, lambda d: len(rows()) == 1, message="the search did not narrow the list")
    rows()[0].find_element(By.XPATH, ".//button[.='Duplicate']").click()
    wait(browser, lambda d: len(rows()) == 2, message="no copy appeared")
    copy = [r for r in rows() if r.get_attribute("data-id") != dash["id"]][0]
    created.append(copy.get_attribute("data-id"))
    assert "(copy)" in copy.text
    copy.find_element(By.XPATH, ".//button[.='Delete']").click()
    browser.switch_to.alert.accept()
    wait(browser, lambda d: len(rows()) == 1, message="the copy was not deleted")

    exported = api.get_json(f"/api/dashboards/{dash['id']}")
    file = tmp_path / "dash.json"
    file.write_text(json.dumps({**exported, "title": exported["title"] + " imported"}))
    browser.find_element(By.CSS_SELECTOR, "input[type=file]").send_keys(str(file))
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "[data-testid=dashboard]"), message="import did not open")
    imported = parse_qs(urlparse(browser.current_url).query)["d"][0]
    created.append(imported)
    assert imported != dash["id"]
    assert api.get_json(f"/api/dashboards/{imported}")["panels"] == exported["panels"]


def test_variables_and_the_time_range_live_in_the_url(browser, site_url, api, data, created):
    dash = make_dashboard(api, data, [{"id": "cpu", "title": "cpu of $host",
                                       "metrics": [{"name": data.cpu, "filters": {"host": ["$host"]}}]}],
                          variables=[{"name": "host", "metric": data.cpu, "label": "host"}])
    created.append(dash["id"])
    browser.get(f"{site_url}/?{urlencode({'d': dash['id']})}")
    wait(browser, lambda d: parse_qs(urlparse(d.current_url).query).get("from") == [str(data.start)],
         message="the saved range is not in the URL")
    series = lambda: browser.find_elements(By.CSS_SELECTOR, "svg[data-testid=panel-chart] .series")  # noqa: E731
    wait(browser, lambda d: len(series()) == 2)
    # the variable's values are a side request, sent once the panels are drawn
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "select[aria-label='Variable host'] option[value='b']"))
    Select(browser.find_element(By.CSS_SELECTOR, "select[aria-label='Variable host']")).select_by_value("b")
    wait(browser, lambda d: parse_qs(urlparse(d.current_url).query).get("var-host") == ["b"])
    wait(browser, lambda d: len(series()) == 1, message="the variable did not filter the panel")
    query = browser.find_element(By.CSS_SELECTOR, "svg[data-testid=panel-chart]").get_attribute("data-query")
    assert parse_qs(urlparse(query).query)["metric"] == [f'{data.cpu}{{host="b"}}']
    browser.get(browser.current_url)  # a reload (or a shared link) restores the choice
    wait(browser, lambda d: len(series()) == 1)
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "select[aria-label='Variable host'] option[value='b']"))
    assert Select(browser.find_element(By.CSS_SELECTOR, "select[aria-label='Variable host']")).first_selected_option.text == "b"


def test_panel_editor_sets_chart_type_and_y_axis_options(browser, site_url, api, data, created):
    dash = make_dashboard(api, data, [line_panel("one", data.cpu, h=3)])
    created.append(dash["id"])
    open_dashboard(browser, site_url, dash)
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "svg[data-testid=panel-chart] .series"))
    browser.find_element(By.CSS_SELECTOR, "[data-panel=one]").find_element(By.XPATH, ".//button[.='Edit']").click()
    dialog = wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, "[role=dialog]"))
    Select(dialog.find_element(By.CSS_SELECTOR, "select[aria-label='Chart type']")).select_by_value("stacked")
    dialog.find_element(By.CSS_SELECTOR, "input[aria-label='Y min']").send_keys("0")
    dialog.find_element(By.CSS_SELECTOR, "input[aria-label='Y max']").send_keys("150")
    dialog.find_element(By.CSS_SELECTOR, "input[aria-label='Thresholds']").send_keys("90")
    dialog.find_element(By.XPATH, ".//button[.='Apply']").click()
    svg = wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, "svg[data-testid=panel-chart]")
               if d.find_elements(By.CSS_SELECTOR, "svg[data-testid=panel-chart] .series rect") else None,
               message="no stacked bars")
    idle(browser)
    assert svg.find_element(By.CSS_SELECTOR, ".threshold").get_attribute("data-value") == "90"
    assert svg.find_element(By.CSS_SELECTOR, "g.axis-y").get_attribute("data-domain") == "0,150"
    # stacked: the second host's bars sit on the first's
    tops = browser.execute_script("""
        return [...arguments[0].querySelectorAll('.series')].map(g => g.querySelectorAll('rect').length)""", svg)
    assert len(tops) == 2 and all(tops)
    browser.find_element(By.XPATH, "//button[.='Save']").click()
    wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, "[data-testid=save-state]").text == "Saved as version 2")
    panel = api.get_json(f"/api/dashboards/{dash['id']}")["panels"][0]
    assert panel["chart"] == "stacked" and panel["y"] == {"log": False, "min": 0, "max": 150, "thresholds": [90]}


def six_panels(data):
    """The README's dashboard: every kind of panel over the data set."""
    m = lambda name, **f: {"name": name, "filters": f}  # noqa: E731
    return [
        {"id": "cpu", "title": "CPU by host", "metrics": [m(data.cpu, host=["$host"])], "w": 8, "h": 2,
         "y": {"min": 0, "max": 100, "thresholds": [80]}},
        {"id": "lat", "title": "Latency now", "metrics": [m(data.latency)], "chart": "stat", "w": 4, "h": 2},
        {"id": "req", "title": "Requests per second, stacked", "metrics": [m(data.requests)], "chart": "stacked", "w": 6},
        {"id": "avg", "title": "Latency, average of all hosts", "metrics": [m(data.latency)], "across": "avg", "w": 6},
        {"id": "state", "title": "Job states", "metrics": [m(data.state)], "chart": "pie", "w": 4},
        {"id": "sizes", "title": "Response sizes", "metrics": [m(data.sizes)], "chart": "heatmap", "w": 8},
    ]


def test_six_panel_dashboard_screenshot(browser, site_url, api, data, created, shot):
    """Every panel kind drawn at once: the picture for the README."""
    dash = make_dashboard(api, data, six_panels(data), variables=[{"name": "host", "metric": data.cpu, "label": "host"}])
    created.append(dash["id"])
    browser.set_window_size(1440, 1560)
    try:
        open_dashboard(browser, site_url, dash)
        wait(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, "svg[data-testid=panel-chart] .series")) >= 5
             and d.find_elements(By.CSS_SELECTOR, "[data-testid=heatmap] rect.cell")
             and d.find_elements(By.CSS_SELECTOR, ".pie svg path") and d.find_elements(By.CSS_SELECTOR, "[data-testid=stat]"),
             message="not every panel drew")
        idle(browser)
        assert panels_in_page(browser) == ["cpu", "lat", "req", "avg", "state", "sizes"]
        assert "avg of 2" in browser.find_element(By.CSS_SELECTOR, "[data-panel=avg] .legend-item").text
        shot(browser, "dashboard")
    finally:
        browser.set_window_size(1440, 900)
