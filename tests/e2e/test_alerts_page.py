"""The Alerts page in Chromium against the live stack (whose instances evaluate): a firing alert listed with its
value and counted in the header, the rule form writing the PromQL, its backtest drawn with bands and lines,
the rule saved, and the alert's interval drawn as a band on the metric's chart (toggleable); rules edited (the
backtest on the edited version), duplicated, disabled and deleted, with the group's history of changes."""
import json
import re
import time
import uuid

import pytest
import requests
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


def as_user(site_url: str, name: str, password: str):
    """A request function signed in as a user (session cookie and CSRF token), as the page sends them."""
    session = requests.Session()
    answer = session.post(f"{site_url}/api/auth/login", json={"username": name, "password": password}, timeout=30)
    assert answer.status_code == 200, answer.text
    session.headers["X-CSRF-Token"] = answer.json()["csrf_token"]
    return lambda method, path, body=None: session.request(method, site_url + path, json=body, timeout=60)


@pytest.fixture
def managed(api, site_url, viewer):
    """A group of two rules to manage in the page, saved by the page's own user (a group is changed only by whoever
    saved it or an admin): a builder rule over a gauge and a hand-written one."""
    metric = f"alerts_manage_{uuid.uuid4().hex[:8]}"
    now = int(time.time() * 1000)
    status, text = api.request("POST", "/api/write", [
        {"name": metric, "labels": {"host": "web-1"}, "value": 20.0 if i % 40 >= 20 else 1.0,
         "timestamp": now - (480 - i) * 45_000} for i in range(481)])
    assert status == 201, text
    group = f"manage_{uuid.uuid4().hex[:8]}"
    saved = as_user(site_url, *viewer)("PUT", f"/api/alerts/rules/{group}", {"interval": "1m", "rules": [
        {"alert": "Built", "expr": f"avg_over_time({metric}[2m]) > 10", "labels": {"team": "ops"}},
        {"alert": "Written", "expr": f"max by (host) ({metric}) >= 15", "for": "2m"}]})
    assert saved.status_code == 201, saved.text
    yield group, metric
    api.request("DELETE", f"/api/alerts/rules/{group}")


def rule_row(browser, name: str):
    return wait(browser, lambda d: next((r for r in d.find_elements(By.CSS_SELECTOR, ".rules-table tbody tr")
                                         if r.find_elements(By.TAG_NAME, "td")[1].text == name), None),
                30, f"rule {name} is not listed")


def test_rules_are_edited_disabled_duplicated_and_deleted_in_the_page_with_their_history(browser, site_url, api,
                                                                                           managed, shot):
    group, metric = managed
    browser.get(f"{site_url}/?page=alerts&tz=utc")
    form = wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "form.rule-editor"), 30, "no rule form")[0]
    assert not form.find_elements(By.CSS_SELECTOR, ".field-error"), "errors before anything was typed"
    form.find_element(By.XPATH, ".//button[contains(., 'Save')]").click()
    assert "a name is required" in form.text  # shown once a save is tried

    # edit the hand-written rule: its expression, then a backtest of the edited version, then save
    rule_row(browser, "Written").find_element(By.XPATH, ".//button[.='Edit']").click()
    form = wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "form.rule-editor[aria-label='Edit Written']"),
                10, "the editor did not open the rule")[0]
    expr = form.find_element(By.NAME, "expr")
    assert expr.get_attribute("value") == f"max by (host) ({metric}) >= 15"
    expr.clear()
    expr.send_keys(f"max by (host) ({metric}) >= 5")
    form.find_element(By.XPATH, ".//button[contains(., 'Backtest')]").click()
    summary = wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, ".backtest-summary"), 60, "no backtest")[0]
    assert "firing" in summary.text, summary.text
    times = [li.text for li in browser.find_elements(By.CSS_SELECTOR, ".transitions li")]
    assert times and all(re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d", t) for t in times), times
    form.find_element(By.XPATH, ".//button[contains(., 'Save')]").click()
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "form.rule-editor[aria-label='New rule']"), 30,
         "the editor did not go back to a new rule after saving")
    stored = api.get_json(f"/api/alerts/rules/{group}")
    assert [r["alert"] for r in stored["rules"]] == ["Built", "Written"]
    assert stored["rules"][1]["expr"] == f"max by (host) ({metric}) >= 5" and stored["rules"][1]["for"] == "2m"

    # the builder's rule opens in the builder; its duplicate is saved beside it, labels kept
    rule_row(browser, "Built").find_element(By.XPATH, ".//button[.='Duplicate']").click()
    form = wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "form.rule-editor[aria-label='Duplicate of Built']"),
                10, "no duplicate form")[0]
    assert form.find_element(By.NAME, "threshold").get_attribute("value") == "10"
    form.find_element(By.XPATH, ".//button[contains(., 'Save')]").click()
    wait(browser, lambda d: "Saved Built_copy" in d.find_element(By.CSS_SELECTOR, ".rule-actions").text, 30,
         "duplicate not saved")
    stored = api.get_json(f"/api/alerts/rules/{group}")
    assert [r["alert"] for r in stored["rules"]] == ["Built", "Written", "Built_copy"]
    assert stored["rules"][2]["labels"] == {"team": "ops"}

    # disable, then delete
    rule_row(browser, "Written").find_element(By.XPATH, ".//button[.='Disable']").click()
    wait(browser, lambda d: "disabled" in rule_row(d, "Written").text.lower(), 30, "not shown disabled")
    assert api.get_json(f"/api/alerts/rules/{group}")["rules"][1]["disabled"] is True
    rule_row(browser, "Built_copy").find_element(By.XPATH, ".//button[.='Delete']").click()
    browser.switch_to.alert.accept()
    wait(browser, lambda d: all(r.find_elements(By.TAG_NAME, "td")[1].text != "Built_copy"
                                for r in d.find_elements(By.CSS_SELECTOR, ".rules-table tbody tr")), 30, "not deleted")

    # the group's history: every change, newest first, in the page's time format
    rule_row(browser, "Built").find_element(By.XPATH, ".//button[.='History']").click()
    changes = wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, ".rule-changes li"), 30, "no history")
    assert [c.text.split(" ")[2] for c in changes] == ["replaced"] * 4 + ["created"]
    assert "Written (disabled)" in changes[1].text
    shot(browser, "alerts-manage")
