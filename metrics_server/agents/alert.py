"""The GlanceMetrics alert: the average request rate over a window above a threshold, and its recovery.

Pure: `HighTraffic.step(hits, now)` is given the hits of the window ending at `now` and returns the event, if any,
so tests drive it with explicit times. The monitor calls it on a clock tick, whether lines arrive or not, so
traffic that stops still recovers the alert (the bug glancemetrics' own test guards against).
"""
import time
from dataclasses import dataclass

TRIGGERED = "High traffic generated an alert - hits = {value}, triggered at {time}"
RECOVERED = "High traffic alert recovered - hits = {value}, recovered at {time}"


def clock_text(epoch: float) -> str:
    """A moment as the messages show it: local time with its UTC offset, to the second."""
    return time.strftime("%Y-%m-%d %H:%M:%S %z", time.localtime(epoch))


@dataclass(frozen=True)
class Event:
    """The alert changed state at `at` (epoch s); `value` is the window's average requests per second."""

    kind: str  # "triggered" or "recovered"
    value: float
    at: float

    @property
    def message(self) -> str:
        template = TRIGGERED if self.kind == "triggered" else RECOVERED
        return template.format(value=f"{self.value:g}", time=clock_text(self.at))


class HighTraffic:
    """Fires when hits / window > threshold (req/s); recovers on the first tick at or below it."""

    def __init__(self, threshold: float = 10.0, window: float = 120.0):
        if window < 1:
            raise ValueError(f"--alert-window: at least 1 second, got {window:g}")
        self.threshold, self.window = threshold, window
        self.active: Event | None = None
        self.history: list[Event] = []
        self.rate = 0.0

    def step(self, hits: int, now: float) -> Event | None:
        self.rate = round(hits / self.window, 2)
        if self.active is None and self.rate > self.threshold:
            event = self.active = Event("triggered", self.rate, now)
        elif self.active is not None and self.rate <= self.threshold:
            event, self.active = Event("recovered", self.rate, now), None
        else:
            return None
        self.history.append(event)
        return event

    def to_json(self) -> dict | None:
        """The firing alert, if any, for the state file: a restart neither announces it again nor forgets to
        recover it (issue 24: a second "generated an alert" line after a restart, no recovery between)."""
        return None if self.active is None else {"value": self.active.value, "at": self.active.at}

    def restore(self, saved: dict | None) -> None:
        self.active = None if saved is None else Event("triggered", float(saved["value"]), float(saved["at"]))
