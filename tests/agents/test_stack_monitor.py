"""`make up`'s log monitor on the real stack: nginx writes its access log in the metrics_server format, the agent
tails it and pushes through nginx, so the stack's own traffic shows up as nginx_http_requests{log="nginx"} (a
prefix of its own: make demo's http_requests never meets it)."""
import time

import requests

from tests.agents.conftest import AUTH, parse_ts, wait_for
from tools import stack as stacks


def test_the_stack_monitors_its_own_nginx_access_log(live_stack):
    stacks.start_monitor(live_stack, refresh=1)
    try:
        wait_for(lambda: "reading from its end" in (live_stack.log_dir / "tail-nginx.log").read_text(), timeout=60,
                 what="the monitor to open nginx's access log")
        since = int(time.time()) - 1
        for _ in range(25):
            assert requests.get(f"{live_stack.url}/api/health", timeout=30).status_code == 200

        def counted():
            response = requests.get(f"{live_stack.url}/api/metrics/nginx_http_requests/data", headers=AUTH,
                                    params={"log": "nginx", "section": "/api", "start_time": since, "limit": 10_000},
                                    timeout=30)
            return response.ok and sum(p["value"] for p in response.json() if p["labels"]["method"] == "GET")

        wait_for(lambda: counted() >= 25, timeout=90, what="the stack's own 25 requests as nginx_http_requests")

        def timed():  # the histogram goes in the push's second request, right after the gauges
            response = requests.get(f"{live_stack.url}/api/metrics/nginx_http_request_seconds/data", headers=AUTH,
                                    params={"log": "nginx", "start_time": since, "limit": 10_000}, timeout=30)
            return response.ok and response.json()

        times = wait_for(timed, timeout=60, what="request times ($request_time) as nginx_http_request_seconds",
                         detail=lambda: (live_stack.log_dir / "tail-nginx.log").read_text()[-3000:])
        assert all(parse_ts(p["timestamp"]) >= since and sum(p["buckets"].values()) >= 1 for p in times)
        rule = requests.get(f"{live_stack.url}/api/alerts/rules/metrics-server-tail-nginx", headers=AUTH, timeout=30).json()
        assert rule["rules"][0]["alert"] == "HighTraffic"  # the console's alert, also the server's
    finally:
        stacks.stop_supervised(live_stack, "tail-nginx")
        # the session's other tests share this stack: leave no rule group behind for its evaluator
        requests.delete(f"{live_stack.url}/api/alerts/rules/metrics-server-tail-nginx", timeout=30)
