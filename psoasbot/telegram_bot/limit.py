"""The per-user limit: how many questions one person may ask in a while."""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from typing import Literal


class PerUserLimit:
    """At most `limit` questions per user in any `period` seconds (a sliding window)."""

    def __init__(
        self, limit: int, period: float = 60.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self.period = period
        self._clock = clock
        self._asked: dict[int, deque[float]] = {}
        self._warned_until: dict[int, float] = {}
        self._next_sweep = clock() + period

    def check(self, user_id: int) -> tuple[Literal["ok", "warn", "ignore"], int]:
        """Count a question; say whether to answer it, warn once, or ignore it.

        Returns:
            The verdict and, when it is not "ok", the whole seconds until the user may ask.
        """
        now = self._clock()
        if now >= self._next_sweep:
            self._forget_idle(now)
            self._next_sweep = now + self.period
        asked = self._asked.setdefault(user_id, deque())
        while asked and asked[0] <= now - self.period:
            asked.popleft()
        if len(asked) < self.limit:
            asked.append(now)
            return "ok", 0
        wait = asked[0] + self.period - now
        if now < self._warned_until.get(user_id, -math.inf):
            return "ignore", math.ceil(wait)
        # One polite message per window: a flood must not become a flood of replies.
        self._warned_until[user_id] = now + wait
        return "warn", max(1, math.ceil(wait))

    def _forget_idle(self, now: float) -> None:
        """Drop the users who asked nothing in the last period, so memory stays bounded."""
        for user_id in [u for u, t in self._asked.items() if not t or t[-1] <= now - self.period]:
            del self._asked[user_id]
            self._warned_until.pop(user_id, None)
