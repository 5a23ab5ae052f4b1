"""How fast one chat session may ask: a token bucket, so a script cannot take the answers from others.

A person types a question in several seconds and waits for the answer; a script can send
hundreds a second. Each session may ask `burst` questions at once, then one every
60 / per_minute seconds. Too fast a question gets a note instead of an answer, and a flood
gets at most one note every NOTE_EVERY_S seconds, so that the notes cost nothing either.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

# The note's words that a load test looks for (the load test counts notes apart from errors).
SLOW_DOWN_MARK = "sehr schnell nach den vorigen"
NOTE_EVERY_S = 2.0


def slow_down_note(wait_s: float) -> str:
    """The one German sentence a too fast question gets."""
    seconds = max(1, math.ceil(wait_s))
    unit = "Sekunde" if seconds == 1 else "Sekunden"
    return f"Diese Frage kam {SLOW_DOWN_MARK} – bitte stellen Sie sie in {seconds} {unit} noch einmal."


@dataclass(frozen=True)
class Verdict:
    """Whether a question may be answered; if not, the wait and whether to say so."""

    allowed: bool
    wait_s: float = 0.0
    note: bool = False


class Pace:
    """The questions of one session: `burst` at once, then `per_minute` a minute (0: unlimited).

    Example:
        >>> pace = Pace(per_minute=20, burst=5)
        >>> [pace.admit().allowed for _ in range(6)]
        [True, True, True, True, True, False]
    """

    def __init__(self, per_minute: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        if per_minute < 0 or burst < 1:
            raise ValueError(f"per_minute ≥ 0 und burst ≥ 1 nötig, nicht {per_minute} und {burst}")
        self.per_minute = per_minute
        self.burst = burst
        self._clock = clock
        self._tokens = float(burst)
        self._at = clock()
        self._noted_at: float | None = None

    def admit(self) -> Verdict:
        """Count one question if there is room; otherwise the seconds until there is."""
        if self.per_minute == 0:
            return Verdict(True)
        now = self._clock()
        refill = (now - self._at) * self.per_minute / 60.0
        self._tokens = min(float(self.burst), self._tokens + refill)
        self._at = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return Verdict(True)
        wait = (1.0 - self._tokens) * 60.0 / self.per_minute
        note = self._noted_at is None or now - self._noted_at >= NOTE_EVERY_S
        if note:
            self._noted_at = now
        return Verdict(False, wait, note)
