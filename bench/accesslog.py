"""Realistic access-log lines (Combined Log Format, nginx's default) for the tail agent's tests and benchmark."""
import random
import time

SECTIONS = ["/", "/api", "/assets", "/static", "/images", "/login", "/search", "/admin", "/blog", "/docs",
            "/user", "/cart", "/checkout", "/product", "/feed", "/health", "/metrics", "/favicon.ico"]
METHODS = ["GET"] * 16 + ["POST"] * 3 + ["PUT", "DELETE", "HEAD"]
STATUSES = [200] * 40 + [201, 204, 301, 302, 304] * 2 + [400, 401, 403, 404, 404, 404, 429, 500, 502, 503]
AGENTS = ['Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36',
          'curl/8.4.0', 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 "quoted"',
          'python-requests/2.31.0']
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def clf_time(epoch: float) -> str:
    """$time_local of an epoch second, in UTC."""
    t = time.gmtime(epoch)
    return f"{t.tm_mday:02d}/{MONTHS[t.tm_mon - 1]}/{t.tm_year}:{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} +0000"


def line(rng: random.Random, epoch: float, section: str | None = None, request_time: bool = False) -> str:
    """One nginx `combined` line (plus $request_time when asked) at `epoch`."""
    section = section or rng.choice(SECTIONS)
    leaf = f"{rng.choice(['a', 'item', 'x/y'])}{rng.randint(1, 999)}"
    path = section if rng.random() < 0.3 else f"{section.rstrip('/')}/{leaf}"
    if rng.random() < 0.2:
        path += f"?q={rng.randint(1, 99)}&page=2"
    agent = rng.choice(AGENTS).replace('"', '\\"')
    text = (f'10.0.{rng.randint(0, 255)}.{rng.randint(1, 254)} - {rng.choice(["-", "-", "frank"])} '
            f'[{clf_time(epoch)}] "{rng.choice(METHODS)} {path} HTTP/1.1" {rng.choice(STATUSES)} '
            f'{rng.randint(0, 50000)} "{rng.choice(["-", "https://example.com/"])}" "{agent}"')
    if request_time:
        text += f" {rng.expovariate(20):.3f}"
    return text + "\n"


def write_file(path, lines: int, start: float, per_second: int, seed: int = 1, request_time: bool = False) -> None:
    """A log of `lines` lines, `per_second` of them per second from `start`."""
    rng = random.Random(seed)
    with open(path, "w") as out:
        for i in range(lines):
            out.write(line(rng, start + i // per_second, request_time=request_time))


def generate(path, rate: int, seconds: float, seed: int = 1) -> dict[int, int]:
    """Append `rate` lines a second for `seconds`, stamped with the current time, in 10 ms slices (as a busy
    server writes them); returns the lines written per log second."""
    rng, per_second, written = random.Random(seed), {}, 0
    start = time.time()
    with open(path, "a") as out:
        while (now := time.time()) < start + seconds:
            due = int((now - start) * rate) - written
            if due > 0:
                second = int(now)
                out.write("".join(line(rng, second) for _ in range(due)))
                out.flush()
                per_second[second] = per_second.get(second, 0) + due
                written += due
            time.sleep(0.01)
    return per_second


if __name__ == "__main__":
    import argparse
    import json

    parser = argparse.ArgumentParser(prog="python -m bench.accesslog", description=generate.__doc__)
    parser.add_argument("path")
    parser.add_argument("--rate", type=int, default=7000)
    parser.add_argument("--seconds", type=float, default=30)
    options = parser.parse_args()
    print(json.dumps(generate(options.path, options.rate, options.seconds)))
