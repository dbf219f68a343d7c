"""The Alerts page in Chromium against the live stack (whose instances evaluate): a firing alert listed with its
value and counted in the header, the rule form writing the PromQL, its backtest drawn with bands and lines,
the rule saved, and the alert's interval drawn as a band on the metric's chart (toggleable)."""
import json
import time
import uuid

import pytest
from e2e_support import wait
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

pytestmark = pytest.mark.e2e


@pytest.fixture
def firing(api):
    """A gauge at 20 for the last 20 minutes and a rule over it (interval 1 s) that fires at once."""
    metric = f"alerts_e2e_{uuid.uuid4().hex[:8]}"
    now = int(time.time() * 1000)
    status, text = api.request("POST", "/api/write", [
        {"name": metric, "labels": {"host": "web-1"}, "value": 20.0 if i >= 20 else 1.0, "timestamp": now - (80 - i) * 15_000}
        for i in range(81)])
    assert status == 201, text
    group = f"e2e_{uuid.uuid4().hex[:8]}"
    status, text = api.request("PUT", f"/api/alerts/rules/{group}", {
        "interval": "1s", "rules": [{"alert": "E2eHigh", "expr": f"{metric} > 10",
                                     "annotations": {"summary": "{{ $labels.host }} at {{ $value }}"}}]})
    assert status == 201, text
    yield metric
    for name in (group, "dashboard"):
        api.request("DELETE", f"/api/alerts/rules/{name}")


def test_alerts_tab_lists_the_firing_alert_and_the_form_backtests_and_saves_a_rule(browser, site_url, api, firing,
                                                                                   shot):
    metric = firing
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and not any(a["rule"] == "E2eHigh" for a in api.get_json("/api/alerts")["alerts"]):
        time.sleep(0.5)
    browser.get(f"{site_url}/?page=alerts")
    row = wait(browser, lambda d: next((r for r in d.find_elements(By.CSS_SELECTOR, ".alerts-table tbody tr")
                                        if "E2eHigh" in r.text), None), 60, "the firing alert is not listed")
    assert "firing" in row.text.lower() and "host=web-1" in row.text and "20.00" in row.text
    assert row.find_element(By.LINK_TEXT, "chart").get_attribute("href").count(f"m={metric}") == 1
    count = browser.find_element(By.CSS_SELECTOR, ".firing-count")
    assert int(count.text.split()[0]) >= 1 and "is-firing" in count.get_attribute("class")

    form = browser.find_element(By.CSS_SELECTOR, "form.rule-editor")
    form.find_element(By.NAME, "alert").send_keys("E2eForm")
    wait(browser, lambda d: metric in [o.get_attribute("value") for o in
                                       d.find_elements(By.CSS_SELECTOR, "select[name=metric] option")], 30,
         "the metric is not offered")
    Select(form.find_element(By.NAME, "metric")).select_by_value(metric)
    form.find_element(By.NAME, "threshold").send_keys("10")
    form.find_element(By.NAME, "recovery").send_keys("8")
    promql = form.find_element(By.CSS_SELECTOR, "pre.promql").text
    assert promql == (f"avg_over_time({metric}[2m]) > 10\n"
                      f"keep firing while avg_over_time({metric}[2m]) > 8")
    form.find_element(By.XPATH, ".//button[contains(., 'Backtest')]").click()
    summary = wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, ".backtest-summary"), 60,
                   "no backtest result")[0]
    assert "1 firing" in summary.text, summary.text
    chart = browser.find_element(By.CSS_SELECTOR, ".backtest-chart svg")
    assert chart.find_elements(By.CSS_SELECTOR, "rect.band-firing") and chart.find_elements(By.CSS_SELECTOR, "path.backtest-line")
    assert chart.find_elements(By.CSS_SELECTOR, "line.threshold") and chart.find_elements(By.CSS_SELECTOR, "line.recovery")
    shot(browser, "alerts")

    form.find_element(By.XPATH, ".//button[contains(., 'Save')]").click()
    wait(browser, lambda d: "Saved E2eForm" in d.find_element(By.CSS_SELECTOR, ".rule-actions").text, 30, "not saved")
    saved = json.loads(api.get_text("/api/alerts/rules/dashboard"))
    (rule,) = [r for r in saved["rules"] if r["alert"] == "E2eForm"]
    assert rule["keep_firing_while"] == f"avg_over_time({metric}[2m]) > 8"

    # the chart of the metric shows the firing interval as a band, which the toggle hides
    browser.find_element(By.LINK_TEXT, "chart").click()
    chart = wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "svg[data-testid=main-chart] rect.alert-band-firing"),
                 60, "no alert band on the chart")
    assert float(chart[0].get_attribute("width")) > 0
    browser.find_element(By.CSS_SELECTOR, ".alert-toggle input").click()
    wait(browser, lambda d: not d.find_elements(By.CSS_SELECTOR, "rect.alert-band"), 10, "the toggle left the bands")
