"""Retrieval quality floors on the gold sets (the evaluation `python -m bot eval` prints)."""

from __future__ import annotations

import pytest

from bot.evaluate import read_gold, run, summarise
from tests.conftest import REPO

# Floors a little under the figures of 2026-11-25, so a regression fails CI. dev, holdout and
# extra (a second author) were used for tuning; blind and blind2 (a third author) were written
# separately and never used to choose anything: only scored.
FLOORS = {
    "dev.jsonl": {"hit@1": 0.88, "hit@3": 0.97, "mrr@5": 0.92, "answered": 0.93, "refused": 0.82},
    "holdout.jsonl": {"hit@1": 0.80, "hit@3": 0.93, "mrr@5": 0.86, "answered": 0.90, "refused": 0.85},
    "extra.jsonl": {"hit@1": 0.77, "hit@3": 0.89, "mrr@5": 0.83, "answered": 0.80, "refused": 0.80},
    "blind.jsonl": {"hit@1": 0.78, "hit@3": 0.93, "mrr@5": 0.85, "answered": 0.84, "refused": 0.74},
    "blind2.jsonl": {"hit@1": 0.68, "hit@3": 0.84, "mrr@5": 0.76, "answered": 0.76, "refused": 0.77},
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


def test_eval_counts_the_guesses_offered_instead_of_an_answer() -> None:
    from bot.evaluate import GoldQuestion, Outcome, format_table

    def outcome(expected: list[str], abstained: bool, hinted: bool, right: bool) -> Outcome:
        gold = GoldQuestion("q", "direkt" if expected else "ausserhalb", "?", expected, [])
        return Outcome(gold, 1 if expected else None, abstained, 0.3, "p", hinted, right)

    outcomes = [
        outcome(["a"], abstained=True, hinted=True, right=True),
        outcome(["a"], abstained=True, hinted=True, right=False),
        outcome(["a"], abstained=True, hinted=False, right=False),
        outcome(["a"], abstained=False, hinted=False, right=False),
        outcome([], abstained=True, hinted=True, right=False),
        outcome([], abstained=True, hinted=False, right=False),
        outcome([], abstained=False, hinted=False, right=False),
    ]
    total = summarise(outcomes)["gesamt"]
    assert (total["declined"], total["declined_hint_right"]) == (3, 1)
    assert (total["refused_n"], total["refused_hinted"]) == (2, 1)
    table = format_table(summarise(outcomes))
    assert "bei 1 von 3 abgelehnten beantwortbaren Fragen" in table and "1 von 2 abgelehnten Fragen" in table


def test_eval_counts_exactly_the_guesses_staff_see(assistant) -> None:
    from bot.assistant import Assistant
    from bot.evaluate import GoldQuestion

    strict = Assistant(assistant.settings.model_copy(update={"min_confidence": 0.999}), assistant.index)
    questions = [
        GoldQuestion(
            "t", "direkt", "Muss ich Inhalte kennzeichnen, die mit KI erstellt wurden?", ["kennzeichnen"], []
        ),
        GoldQuestion("c", "direkt", "Wen kann ich bei Fragen zu KI ansprechen?", ["Expert:innen-Team"], []),
        GoldQuestion("g", "ausserhalb", "Schreib mir ein Gedicht zum Geburtstag meiner Kollegin.", [], []),
    ]
    outcomes = run(strict, questions)
    for gold, outcome in zip(questions, outcomes, strict=True):
        shown = [s for s in strict.ask(gold.question).sources if s.role == "hint"]
        assert outcome.abstained and outcome.hinted == bool(shown), gold.id
    assert [(o.hinted, o.hint_right) for o in outcomes] == [(True, True), (False, False), (False, False)]
