"""Issue 26, time to chart: Explore's data leaves with the page and the requests the chart does not need wait until
it is drawn, in a real Chromium against the real stack. Each test failed before its fix."""
from urllib.parse import parse_qs, urlencode

import pytest
from e2e_support import load_timed, main_chart, window

pytestmark = pytest.mark.e2e

SERIES = "svg[data-testid=main-chart] .series"
# What the page asks for before React starts (data/earlyRequests.js); everything else is a side request.
EARLY = {"/api/metrics", "/api/query", "/api/auth/me"}


@pytest.mark.parametrize("width", [1440, 1024, 390])
@pytest.mark.parametrize("relative", [False, True], ids=["absolute", "relative"])
def test_explores_data_request_leaves_before_the_app_starts_and_is_the_one_the_chart_draws(
        browser, site_url, data, width, relative):
    picks = [("m", data.cpu), ("m", data.latency)]
    url = f"{site_url}/?{urlencode(picks + [('from', '-3h')])}" if relative else data.url(site_url, [data.cpu, data.latency])
    with window(browser, width, 900):
        page = load_timed(browser, url, SERIES, settle=0.5)
        chart = main_chart(browser)
        drawn_with, plot_width = chart.get_attribute("data-query"), chart.get_attribute("data-width")
    queries = [a for a in page["api"] if a["path"] == "/api/query"]
    me = next(a for a in page["api"] if a["path"] == "/api/auth/me")
    # One request: the one sent as the page started is the one the chart asked for (the same width, the same
    # clock for the relative range), not a second after the app measured its chart.
    assert len(queries) == 1, queries
    assert drawn_with == queries[0]["path"] + queries[0]["query"]
    assert parse_qs(queries[0]["query"][1:])["width"] == [plot_width]
    # /api/auth/me is asked by the app's first render (AuthGate's effect): the data left before it.
    assert queries[0]["start"] < me["start"], (queries[0], me)


def test_requests_the_chart_does_not_need_wait_until_it_is_drawn(browser, site_url, data):
    page = load_timed(browser, data.url(site_url, [data.cpu, data.latency]), SERIES, settle=1.5)
    side = [a for a in page["api"] if a["path"] not in EARLY]
    # the filters' label values, the alert rules and history of the chart's bands, the firing count
    assert {a["path"] for a in side} >= {f"/api/metrics/{data.cpu}/series", "/api/v1/rules", "/api/alerts"}, side
    early = [a for a in side if a["start"] < page["drawn"]]
    assert not early, f"left before the chart was drawn at {page['drawn']:.0f} ms: {early}"
