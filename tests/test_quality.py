"""Retrieval quality floors on the gold sets (the evaluation `python -m bot eval` prints)."""

from __future__ import annotations

import pytest

from bot.evaluate import read_gold, run, summarise
from tests.conftest import REPO

# Floors a little under the figures of 2026-11-25, so a regression fails CI. dev and holdout
# were used for tuning; blind was written separately and never used to choose anything.
FLOORS = {
    "dev.jsonl": {"hit@1": 0.88, "hit@3": 0.97, "mrr@5": 0.92, "answered": 0.93, "refused": 0.82},
    "holdout.jsonl": {"hit@1": 0.80, "hit@3": 0.93, "mrr@5": 0.86, "answered": 0.86, "refused": 0.85},
    "blind.jsonl": {"hit@1": 0.78, "hit@3": 0.93, "mrr@5": 0.85, "answered": 0.80, "refused": 0.72},
}


@pytest.mark.parametrize("name", sorted(FLOORS))
def test_quality_floor(assistant, name: str) -> None:
    summary = summarise(run(assistant, read_gold(REPO / "tests" / "gold" / name)))["gesamt"]
    print(name, summary)
    shortfalls = {k: (summary[k], floor) for k, floor in FLOORS[name].items() if summary[k] < floor}
    assert not shortfalls


def test_english_questions_find_their_passage(assistant) -> None:
    questions = [
        q for name in FLOORS for q in read_gold(REPO / "tests" / "gold" / name) if q.kind == "englisch"
    ]
    summary = summarise(run(assistant, questions))["gesamt"]
    assert len(questions) >= 30 and summary["hit@3"] >= 0.75


def test_gold_files_are_substantial() -> None:
    dev = read_gold(REPO / "tests" / "gold" / "dev.jsonl")
    kinds = {q.kind for q in dev}
    assert len(dev) >= 100
    assert sum(not q.expected for q in dev) >= 20
    assert {"direkt", "umgangssprachlich", "tippfehler", "englisch", "folgefrage", "ausserhalb"} <= kinds
