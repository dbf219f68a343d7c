"""The chart's "anomalies" toggle in Chromium: a gauge with one spike is shaded there, and only there."""
import time
import uuid

from e2e_support import MINUTE, idle, main_chart, wait
from selenium.webdriver.common.by import By

SPIKE_AT = 100  # minutes into two hours of a saw between 10 and 19


def test_the_anomalies_toggle_shades_the_spike_of_a_gauge(browser, site_url, api):
    metric = f"anomaly_e2e_{uuid.uuid4().hex[:8]}"
    api.post("/api/metrics", {"name": metric, "type": "gauge", "label_keys": ["host"]})
    end = int(time.time() * 1000) // MINUTE * MINUTE
    start = end - 120 * MINUTE
    api.post("/api/write", [{"name": metric, "labels": {"host": "a"}, "timestamp": start + m * MINUTE,
                             "value": 28.0 if m == SPIKE_AT else 10.0 + m % 10} for m in range(120)])
    browser.get(f"{site_url}/?m={metric}&from={start}&to={end}")
    chart = main_chart(browser)
    idle(browser)
    assert not chart.find_elements(By.CSS_SELECTOR, "rect.anomaly-mark")
    browser.find_element(By.CSS_SELECTOR, ".anomaly-toggle input").click()
    marks = wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "svg[data-testid=main-chart] rect.anomaly-mark"),
                 30, "no anomaly mark on the chart")
    assert len(marks) == 1
    plot_width = float(chart.find_element(By.CSS_SELECTOR, "clipPath rect").get_attribute("width"))
    x = float(marks[0].get_attribute("x"))
    assert abs(x / plot_width - SPIKE_AT / 120) < 0.03  # where the spike is drawn
    assert float(marks[0].get_attribute("data-score")) >= 0.4
    browser.find_element(By.CSS_SELECTOR, ".anomaly-toggle input").click()
    wait(browser, lambda d: not d.find_elements(By.CSS_SELECTOR, "rect.anomaly-mark"), 10, "the toggle left the marks")
