"""Issue 26, fourth round: the low defects left, multi-value variables and a version history, in a real Chromium
against the real stack. Each defect's test failed before its fix."""
import csv
import io
import json
import uuid
from urllib.parse import parse_qs, urlencode, urlparse

import pytest
from e2e_support import MINUTE, account_action, idle, main_chart, wait
from selenium.webdriver.common.by import By

pytestmark = pytest.mark.e2e

HOSTS = [f"h{i}" for i in range(1, 10)]


@pytest.fixture(scope="module")
def fleet(api, data):
    """A gauge with nine hosts (constant, distinct values) and an enum of two services, over the data's range."""
    names = {"load": f"x{uuid.uuid4().hex[:6]}_load", "phase": f"x{uuid.uuid4().hex[:6]}_phase"}
    api.post("/api/metrics", {"name": names["load"], "type": "gauge", "unit": "", "label_keys": ["host"]})
    api.post("/api/metrics", {"name": names["phase"], "type": "enum", "label_keys": ["service"]})
    minutes = list(range(data.start, data.end, MINUTE))
    api.post("/api/write", [{"name": names["load"], "labels": {"host": h}, "timestamps": minutes,
                             "values": [float(i)] * len(minutes)} for i, h in enumerate(HOSTS, 1)])
    for service in ("api", "web"):
        api.post("/api/write", [{"name": names["phase"], "labels": {"service": service}, "timestamp": t,
                                 "state": "up" if (t // MINUTE) % 3 else "down"} for t in minutes])
    yield names
    for name in names.values():
        api.request("DELETE", f"/api/metrics/{name}")


def open_dashboard(browser, site_url, dash_id):
    browser.get(f"{site_url}/?{urlencode({'d': dash_id})}")
    return wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, "[data-testid=dashboard]"), message="no dashboard")


def test_importing_a_dashboard_whose_title_exists_imports_it_under_a_numbered_title(browser, site_url, api, created,
                                                                                     tmp_path):
    title = f"e2e import {uuid.uuid4().hex[:8]}"
    created.append(api.post("/api/dashboards", {"title": title})["id"])
    exported = tmp_path / "board.json"
    exported.write_text(json.dumps({"title": title, "panels": []}))
    browser.get(f"{site_url}/?page=dashboards")
    wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, "[data-testid=dashboard-list]"))
    browser.find_element(By.CSS_SELECTOR, "input[type=file]").send_keys(str(exported))
    board = wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, "[data-testid=dashboard]"), message="not opened")
    created.append(parse_qs(urlparse(browser.current_url).query)["d"][0])
    field = board.find_element(By.CSS_SELECTOR, "input[aria-label='Dashboard title']")
    assert field.get_attribute("value") == f"{title} (2)"
    note = wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, "[data-testid=imported-note]"))
    assert f"“{title}” exists" in note.text
    titles = sorted(d["title"] for d in api.get_json(f"/api/dashboards?{urlencode({'search': title})}"))
    assert titles == [title, f"{title} (2)"]


def test_explores_parameters_stay_on_explore_and_come_back_with_it(browser, site_url, data):
    browser.get(data.url(site_url, [data.cpu], g=f"{data.cpu}:host", agg="max", tab="table"))
    wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, "[data-testid=csv-link]"))
    for page in ("Dashboards", "Alerts"):
        browser.find_element(By.XPATH, f"//nav[@aria-label='Pages']//a[.='{page}']").click()
        wait(browser, lambda d, p=page: f"page={p.lower()}" in d.current_url)
        left = parse_qs(urlparse(browser.current_url).query)
        assert not {"m", "g", "agg", "tab"} & set(left), (page, left)
    browser.find_element(By.XPATH, "//nav[@aria-label='Pages']//a[.='Explore']").click()
    back = wait(browser, lambda d: parse_qs(urlparse(d.current_url).query).get("m") and
                parse_qs(urlparse(d.current_url).query), message="Explore lost its picks")
    assert back["m"] == [data.cpu] and back["g"] == [f"{data.cpu}:host"] and back["agg"] == ["max"]


def test_the_user_menu_is_on_screen_at_1440_by_900(browser, site_url, data):
    browser.get(data.url(site_url, [data.cpu, data.latency]))
    main_chart(browser)
    idle(browser)
    menu = browser.find_element(By.CSS_SELECTOR, "nav[aria-label=Account]")
    rect = browser.execute_script("return arguments[0].getBoundingClientRect().toJSON()", menu)
    assert 0 <= rect["top"] and rect["bottom"] <= browser.execute_script("return innerHeight"), rect
    brand = browser.execute_script("return document.querySelector('.topbar .brand').getBoundingClientRect().toJSON()")
    assert rect["top"] < brand["bottom"], ("the top bar wrapped the menu onto a second row", rect, brand)
    account_action(browser, "Settings")
    wait(browser, lambda d: "page=settings" in d.current_url, message="Settings did not open")


def test_a_solo_series_takes_the_axes_of_hidden_units_away(browser, site_url, data):
    browser.get(data.url(site_url, [data.cpu, data.latency]))
    svg = main_chart(browser)
    idle(browser)
    units = lambda: sorted(a.get_attribute("data-unit") for a in svg.find_elements(By.CSS_SELECTOR, ".axis-y"))  # noqa: E731
    assert units() == ["%", "ms"]
    key = f"{data.cpu}{{host=a}}"
    browser.find_element(By.CSS_SELECTOR, f".panel-main .legend tr[data-key='{key}'] .legend-item").click()
    wait(browser, lambda d: len(svg.find_elements(By.CSS_SELECTOR, ".series")) == 1)
    assert units() == ["%"]
    domain = [float(v) for v in svg.find_element(By.CSS_SELECTOR, ".axis-y").get_attribute("data-domain").split(",")]
    assert domain != [0.0, 1.0] and domain[1] > 40


def test_the_first_series_keeps_its_colour_when_a_ninth_is_added(browser, site_url, data, fleet):
    def colours(hosts):
        selector = fleet["load"] + "{" + ",".join(f'host="{h}"' for h in hosts) + "}"
        browser.get(f"{site_url}/?{urlencode({'m': selector, 'from': data.start, 'to': data.end})}")
        svg = main_chart(browser)
        wait(browser, lambda d: len(svg.find_elements(By.CSS_SELECTOR, ".series")) == len(hosts))
        return {g.get_attribute("data-key").split("=")[1].rstrip("}"):
                g.find_element(By.CSS_SELECTOR, ".line").get_attribute("stroke")
                for g in svg.find_elements(By.CSS_SELECTOR, ".series")}

    eight, nine = colours(HOSTS[:8]), colours(HOSTS)
    assert {h: nine[h] for h in HOSTS[:8]} == eight
    assert len(set(nine.values())) == 9


def test_the_pie_says_it_adds_the_time_of_several_series(browser, site_url, api, data, fleet, created):
    dash = api.post("/api/dashboards", {
        "title": f"e2e {uuid.uuid4().hex[:8]}", "time": {"from": str(data.start), "to": str(data.end)},
        "panels": [{"id": "all", "title": "all", "metrics": [{"name": fleet["phase"], "filters": {}}], "chart": "pie"},
                   {"id": "one", "title": "one", "metrics": [{"name": fleet["phase"], "filters": {"service": ["api"]}}],
                    "chart": "pie"}]})
    created.append(dash["id"])
    open_dashboard(browser, site_url, dash["id"])
    note = wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, "[data-panel=all] [data-testid=pie-sum]"),
                message="the pie does not say it adds series")
    assert note.text == "Time added over 2 series (service: api, web)"
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "[data-panel=one] .pie svg"))
    assert not browser.find_elements(By.CSS_SELECTOR, "[data-panel=one] [data-testid=pie-sum]")


def test_copy_csv_of_a_grouped_metric_beside_another_pastes_one_table(browser, site_url, api, data):
    browser.execute_cdp_cmd("Browser.grantPermissions", {"permissions": ["clipboardReadWrite", "clipboardSanitizedWrite"],
                                                          "origin": site_url})
    browser.get(data.url(site_url, [data.cpu, data.latency], g=f"{data.cpu}:host"))
    svg = main_chart(browser)
    idle(browser)
    assert len(svg.get_attribute("data-query").split()) == 2  # a grouped metric needs a request of its own
    browser.find_element(By.XPATH, "//section[contains(@class,'panel-main')]//button[.='Share']").click()
    wait(browser, lambda d: d.find_element(By.XPATH, "//button[@role='menuitem' and .='Copy CSV']")).click()
    wait(browser, lambda d: "Copied CSV" in d.find_element(By.CSS_SELECTOR, ".share").text)
    text = browser.execute_async_script(
        "const done = arguments[0]; navigator.clipboard.readText().then(done, e => done('ERR ' + e))")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["timestamp", "metric", "host", "value"], rows[:2]
    assert sum(r[:1] == ["timestamp"] for r in rows) == 1
    parts = [list(csv.reader(io.StringIO(api.get_text(u + "&format=csv")))) for u in svg.get_attribute("data-query").split()]
    assert len(rows) == 1 + sum(len(p) - 1 for p in parts)
    assert {r[1] for r in rows[1:]} == {data.cpu, data.latency}


def panel_hosts(browser):
    """The hosts the dashboard's one line panel draws, once it has drawn."""
    svg = wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, "svg[data-testid=panel-chart]")
               if d.find_elements(By.CSS_SELECTOR, "svg[data-testid=panel-chart] .series") else None)
    return sorted(g.get_attribute("data-key").split("=")[1].rstrip("}") for g in svg.find_elements(By.CSS_SELECTOR, ".series"))


def test_a_multi_value_variable_shows_every_chosen_value_and_keeps_them_in_the_url(browser, site_url, api, data, fleet,
                                                                                   created):
    dash = api.post("/api/dashboards", {
        "title": f"e2e {uuid.uuid4().hex[:8]}", "time": {"from": str(data.start), "to": str(data.end)},
        "variables": [{"name": "host", "metric": fleet["load"], "label": "host", "multi": True}],
        "panels": [{"id": "p", "title": "load", "metrics": [{"name": fleet["load"], "filters": {"host": ["$host"]}}]}]})
    created.append(dash["id"])
    assert dash["variables"][0]["multi"] is True
    browser.get(f"{site_url}/?{urlencode([('d', dash['id']), ('var-host', 'h1'), ('var-host', 'h3')])}")
    wait(browser, lambda d: panel_hosts(d) == ["h1", "h3"], message="the panel does not show h1 and h3")
    picker = browser.find_element(By.CSS_SELECTOR, "details.var-multi[data-variable=host]")
    assert picker.find_element(By.CSS_SELECTOR, "summary").text.endswith("h1, h3")
    picker.find_element(By.CSS_SELECTOR, "summary").click()
    wait(browser, lambda d: len(picker.find_elements(By.CSS_SELECTOR, "input[type=checkbox]")) == 9)
    picker.find_element(By.XPATH, ".//label[normalize-space()='h5']/input").click()
    wait(browser, lambda d: panel_hosts(d) == ["h1", "h3", "h5"], message="ticking h5 did not add it")
    assert parse_qs(urlparse(browser.current_url).query)["var-host"] == ["h1", "h3", "h5"]
    picker.find_element(By.XPATH, ".//button[.='All']").click()
    wait(browser, lambda d: panel_hosts(d) == HOSTS, message="no value chosen should show all")


def test_the_history_lists_each_save_and_restores_one_as_a_new_version(browser, site_url, api, created):
    first = api.post("/api/dashboards", {"title": f"e2e history {uuid.uuid4().hex[:8]}"})
    created.append(first["id"])
    path = f"/api/dashboards/{first['id']}"
    status, text = api.request("PUT", path, {**first, "title": first["title"] + " renamed"})
    assert status == 200, text
    second = json.loads(text)
    status, text = api.request("PUT", path, {**second, "description": "third save"})
    assert status == 200, text
    open_dashboard(browser, site_url, first["id"])
    browser.find_element(By.XPATH, "//button[.='History']").click()
    table = wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, "[data-testid=history] tbody"))
    wait(browser, lambda d: len(table.find_elements(By.CSS_SELECTOR, "tr")) == 3, message="not three versions")
    assert [r.get_attribute("data-version") for r in table.find_elements(By.CSS_SELECTOR, "tr")] == ["3", "2", "1"]
    assert "shown" in table.find_element(By.CSS_SELECTOR, "tr[data-version='3']").text
    table.find_element(By.CSS_SELECTOR, "tr[data-version='1'] button").click()
    wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, "[data-testid=save-state]").text
         == "Restored version 1 as version 4", message="no restore note")
    field = browser.find_element(By.CSS_SELECTOR, "input[aria-label='Dashboard title']")
    assert field.get_attribute("value") == first["title"]
    now = api.get_json(path)
    assert (now["version"], now["title"], now["description"]) == (4, first["title"], "")
    assert [v["version"] for v in api.get_json(path + "/versions")] == [4, 3, 2, 1]
    status, text = api.request("POST", path + "/restore", {"restore": 2, "version": 3})
    assert status == 409 and "version 4" in text, text
    status, text = api.request("POST", path + "/restore", {"restore": "2", "version": 4})
    assert status == 400 and "restore" in text, text
    assert api.request("POST", path + "/restore", {"restore": 99, "version": 4})[0] == 404
