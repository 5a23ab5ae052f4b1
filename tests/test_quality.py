"""Retrieval quality floors on the gold sets (the evaluation `python -m bot eval` prints)."""

from __future__ import annotations

import pytest

from bot.evaluate import read_gold, run, summarise
from tests.conftest import REPO

FLOORS = {
    "dev.jsonl": {"hit@1": 0.85, "hit@3": 0.95, "mrr@5": 0.90, "answered": 0.90, "refused": 0.75},
    "holdout.jsonl": {"hit@1": 0.75, "hit@3": 0.85, "mrr@5": 0.80, "answered": 0.80, "refused": 0.65},
}


@pytest.mark.parametrize("name", sorted(FLOORS))
def test_quality_floor(assistant, name: str) -> None:
    summary = summarise(run(assistant, read_gold(REPO / "tests" / "gold" / name)))["gesamt"]
    print(name, summary)
    shortfalls = {k: (summary[k], floor) for k, floor in FLOORS[name].items() if summary[k] < floor}
    assert not shortfalls


def test_gold_files_are_substantial() -> None:
    dev = read_gold(REPO / "tests" / "gold" / "dev.jsonl")
    kinds = {q.kind for q in dev}
    assert len(dev) >= 100
    assert sum(not q.expected for q in dev) >= 20
    assert {"direkt", "umgangssprachlich", "tippfehler", "englisch", "folgefrage", "ausserhalb"} <= kinds
