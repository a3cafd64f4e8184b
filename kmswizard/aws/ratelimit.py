"""A token bucket: keeps a call within its AWS request quota while allowing a burst."""

from __future__ import annotations

import threading
import time


class TokenBucket:
    """``rate`` calls per second on average, up to ``burst`` at once. Thread-safe."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = burst
        self._tokens = float(burst)
        self._stamp = time.monotonic()
        self._lock = threading.Lock()

    def take(self) -> None:
        """Wait until a call is allowed, then spend one token."""
        while True:
            with self._lock:
                now = time.monotonic()
                self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
                self._stamp = now
                if self._tokens >= 1:
                    self._tokens -= 1
                    return
                wait = (1 - self._tokens) / self.rate
            time.sleep(wait)
