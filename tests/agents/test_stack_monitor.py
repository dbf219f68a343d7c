"""`make up`'s log monitor on the real stack: nginx writes its access log in the metrics_server format, the agent
tails it and pushes through nginx, so the stack's own traffic shows up as http_requests{log="nginx"}."""
import time

import requests
from conftest import parse_ts, wait_for

from tools import pidfile
from tools import stack as stacks


def test_the_stack_monitors_its_own_nginx_access_log(live_stack):
    stacks.start_monitor(live_stack)
    try:
        wait_for(lambda: "reading from its end" in (live_stack.log_dir / "tail-nginx.log").read_text(), timeout=60,
                 what="the monitor to open nginx's access log")
        since = int(time.time()) - 1
        for _ in range(25):
            assert requests.get(f"{live_stack.url}/api/health", timeout=30).status_code == 200

        def counted():
            response = requests.get(f"{live_stack.url}/api/metrics/http_requests/data",
                                    params={"log": "nginx", "section": "/api", "start_time": since, "limit": 10_000},
                                    timeout=30)
            return response.ok and sum(p["value"] for p in response.json() if p["labels"]["method"] == "GET")

        assert wait_for(counted, timeout=90, what="the stack's own requests as http_requests") >= 25
        times = requests.get(f"{live_stack.url}/api/metrics/http_request_seconds/data",
                             params={"log": "nginx", "start_time": since, "limit": 10_000}, timeout=30).json()
        assert times and all(parse_ts(p["timestamp"]) >= since for p in times)  # $request_time is in the format
    finally:
        pidfile.stop(live_stack.run_dir / "tail-nginx.pid")
