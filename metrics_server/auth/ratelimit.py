"""Per-principal token buckets: each token (or signed-in user) may make `rate` requests per second on an
instance, in bursts of up to twice that; beyond it a 429 with Retry-After (nginx limits per client IP)."""
import math
import threading
import time

MAX_KEYS = 100_000  # bounded memory: when this many principals were seen, start counting afresh


class RateLimiter:
    def __init__(self, rate: float, clock=time.monotonic):
        self.rate, self.burst, self.clock = rate, 2 * rate, clock
        self._buckets: dict[str, tuple[float, float]] = {}  # key: (tokens left, when counted)
        self._lock = threading.Lock()

    def retry_after(self, key: str) -> int:
        """0 when the request may go ahead (and is counted), else whole seconds until it may."""
        if self.rate <= 0:
            return 0
        with self._lock:
            if len(self._buckets) > MAX_KEYS:
                self._buckets.clear()
            now = self.clock()
            left, then = self._buckets.get(key, (self.burst, now))
            left = min(self.burst, left + (now - then) * self.rate)
            if left >= 1:
                self._buckets[key] = (left - 1, now)
                return 0
            self._buckets[key] = (left, now)
            return max(1, math.ceil((1 - left) / self.rate))
