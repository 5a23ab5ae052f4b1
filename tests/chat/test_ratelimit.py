"""The pace of questions one chat session may send."""

from __future__ import annotations

import pytest

from bot.chat.ratelimit import Pace, slow_down_note


def test_one_session_may_ask_a_few_at_once_then_only_as_fast_as_a_person_types() -> None:
    clock = [0.0]
    pace = Pace(per_minute=30, burst=3, clock=lambda: clock[0])
    assert [pace.admit().allowed for _ in range(3)] == [True, True, True]
    fourth = pace.admit()
    assert not fourth.allowed and fourth.wait_s == pytest.approx(2.0) and fourth.note
    assert pace.admit() == type(fourth)(False, pytest.approx(2.0), False)  # a flood: one note per 2 s
    clock[0] = 2.0
    assert pace.admit().allowed
    assert pace.admit().note
    assert slow_down_note(1.2).endswith("in 2 Sekunden noch einmal.") and "1 Sekunde " in slow_down_note(0.2)
    unlimited = Pace(per_minute=0, burst=1)
    assert all(unlimited.admit().allowed for _ in range(1000))
