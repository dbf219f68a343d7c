"""The dashboard in a real Chromium against the real stack: axes per unit, gaps, brush, table, CSV, types."""
import json
from urllib.parse import parse_qs, quote, urlencode, urlparse

import pytest
from e2e_support import GAP, MINUTE, idle, main_chart, segments, wait
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select

pytestmark = pytest.mark.e2e

AGG_SELECT = "//label[span[.='Agg']]/select"


def test_two_units_draw_two_labelled_axes(browser, site_url, data, shot):
    browser.get(data.url(site_url, [data.cpu, data.latency]))
    main_chart(browser)
    idle(browser)
    axes = browser.find_elements(By.CSS_SELECTOR, "svg[data-testid=main-chart] g.axis-y")
    labels = {a.get_attribute("data-unit"): (a.get_attribute("data-side"),
                                             a.find_element(By.CSS_SELECTOR, ".axis-unit").text) for a in axes}
    assert labels == {"%": ("left", "%"), "ms": ("right", "ms")}
    # each axis line in its series' colour; the unit above it in the text colour (4.5:1, issue 26)
    colours = {a.find_element(By.CSS_SELECTOR, ".axis-line").value_of_css_property("stroke") for a in axes}
    assert len(colours) == 2
    shot(browser, "two_axes")
    series = lambda: browser.find_elements(By.CSS_SELECTOR, "svg[data-testid=main-chart] .series")  # noqa: E731
    assert len(series()) == 4
    # a click shows only that series, the same click all again; ctrl-click hides one
    toggle = browser.find_element(By.CSS_SELECTOR, ".legend .legend-item")
    toggle.click()
    wait(browser, lambda d: len(series()) == 1, message="clicking a legend entry did not show it alone")
    toggle.click()
    wait(browser, lambda d: len(series()) == 4)
    ActionChains(browser).key_down(Keys.CONTROL).click(toggle).key_up(Keys.CONTROL).perform()
    wait(browser, lambda d: len(series()) == 3, message="ctrl-click in the legend did not hide the series")
    assert toggle.get_attribute("aria-pressed") == "false"


def test_gap_in_data_is_gap_in_path(browser, site_url, data, shot):
    browser.get(data.url(site_url, [f'{data.cpu}{{host="a"}}']))
    svg = main_chart(browser)
    idle(browser)
    d = svg.find_element(By.CSS_SELECTOR, ".series path.line").get_attribute("d")
    assert d.count("M") >= 2
    width = float(svg.get_attribute("data-width"))
    start, end = float(svg.get_attribute("data-start")), float(svg.get_attribute("data-end"))
    gap_mid = data.start + (GAP[0] + GAP[1]) / 2 * MINUTE
    x = (gap_mid - start) / (end - start) * width
    assert not any(lo < x < hi for lo, hi in segments(d)), "a line crosses the hole in the data"
    shot(browser, "gap")


def test_brushing_the_overview_zooms_and_requeries(browser, site_url, data, shot):
    browser.get(data.url(site_url, [data.cpu, data.latency]))
    svg = main_chart(browser)
    idle(browser)
    before = (int(svg.get_attribute("data-start")), int(svg.get_attribute("data-end")))
    assert before == (data.start, data.end)
    overlay = browser.find_element(By.CSS_SELECTOR, "[data-testid=overview] .brush .overlay")
    w = overlay.size["width"]
    ActionChains(browser).move_to_element_with_offset(overlay, int(-w * 0.25), 0).click_and_hold() \
        .move_by_offset(int(w * 0.15), 0).move_by_offset(int(w * 0.15), 0).release().perform()
    wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, "svg[data-testid=main-chart]")
         .get_attribute("data-start") != str(before[0]), message="the brush did not change the range")
    idle(browser)
    svg = main_chart(browser)
    start, end = int(svg.get_attribute("data-start")), int(svg.get_attribute("data-end"))
    assert before[0] < start < end < before[1]
    assert 0.2 < (end - start) / (before[1] - before[0]) < 0.4
    assert "zs=" in browser.current_url and "ze=" in browser.current_url
    width = svg.get_attribute("data-width")
    sent = browser.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name).filter(n => n.includes('/api/query?'))")
    zoomed = [parse_qs(urlparse(u).query) for u in sent]
    assert any(q.get("start") == [str(start)] and q.get("end") == [str(end)] and q.get("width") == [width]
               for q in zoomed), sent
    shot(browser, "brushed")

    # dragging across the main chart zooms further; a double-click zooms back out to the whole period
    overlay = svg.find_element(By.CSS_SELECTOR, ".overlay")
    w = overlay.size["width"]
    ActionChains(browser).move_to_element_with_offset(overlay, int(-w * 0.2), 0).click_and_hold() \
        .move_by_offset(int(w * 0.2), 0).move_by_offset(int(w * 0.2), 0).release().perform()
    wait(browser, lambda d: int(main_chart(d).get_attribute("data-start")) > start, message="drag did not zoom")
    inner = int(main_chart(browser).get_attribute("data-end")) - int(main_chart(browser).get_attribute("data-start"))
    assert inner < (end - start) * 0.6
    ActionChains(browser).double_click(main_chart(browser).find_element(By.CSS_SELECTOR, ".overlay")).perform()
    wait(browser, lambda d: int(main_chart(d).get_attribute("data-start")) == data.start,
         message="double-click did not zoom out")
    assert "zs=" not in browser.current_url


def test_table_shows_the_rows_of_the_view(browser, site_url, api, data, shot):
    browser.get(data.url(site_url, [data.cpu, data.latency], tab="table", gran="minute"))
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "[data-testid=data-table] tbody tr"))
    idle(browser)
    query = urlencode([("metric", data.cpu), ("metric", data.latency), ("start", data.start), ("end", data.end),
                       ("granularity", "minute"), ("agg", "avg")])
    expected = api.get_json(f"/api/query?{query}")
    total = sum(len(s["points"]) for s in expected["series"])
    assert total > 0
    pager = browser.find_element(By.CSS_SELECTOR, ".pager").text
    assert f"{total:,} rows" in pager
    rows = browser.find_elements(By.CSS_SELECTOR, "[data-testid=data-table] tbody tr")
    assert len(rows) == min(50, total)
    assert any(data.cpu in r.text or data.latency in r.text for r in rows)
    browser.find_element(By.XPATH, "//th//button[contains(., 'Value')]").click()
    values = [r.find_elements(By.CSS_SELECTOR, "td")[-1].text for r in
              browser.find_elements(By.CSS_SELECTOR, "[data-testid=data-table] tbody tr")]
    numbers = [float(v.split()[0].replace(",", "")) for v in values if v not in ("–", "")]
    assert numbers == sorted(numbers)
    shot(browser, "table")


def test_download_csv_is_the_apis_csv(browser, site_url, api, data):
    browser.get(data.url(site_url, [data.cpu, data.latency], tab="table"))
    link = wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, "[data-testid=csv-link]"))
    href = link.get_attribute("href")
    q = parse_qs(urlparse(href).query)
    assert q["metric"] == [data.cpu, data.latency]
    assert (q["start"], q["end"], q["granularity"], q["format"]) == ([str(data.start)], [str(data.end)], ["auto"], ["csv"])
    downloaded = browser.execute_async_script(
        "const done = arguments[arguments.length - 1]; fetch(arguments[0]).then(r => r.text()).then(done)", href)
    direct = api.get_text(urlparse(href).path + "?" + urlparse(href).query)
    assert downloaded == direct
    header = downloaded.splitlines()[0]
    assert header.startswith('"timestamp","metric"') and header.endswith('"value"')  # every field quoted
    assert len(downloaded.splitlines()) > 10


def test_keyboard_picks_a_metric_and_the_url_restores_the_view(browser, site_url, data):
    browser.get(f"{site_url}/?from={data.start}&to={data.end}")
    search = wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, ".search input"))
    search.send_keys(data.latency)
    wait(browser, lambda d: [e.get_attribute("data-metric") for e in d.find_elements(By.CSS_SELECTOR, ".browser-item")]
         == [data.latency], message="the search did not narrow the list")
    search.send_keys(Keys.ENTER)
    wait(browser, lambda d: "m=" + quote(data.latency) in d.current_url, message="Enter did not pick the metric")
    main_chart(browser)
    Select(browser.find_element(By.XPATH, AGG_SELECT)).select_by_value("max")
    wait(browser, lambda d: "agg=max" in d.current_url)
    browser.find_element(By.XPATH, "//button[@role='tab' and .='Table']").click()
    wait(browser, lambda d: "tab=table" in d.current_url)
    url = browser.current_url
    browser.get("about:blank")
    browser.get(url)
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "[data-testid=data-table] tbody tr"))
    assert browser.find_element(By.XPATH, "//button[@role='tab' and .='Table']").get_attribute("aria-selected") == "true"
    agg = browser.find_element(By.XPATH, AGG_SELECT)
    assert agg.get_attribute("value") == "max"
    picked = browser.find_elements(By.CSS_SELECTOR, ".pick")
    assert [p.get_attribute("data-metric") for p in picked] == [data.latency]


def test_enum_pie_and_histogram_heatmap(browser, site_url, data, shot):
    browser.get(data.url(site_url, [data.state, data.sizes]))
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, ".panel-enum .pie svg path"), message="no pie")
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "[data-testid=heatmap] rect"), message="no heatmap")
    idle(browser)
    slices = browser.find_elements(By.CSS_SELECTOR, ".panel-enum .pie svg path")
    assert len(slices) == 3
    legend = browser.find_element(By.CSS_SELECTOR, ".state-legend").text
    assert "running" in legend and "idle" in legend and "failed" in legend
    assert browser.find_elements(By.CSS_SELECTOR, "[data-testid=heatmap] .quantile-line")
    shot(browser, "types")


def test_api_errors_are_shown_in_place(browser, site_url, api, data):
    missing = f"{data.cpu}_missing"
    browser.get(data.url(site_url, [missing]))
    notice = wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, ".panel-main .notice-error .error-message"))
    status, body = api.request("GET", "/api/query?" + urlencode({"metric": missing, "start": data.start,
                                                                   "end": data.end, "width": 500}))
    assert status >= 400
    assert json.loads(body)["error"] in notice.text


def test_empty_range_says_so(browser, site_url, data):
    day = 24 * 60 * MINUTE
    browser.get(f"{site_url}/?m={quote(data.cpu)}&from={data.start - day}&to={data.start - day + 3_600_000}")
    empty = wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, ".panel-main .chart-empty"))
    assert "No data in this range" in empty.text


def test_dashboard_screenshot(browser, site_url, data, shot):
    """Three units, a zoomed range and the overview: the picture for the docs."""
    zs, ze = data.start + 20 * MINUTE, data.end - 15 * MINUTE
    browser.get(data.url(site_url, [data.cpu, data.latency, data.requests], zs=zs, ze=ze))
    svg = main_chart(browser)
    idle(browser)
    assert len(svg.find_elements(By.CSS_SELECTOR, "g.axis-y")) == 3
    assert browser.find_element(By.CSS_SELECTOR, "[data-testid=overview] .brush .selection").get_attribute("width")
    rect = svg.find_element(By.CSS_SELECTOR, ".overlay").rect
    ActionChains(browser).move_to_element_with_offset(
        svg.find_element(By.CSS_SELECTOR, ".overlay"), int(rect["width"] * 0.12), 0).perform()
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, ".tooltip"))
    shot(browser, "dashboard")
