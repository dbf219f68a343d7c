"""The GlanceMetrics console view, as plain text: top sections, status mix, req/s, the alert and its history.

`insights` computes the figures from bins (pure); `screen` lays them out for a terminal redrawn in place;
`line` is the one-line form printed when stdout is not a terminal (a file, a test, a service's journal).
"""
from collections import Counter
from dataclasses import dataclass, field

from metrics_server.agents.alert import HighTraffic, clock_text


@dataclass
class Insights:
    """What the last window's bins add up to."""

    window: float
    hits: int = 0
    bytes: int = 0
    errors: int = 0
    sections: Counter = field(default_factory=Counter)
    statuses: Counter = field(default_factory=Counter)
    methods: Counter = field(default_factory=Counter)

    @property
    def rate(self) -> float:
        return self.hits / self.window


def insights(bins, window: float) -> Insights:
    out = Insights(window)
    for _, b in bins:
        for (section, method, status), n in b.requests.items():
            out.hits += n
            out.sections[section] += n
            out.statuses[status] += n
            out.methods[method] += n
        out.bytes += sum(b.bytes.values())
        out.errors += b.errors
    return out


def size(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return ""


def duration(seconds: float) -> str:
    m, s = divmod(int(seconds), 60)
    h, m = divmod(m, 60)
    return f"{h}h {m:02d}m {s:02d}s" if h else f"{m}m {s:02d}s"


def screen(title: str, now: float, info: Insights, alert: HighTraffic, status: list[str], top: int = 10,
           history: int = 8) -> str:
    """The full view (the caller clears the terminal before printing it)."""
    share = (lambda n: f"{100 * n / info.hits:5.1f}%") if info.hits else (lambda n: "     -")
    rows = [f"metrics-server tail · {title}", f"{clock_text(now)}", *status, "",
            f"Last {info.window:g} s: {info.hits:,} requests · {info.rate:,.1f} req/s · {size(info.bytes)} sent"
            f" · {info.errors:,} malformed", "",
            f"  {'top sections':<32}{'hits':>10}{'share':>8}"]
    for section, n in info.sections.most_common(top):
        rows.append(f"  {section[:32]:<32}{n:>10,}{share(n):>8}")
    if not info.sections:
        rows.append("  (no requests in this window)")
    rows += ["", "  status  " + "   ".join(f"{s} {info.statuses[s]:,} ({share(info.statuses[s]).strip()})"
                                           for s in sorted(info.statuses)) if info.statuses else "  status  -",
             "  methods " + "   ".join(f"{m} {n:,}" for m, n in info.methods.most_common()) if info.methods
             else "  methods -", ""]
    state = (f"FIRING since {clock_text(alert.active.at)}" if alert.active else "ok")
    rows.append(f"Alert: average over {alert.window:g} s > {alert.threshold:g} req/s: {state} "
                f"(now {alert.rate:g} req/s)")
    for event in alert.history[-history:]:
        rows.append(f"  {event.message}")
    return "\n".join(rows)


def line(now: float, info: Insights, alert: HighTraffic) -> str:
    """One summary line per refresh."""
    tops = ", ".join(f"{s} {n}" for s, n in info.sections.most_common(3))
    statuses = " ".join(f"{s}={n}" for s, n in sorted(info.statuses.items()))
    return (f"{clock_text(now)} {info.rate:.1f} req/s over {info.window:g}s; top: {tops or '-'}; "
            f"status: {statuses or '-'}; alert {'FIRING' if alert.active else 'ok'} ({alert.rate:g} req/s)")
