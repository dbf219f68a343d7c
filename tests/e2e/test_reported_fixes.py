"""The fourteen problems a new user found (issue 16), one test each, in a real Chromium against the real stack.

Each test failed before its fix (the note at /work/notes/dashboard.md says which ones were seen failing first).
"""
import re
import time
import uuid
from contextlib import contextmanager
from urllib.parse import parse_qs, quote, urlencode, urlparse

import pytest
from e2e_support import MINUTE, idle, main_chart, wait, window
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select

pytestmark = pytest.mark.e2e

HOSTS = [f"host-{i:02d}" for i in range(1, 24)]
LONG = "a-very-long-host-name-that-goes-on-" * 5


@pytest.fixture(scope="module")
def extra(api, data):
    """Series the fixes need beyond the shared set: a spike, 23 hosts, a long label value, two label keys,
    names for search ranking, and enough fillers for the metric list to overflow."""
    p = f"x{uuid.uuid4().hex[:6]}"
    names = {"spiky": f"{p}_spiky", "fleet": f"{p}_fleet", "long": f"{p}_long", "region": f"{p}_region",
             "exact": f"{p}cpu", "prefix": f"{p}cpu_idle", "substring": f"acc_{p}cpu"}
    names.update({f"filler{i}": f"{p}_filler_{i:02d}" for i in range(16)})
    for key, name in names.items():
        labels = ["host", "region"] if key == "region" else ["host"]
        api.post("/api/metrics", {"name": name, "type": "gauge", "unit": "%", "label_keys": labels})
    day_end = data.end
    spike_at = day_end - 7 * 3_600_000
    times = list(range(day_end - 24 * 3_600_000, day_end, 10_000))
    items = [{"name": names["spiky"], "labels": {"host": "a"}, "timestamps": times,
              "values": [100.0 if t == spike_at else 10.0 for t in times]}]
    minutes = list(range(data.start, data.end, MINUTE))
    for i, host in enumerate(HOSTS):
        items.append({"name": names["fleet"], "labels": {"host": host}, "timestamps": minutes,
                      "values": [float(10 + 3 * i + (k % 7)) for k in range(len(minutes))]})
    items.append({"name": names["long"], "labels": {"host": LONG}, "timestamps": minutes,
                  "values": [50.0 + (k % 9) for k in range(len(minutes))]})
    for host in ("a", "b"):
        for region in ("eu", "us"):
            items.append({"name": names["region"], "labels": {"host": host, "region": region},
                          "timestamps": minutes, "values": [10.0 if region == "eu" else 30.0] * len(minutes)})
    for name in (names["exact"], names["prefix"], names["substring"]):
        items.append({"name": name, "labels": {"host": "a"}, "timestamps": minutes, "values": [1.0] * len(minutes)})
    api.post("/api/write", items)
    yield {**names, "prefix_text": f"{p}cpu", "spike_at": spike_at}
    for name in names.values():
        api.request("DELETE", f"/api/metrics/{name}")


@contextmanager
def slow_network(driver, latency_ms):
    """Adds latency to every request (Chromium's network emulation), for catching loading states."""
    driver.execute_cdp_cmd("Network.enable", {})
    driver.execute_cdp_cmd("Network.emulateNetworkConditions", {
        "offline": False, "latency": latency_ms, "downloadThroughput": -1, "uploadThroughput": -1})
    try:
        yield
    finally:
        driver.execute_cdp_cmd("Network.emulateNetworkConditions", {
            "offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1})


def rect(driver, element):
    """The element's bounding client rect (left, top, right, bottom, width, height)."""
    return driver.execute_script("return arguments[0].getBoundingClientRect().toJSON()", element)


def query_of(driver):
    """The page URL's query parameters."""
    return parse_qs(urlparse(driver.current_url).query)


def hover_plot(driver, fraction):
    """Moves the pointer over the main chart at a fraction of its width and returns the tooltip."""
    overlay = main_chart(driver).find_element(By.CSS_SELECTOR, ".overlay")
    w = overlay.size["width"]
    ActionChains(driver).move_to_element_with_offset(overlay, int(w * (fraction - 0.5)), 0).perform()
    return wait(driver, lambda d: d.find_element(By.CSS_SELECTOR, ".tooltip"), message="no tooltip")


def legend_column(driver, header):
    """The legend's cells under a header ("Max", "Mean", ...), one per series."""
    heads = [th.text for th in driver.find_elements(By.CSS_SELECTOR, ".legend thead th")]
    i = heads.index(header)
    return [row.find_elements(By.CSS_SELECTOR, "td")[i].text
            for row in driver.find_elements(By.CSS_SELECTOR, ".legend tbody tr")]


def test_01_legend_max_is_the_bins_max_not_the_max_of_averages(browser, site_url, extra, data):
    url = f"{site_url}/?{urlencode({'m': extra['spiky'], 'from': data.end - 24 * 3_600_000, 'to': data.end})}"
    browser.get(url)
    main_chart(browser)
    idle(browser)
    assert legend_column(browser, "Max") == ["100 %"]
    assert legend_column(browser, "Min") == ["10 %"]


def test_02_a_zoomed_link_keeps_its_zoom_when_time_moves_on(browser, site_url, data):
    zs, ze = data.start, data.start + 30 * MINUTE
    browser.get(f"{site_url}/?{urlencode({'m': data.cpu, 'from': '-1h', 'zs': zs, 'ze': ze})}")
    svg = main_chart(browser)
    assert (int(svg.get_attribute("data-start")), int(svg.get_attribute("data-end"))) == (zs, ze)

    # zooming on a relative range writes the range it zoomed into as absolute bounds
    browser.get(f"{site_url}/?{urlencode({'m': data.cpu, 'from': '-3h'})}")
    main_chart(browser)
    idle(browser)
    overlay = browser.find_element(By.CSS_SELECTOR, "[data-testid=overview] .brush .overlay")
    w = overlay.size["width"]
    ActionChains(browser).move_to_element_with_offset(overlay, int(w * 0.1), 0).click_and_hold() \
        .move_by_offset(int(w * 0.2), 0).release().perform()
    wait(browser, lambda d: "zs" in query_of(d), message="the brush did not zoom")
    q = query_of(browser)
    assert re.fullmatch(r"\d{12,}", q["from"][0]) and re.fullmatch(r"\d{12,}", q.get("to", ["now"])[0]), q
    assert int(q["from"][0]) <= int(q["zs"][0]) < int(q["ze"][0]) <= int(q["to"][0])


def test_03_a_filter_that_matches_nothing_stays_visible_and_removable(browser, site_url, data):
    selector = data.cpu + '{host="nope"}'
    browser.get(f"{site_url}/?{urlencode({'m': selector, 'from': data.start, 'to': data.end})}")
    chip = wait(browser, lambda d: d.find_element(
        By.XPATH, f"//article[@data-metric='{data.cpu}']//button[@aria-pressed='true' and .='nope']"),
        message="the filter host=nope is not shown as a lit chip")
    chip.click()
    wait(browser, lambda d: "nope" not in d.current_url, message="clicking the chip did not remove the filter")
    main_chart(browser)


def test_04_an_unreadable_time_is_named_not_shown_as_nan(browser, site_url, data):
    browser.get(f"{site_url}/?{urlencode({'m': data.cpu, 'from': 'yesterday'})}")
    notice = wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, ".notice-error"))
    assert "from" in notice.text and "yesterday" in notice.text
    assert "NaN" not in browser.find_element(By.TAG_NAME, "body").text
    assert browser.find_element(By.CSS_SELECTOR, "input[aria-label=To]").get_attribute("value")
    assert browser.find_element(By.CSS_SELECTOR, "input[aria-label=From]").get_attribute("value")


def test_05_sorting_by_value_puts_empty_bins_last_both_ways(browser, site_url, data):
    browser.get(data.url(site_url, [data.cpu], tab="table", gran="minute"))
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "[data-testid=data-table] tbody tr"))
    idle(browser)
    for _ in ("ascending", "descending"):
        browser.find_element(By.XPATH, "//th//button[contains(., 'Value')]").click()
        values = [r.find_elements(By.CSS_SELECTOR, "td")[-1].text
                  for r in browser.find_elements(By.CSS_SELECTOR, "[data-testid=data-table] tbody tr")]
        assert "–" not in values, values


def test_06_long_label_values_stay_inside_their_boxes(browser, site_url, extra, data):
    browser.get(data.url(site_url, [extra["long"]]))
    main_chart(browser)
    idle(browser)
    panel = rect(browser, browser.find_element(By.CSS_SELECTOR, ".panel-main"))
    for cell in browser.find_elements(By.CSS_SELECTOR, ".legend td.num"):
        assert rect(browser, cell)["right"] <= panel["right"] + 0.5, "a legend figure is pushed out of the card"
    sidebar = browser.find_element(By.CSS_SELECTOR, ".sidebar")
    assert browser.execute_script("return arguments[0].scrollWidth <= arguments[0].clientWidth", sidebar)
    tip = hover_plot(browser, 0.97)
    area = rect(browser, browser.find_element(By.CSS_SELECTOR, ".panel-main .chart-area"))
    box = rect(browser, tip)
    assert area["left"] - 0.5 <= box["left"] and box["right"] <= area["right"] + 0.5, (box, area)

    browser.get(data.url(site_url, [extra["long"]], tab="table"))
    header = wait(browser, lambda d: d.find_element(By.XPATH, "//th[.//button[contains(., 'Value')]]"))
    wrap = rect(browser, browser.find_element(By.CSS_SELECTOR, ".table-wrap"))
    assert rect(browser, header)["right"] <= wrap["right"] + 0.5, "the value column is off-screen"


def test_07_the_page_works_on_a_phone_and_names_fit_at_1024(browser, site_url, data, shot):
    with window(browser, 390, 844):
        browser.get(data.url(site_url, [data.cpu]))
        svg = main_chart(browser)
        assert browser.execute_script("return document.documentElement.scrollWidth") <= 390
        box = rect(browser, svg)
        assert box["left"] >= 0 and box["right"] <= 390 and box["top"] < 844, box
        toggle = browser.find_element(By.CSS_SELECTOR, "button[aria-controls=sidebar]")
        toggle.click()
        wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, ".search input").is_displayed(),
             message="the drawer did not show the metric search")
        shot(browser, "phone_drawer")
    with window(browser, 1024, 700):
        browser.get(data.url(site_url, [data.cpu]))
        main_chart(browser)
        names = browser.find_elements(By.CSS_SELECTOR, ".browser-item .browser-name")
        assert names
        cut = [n.text for n in names if browser.execute_script(
            "return arguments[0].scrollWidth > arguments[0].clientWidth", n)]
        assert not cut, f"names cut at 1024 px: {cut[:3]}"


def test_08_twenty_three_series_get_distinct_colours_and_a_sorted_tooltip(browser, site_url, extra, data):
    browser.get(data.url(site_url, [extra["fleet"]]))
    main_chart(browser)
    idle(browser)
    colours = [s.value_of_css_property("background-color")
               for s in browser.find_elements(By.CSS_SELECTOR, ".legend tbody .swatch")]
    assert len(colours) == 23 and len(set(colours)) == 23
    tip = hover_plot(browser, 0.5)
    values = [float(r.text.split()[0]) for r in tip.find_elements(By.CSS_SELECTOR, "td.num") if r.text[:1].isdigit()]
    assert len(values) >= 5 and values == sorted(values, reverse=True)
    area = rect(browser, browser.find_element(By.CSS_SELECTOR, ".panel-main .chart-area"))
    box = rect(browser, tip)
    assert area["top"] - 0.5 <= box["top"] and box["bottom"] <= area["bottom"] + 0.5, (box, area)


def test_09_search_ranks_exact_then_prefix_then_substring(browser, site_url, extra, data):
    browser.get(f"{site_url}/?from={data.start}&to={data.end}")
    search = wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, ".search input"))
    search.send_keys(extra["prefix_text"])
    expected = [extra["exact"], extra["prefix"], extra["substring"]]
    wait(browser, lambda d: [e.get_attribute("data-metric") for e in d.find_elements(By.CSS_SELECTOR, ".browser-item")]
         == expected, message="the list is not ranked exact, prefix, substring")
    search.send_keys(Keys.ENTER)
    wait(browser, lambda d: query_of(d).get("m") == [extra["exact"]])


def test_10_time_ticks_never_overlap_and_units_are_not_read_as_a_tick(browser, site_url, data):
    browser.get(f"{site_url}/?{urlencode({'m': data.cpu, 'from': '-30d'})}")
    svg = main_chart(browser)
    idle(browser)
    boxes = browser.execute_script(
        "return [...arguments[0].querySelectorAll('g.axis-x text')].map(t => t.getBoundingClientRect().toJSON())", svg)
    boxes.sort(key=lambda b: b["left"])
    assert all(a["right"] + 2 <= b["left"] for a, b in zip(boxes, boxes[1:])), "time tick labels overlap"
    axis = svg.find_element(By.CSS_SELECTOR, "g.axis-y")
    unit = rect(browser, axis.find_element(By.CSS_SELECTOR, ".axis-unit"))
    ticks = [rect(browser, t) for t in axis.find_elements(By.CSS_SELECTOR, ":scope > g > text")]
    assert ticks and unit["bottom"] <= min(t["top"] for t in ticks), "the unit sits beside a tick label"


def test_11_bars_of_several_series_are_grouped_side_by_side(browser, site_url, data):
    browser.get(data.url(site_url, [data.cpu], c=f"{data.cpu}:bars"))
    svg = main_chart(browser)
    idle(browser)
    spans = browser.execute_script("""
        return [...arguments[0].querySelectorAll('.series')].map(g => [...g.querySelectorAll('rect')]
          .map(r => [+r.getAttribute('x'), +r.getAttribute('x') + +r.getAttribute('width')]))""", svg)
    assert len(spans) == 2 and all(spans)
    a, b = spans
    overlaps = [(p, q) for p in a for q in b if min(p[1], q[1]) - max(p[0], q[0]) > 0.5]
    assert not overlaps, f"{len(overlaps)} bars of two series overlap, e.g. {overlaps[:2]}"


def test_12_grouping_merges_series_and_all_makes_one_line(browser, site_url, extra, data):
    browser.get(data.url(site_url, [extra["region"]]))
    main_chart(browser)
    idle(browser)
    assert len(browser.find_elements(By.CSS_SELECTOR, ".legend tbody tr")) == 4
    group = browser.find_element(By.XPATH, f"//article[@data-metric='{extra['region']}']//select[@aria-label='Combine series']")
    Select(group).select_by_value("region")
    wait(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, ".legend tbody tr")) == 2,
         message="grouping by region did not merge the hosts")
    labels = [e.text for e in browser.find_elements(By.CSS_SELECTOR, ".legend-label")]
    assert all("region=" in t and "host=" not in t for t in labels), labels
    Select(browser.find_element(By.XPATH, f"//article[@data-metric='{extra['region']}']//select[@aria-label='Combine series']")) \
        .select_by_value("*avg")
    wait(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, ".legend tbody tr")) == 1,
         message="'avg of all series' did not make one line")
    assert legend_column(browser, "Mean") == ["20 %"]
    assert "avg of 4" in browser.find_element(By.CSS_SELECTOR, ".legend-item").text


def test_13_label_values_say_loading_while_they_load(browser, site_url, data):
    browser.get("about:blank")
    with slow_network(browser, 1500):
        browser.get(data.url(site_url, [data.cpu]))
        pick = wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, f"article.pick[data-metric='{data.cpu}']"))
        text = pick.text
        assert "no values" not in text
        assert pick.find_elements(By.CSS_SELECTOR, "[role=status]"), text
    wait(browser, lambda d: d.find_elements(By.XPATH, f"//article[@data-metric='{data.cpu}']//button[.='a']"))


def test_14a_the_metric_list_has_no_scrollbar_of_its_own(browser, site_url, extra, data):
    browser.get(f"{site_url}/?from={data.start}&to={data.end}")
    wait(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, ".browser-item")) >= 20)
    lst = browser.find_element(By.CSS_SELECTOR, ".browser-list")
    assert browser.execute_script("return arguments[0].scrollHeight <= arguments[0].clientHeight + 1", lst)


def test_14b_dates_read_the_same_in_the_inputs_and_the_header(browser, site_url, data):
    browser.get(data.url(site_url, [data.cpu]))
    main_chart(browser)
    start_text = browser.find_element(By.CSS_SELECTOR, ".panel-main .panel-meta").text.split(" – ")[0]
    assert browser.find_element(By.CSS_SELECTOR, "input[aria-label=From]").get_attribute("value") == start_text


def test_14c_refresh_shows_that_it_is_working(browser, site_url, data):
    browser.get(data.url(site_url, [data.cpu]))
    main_chart(browser)
    idle(browser)
    with slow_network(browser, 1500):
        button = browser.find_element(By.CSS_SELECTOR, "button[aria-label=Refresh]")
        button.click()
        wait(browser, lambda d: "is-spinning" in button.get_attribute("class"), timeout=5,
             message="the refresh button shows no activity")
    wait(browser, lambda d: "is-spinning" not in button.get_attribute("class"))


def test_14d_the_heatmap_has_a_tooltip_a_unit_and_zoom(browser, site_url, data):
    browser.get(data.url(site_url, [data.sizes]))
    heat = wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, "[data-testid=heatmap]")
                if d.find_elements(By.CSS_SELECTOR, "[data-testid=heatmap] rect.cell") else None)
    idle(browser)
    assert heat.find_element(By.CSS_SELECTOR, ".axis-unit").text == "B"
    overlay = heat.find_element(By.CSS_SELECTOR, ".overlay")
    w = overlay.size["width"]
    ActionChains(browser).move_to_element_with_offset(overlay, 0, 0).perform()
    tip = wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, ".panel-histogram .tooltip"))
    assert " B" in tip.text
    ActionChains(browser).move_to_element_with_offset(overlay, int(-w * 0.3), 0).click_and_hold() \
        .move_by_offset(int(w * 0.3), 0).release().perform()
    wait(browser, lambda d: "zs" in query_of(d), message="dragging across the heatmap did not zoom")


def test_14e_a_counter_with_gauges_gives_one_csv(browser, site_url, api, data):
    browser.get(data.url(site_url, [data.cpu, data.requests], tab="table"))
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "[data-testid=data-table] tbody tr"))
    links = browser.find_elements(By.CSS_SELECTOR, "[data-testid=csv-link]")
    assert len(links) == 1
    href = links[0].get_attribute("href")
    text = api.get_text(urlparse(href).path + "?" + urlparse(href).query)
    assert data.cpu in text and data.requests in text


def test_14f_a_refresh_interval_and_when_it_last_updated(browser, site_url, data):
    browser.get(f"{site_url}/?{urlencode({'m': data.cpu, 'from': '-3h'})}")
    main_chart(browser)
    Select(browser.find_element(By.CSS_SELECTOR, "select[aria-label='Refresh every']")).select_by_value("5s")
    wait(browser, lambda d: query_of(d).get("refresh") == ["5s"])
    updated = browser.find_element(By.CSS_SELECTOR, "[data-testid=updated]")
    wait(browser, lambda d: re.search(r"updated \d+s ago", updated.text), message=updated.text)
    before = int(main_chart(browser).get_attribute("data-end"))
    wait(browser, lambda d: int(main_chart(d).get_attribute("data-end")) > before, timeout=20,
         message="the 5 s refresh did not move the range")
    assert quote(data.cpu) in browser.current_url


def test_share_downloads_png_and_svg_and_copies_curl_and_csv(browser, site_url, api, data, tmp_path):
    browser.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(tmp_path)})
    browser.execute_cdp_cmd("Browser.grantPermissions", {"permissions": ["clipboardReadWrite", "clipboardSanitizedWrite"],
                                                          "origin": site_url})
    browser.get(data.url(site_url, [data.cpu]))
    svg = main_chart(browser)
    idle(browser)

    def share(item, done):
        browser.find_element(By.XPATH, "//section[contains(@class,'panel-main')]//button[.='Share']").click()
        wait(browser, lambda d: d.find_element(By.XPATH, f"//button[@role='menuitem' and .='{item}']")).click()
        wait(browser, lambda d: done in d.find_element(By.CSS_SELECTOR, ".share").text, message=f"{item}: no '{done}'")

    share("SVG", "Downloaded SVG")
    share("PNG", "Downloaded PNG")
    name = data.cpu
    wait(browser, lambda d: (tmp_path / f"{name}.png").exists() and (tmp_path / f"{name}.svg").exists(),
         message="no PNG and SVG downloaded")
    assert (tmp_path / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    drawn = (tmp_path / f"{name}.svg").read_text()
    assert drawn.startswith("<svg") and drawn.count('class="line"') == 2 and "stroke:" in drawn

    clipboard = lambda: browser.execute_async_script(  # noqa: E731
        "const done = arguments[0]; navigator.clipboard.readText().then(done, e => done('ERR ' + e))")
    share("Copy curl", "Copied the curl command (set METRICS_TOKEN to an API token)")
    curl = clipboard()
    auth = 'curl -H "Authorization: Bearer $METRICS_TOKEN" '  # the pasted command reads a token (issue 26)
    assert curl == f"{auth}'{site_url}{svg.get_attribute('data-query').split()[0]}'"
    share("Copy CSV", "Copied CSV")
    url = svg.get_attribute("data-query").split()[0]
    assert clipboard() == api.get_text(url + "&format=csv")


def test_times_show_in_utc_or_local_time_and_the_switch_is_in_the_url(browser, site_url, data):
    browser.get(data.url(site_url, [data.cpu], tz="utc"))
    main_chart(browser)
    expected = time.strftime("%Y-%m-%d %H:%M", time.gmtime(data.start / 1000))
    assert browser.find_element(By.CSS_SELECTOR, "input[aria-label=From]").get_attribute("value") == expected
    assert browser.find_element(By.CSS_SELECTOR, ".panel-main .panel-meta").text.startswith(expected)
    switch = browser.find_element(By.CSS_SELECTOR, "[data-testid=tz]")
    assert switch.text == "UTC"
    switch.click()
    wait(browser, lambda d: "tz=" not in d.current_url)
    main_chart(browser)
    local = browser.execute_script(
        "const d = new Date(arguments[0]), p = n => String(n).padStart(2, '0');"
        "return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`",
        data.start)
    assert browser.find_element(By.CSS_SELECTOR, "input[aria-label=From]").get_attribute("value") == local
    queries = browser.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name).filter(n => n.includes('/api/query?'))")
    assert any("tz=UTC" in q for q in queries)


def test_keyboard_shortcuts_and_the_dark_theme(browser, site_url, data):
    browser.get(data.url(site_url, [data.cpu]))
    main_chart(browser)
    body = browser.find_element(By.TAG_NAME, "body")
    body.send_keys("/")
    wait(browser, lambda d: d.switch_to.active_element.get_attribute("aria-label") == "Search metrics",
         message="'/' did not focus the search")
    browser.switch_to.active_element.send_keys(Keys.ESCAPE)
    browser.execute_script("document.activeElement.blur()")
    body.send_keys(Keys.ARROW_LEFT)
    wait(browser, lambda d: query_of(d).get("to") == [str(data.end - (data.end - data.start) // 2)],
         message="← did not pan back half a view")
    body.send_keys("-")
    wait(browser, lambda d: int(query_of(d)["to"][0]) - int(query_of(d)["from"][0]) == 2 * (data.end - data.start),
         message="- did not zoom out twice")
    focus = browser.execute_script("""
        const b = document.querySelector('button[aria-label=Refresh]'); b.focus();
        return getComputedStyle(b).outlineStyle + ' ' + getComputedStyle(b).outlineWidth""")
    assert focus.startswith("solid") and not focus.endswith(" 0px"), focus

    switch = browser.find_element(By.CSS_SELECTOR, ".theme-switch")
    while "dark" not in switch.get_attribute("aria-label").split(" (")[0]:
        switch.click()
    assert browser.execute_script("return document.documentElement.dataset.theme") == "dark"
    background = browser.execute_script("return getComputedStyle(document.querySelector('.panel')).backgroundColor")
    assert background == "rgb(23, 28, 36)", background
    browser.get(browser.current_url)  # the choice is kept
    assert browser.execute_script("return document.documentElement.dataset.theme") == "dark"
    browser.execute_script("localStorage.removeItem('metrics_server.theme')")
