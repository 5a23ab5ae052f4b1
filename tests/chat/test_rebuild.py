"""The background index update: one build at a time, requests during a build folded into one more,
a failed build reported in German, never raised into the chat."""

from __future__ import annotations

import threading
import time

from bot.chat.rebuild import Rebuilder


def _wait(condition, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_requests_during_a_build_fold_into_one_more() -> None:
    started, release = threading.Event(), threading.Event()
    running = {"now": 0, "most": 0, "runs": 0}

    def build() -> str:
        running["now"] += 1
        running["most"] = max(running["most"], running["now"])
        started.set()
        release.wait(5)
        running["now"] -= 1
        running["runs"] += 1
        return "Index aktualisiert."

    rebuilder = Rebuilder(build)
    rebuilder.request()
    started.wait(5)
    for _ in range(5):
        rebuilder.request()
    assert rebuilder.busy and rebuilder.state()["laeuft"] is True
    release.set()
    _wait(lambda: not rebuilder.busy)
    assert running["runs"] == 2 and running["most"] == 1
    assert (
        rebuilder.last is not None and rebuilder.last.ok and rebuilder.last.message == "Index aktualisiert."
    )


def test_a_failed_build_is_reported_not_raised() -> None:
    def build() -> str:
        raise RuntimeError("Der Index-Ordner ist nicht beschreibbar.")

    rebuilder = Rebuilder(build)
    rebuilder.request()
    _wait(lambda: rebuilder.last is not None)
    state = rebuilder.state()
    assert state["laeuft"] is False
    assert (
        state["letzter"]["ok"] is False
        and state["letzter"]["message"] == "Der Index-Ordner ist nicht beschreibbar."
    )
