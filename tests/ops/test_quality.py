"""Retrieval quality floors on the gold sets (the evaluation `python -m bot eval` prints)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.ops.evaluate import extended_assistant, read_gold, run, summarise
from tests.support import REPO

COLUMNS = ("hit@1", "hit@3", "mrr@5", "resolved", "right_at_once", "refused")


def _floors(*values: float) -> dict[str, float]:
    return dict(zip(COLUMNS, values, strict=True))


# Floors a little under the figures of 2026-12-04 (multilingual-e5-small, the decision fitted by
# `python -m bot tune`), ceilings a little over, so a regression fails CI. Tuning sets (ranking
# weights and the decision were fitted on them): dev, holdout, extra (the page) and synthetic-tune
# (five synthetic documents added without example questions). Blind sets, only ever scored:
# blind, blind2, blind3 (the page, three other authors) and synthetic-blind (four other
# synthetic documents, another author).
FLOORS = {
    "dev.jsonl": _floors(0.85, 0.97, 0.91, 0.91, 0.47, 0.74),
    "holdout.jsonl": _floors(0.81, 0.91, 0.87, 0.89, 0.44, 0.88),
    "extra.jsonl": _floors(0.76, 0.91, 0.84, 0.88, 0.31, 0.57),
    "blind.jsonl": _floors(0.90, 0.97, 0.93, 0.92, 0.41, 0.69),
    "blind2.jsonl": _floors(0.77, 0.91, 0.84, 0.82, 0.25, 0.61),
    "blind3.jsonl": _floors(0.75, 0.88, 0.82, 0.77, 0.15, 0.65),
}
# At most this share of the answerable questions answered wrongly at once, and of the
# out-of-scope questions answered at once.
CEILINGS = {
    "dev.jsonl": (0.05, 0.12),
    "holdout.jsonl": (0.06, 0.05),
    "extra.jsonl": (0.03, 0.04),
    "blind.jsonl": (0.04, 0.08),
    "blind2.jsonl": (0.03, 0.04),
    "blind3.jsonl": (0.03, 0.10),
    "synthetic-tune.jsonl": (0.03, 0.08),
    "synthetic-blind.jsonl": (0.05, 0.04),
}
# The answer, not only the ranking: share of quoted sentences from passages that answer, and
# share of answers that contain an expected phrase (overviews: that cite an answering passage).
ANSWER_FLOORS = {
    "dev.jsonl": (0.93, 0.90),
    "holdout.jsonl": (0.84, 0.85),
    "extra.jsonl": (0.95, 0.95),
    "blind.jsonl": (0.94, 0.94),
    "blind2.jsonl": (0.95, 0.95),
    "blind3.jsonl": (0.95, 0.95),
    "synthetic-tune.jsonl": (0.95, 0.95),
    "synthetic-blind.jsonl": (0.83, 0.86),
}
# Questions about documents added to the corpus (the gold file and the folder of its documents).
ADDED = {
    "synthetic-tune.jsonl": (
        "tune",
        {
            "hit@1": 0.77,
            "hit@3": 0.88,
            "mrr@5": 0.84,
            "resolved": 0.82,
            "right_at_once": 0.21,
            "refused": 0.62,
        },
    ),
    "synthetic-blind.jsonl": (
        "blind",
        {
            "hit@1": 0.75,
            "hit@3": 0.93,
            "mrr@5": 0.83,
            "resolved": 0.78,
            "right_at_once": 0.20,
            "refused": 0.36,
        },
    ),
}


def _shortfalls(summary: dict, floors: dict, name: str) -> dict:
    precision, recall = ANSWER_FLOORS[name]
    floors = {**floors, "quote_precision": precision, "answer_recall": recall}
    wrong, outside = CEILINGS[name]
    short = {k: (summary[k], floor) for k, floor in floors.items() if summary[k] < floor}
    over = {k: (summary[k], most) for k, most in (("wrong_at_once", wrong), ("outside_answered", outside))}
    return short | {k: v for k, v in over.items() if v[0] > v[1]}


@pytest.mark.parametrize("name", sorted(FLOORS))
def test_quality_floor(assistant, name: str) -> None:
    summary = summarise(run(assistant, read_gold(REPO / "tests" / "gold" / name)))["gesamt"]
    print(name, summary)
    assert not _shortfalls(summary, FLOORS[name], name)


@pytest.mark.parametrize("name", sorted(ADDED))
def test_quality_floor_on_added_documents(assistant, tmp_path: Path, name: str) -> None:
    folder, floors = ADDED[name]
    with extended_assistant(assistant, REPO / "tests" / "synthetic" / folder, tmp_path) as extended:
        summary = summarise(run(extended, read_gold(REPO / "tests" / "gold" / name)))["gesamt"]
    print(name, summary)
    assert not _shortfalls(summary, floors, name)


def test_english_questions_find_their_passage(assistant) -> None:
    questions = [
        q for name in FLOORS for q in read_gold(REPO / "tests" / "gold" / name) if q.kind == "englisch"
    ]  # about the page
    summary = summarise(run(assistant, questions))["gesamt"]
    assert len(questions) >= 60 and summary["hit@3"] >= 0.94  # 0.972 on 2026-12-01 (0.75 with MiniLM)


def test_gold_files_are_substantial() -> None:
    dev = read_gold(REPO / "tests" / "gold" / "dev.jsonl")
    kinds = {q.kind for q in dev}
    assert len(dev) >= 100
    assert sum(not q.expected for q in dev) >= 20
    assert {"direkt", "umgangssprachlich", "tippfehler", "englisch", "folgefrage", "ausserhalb"} <= kinds


def test_eval_counts_the_three_outcomes_and_one_click() -> None:
    from bot.ops.evaluate import GoldQuestion, Outcome, format_table
    from bot.pipeline.decide import AnswerKind

    def outcome(expected: list[str], kind: AnswerKind, rank: int | None, offered: bool) -> Outcome:
        gold = GoldQuestion("q", "direkt" if expected else "ausserhalb", "?", expected, [])
        return Outcome(gold, rank, kind, 0.5, "p", offered_right=offered)

    answerable = [
        outcome(["a"], AnswerKind.ANSWER, 1, True),  # right at once
        outcome(["a"], AnswerKind.ANSWER, 2, True),  # wrong at once: a click would not have helped
        outcome(["a"], AnswerKind.CHOICE, 2, True),  # asked back, the right one offered
        outcome(["a"], AnswerKind.CHOICE, 1, False),  # asked back, not offered
        outcome(["a"], AnswerKind.REFUSAL, 1, True),
    ]
    outside = [
        outcome([], AnswerKind.ANSWER, None, False),
        outcome([], AnswerKind.CHOICE, None, False),
        outcome([], AnswerKind.REFUSAL, None, False),
        outcome([], AnswerKind.REFUSAL, None, False),
    ]
    total = summarise(answerable + outside)["gesamt"]
    assert (total["answered"], total["right_at_once"], total["wrong_at_once"]) == (0.4, 0.2, 0.2)
    assert (total["asked_back"], total["resolved"]) == (0.4, 0.4)
    assert (total["refused"], total["outside_answered"], total["outside_asked_back"]) == (0.5, 0.25, 0.25)
    table = format_table(summarise(answerable + outside))
    assert "1 Klick" in table and "richtig" in table


def test_eval_counts_exactly_what_staff_see(assistant, tmp_path) -> None:
    from bot.ops.evaluate import GoldQuestion
    from bot.pipeline.decide import AnswerKind
    from tests.support.decisions import deciding

    asking = deciding(assistant, tmp_path, answer_right=1.01, choice_in_scope=0.0)
    questions = [
        GoldQuestion(
            "t", "direkt", "Muss ich Inhalte kennzeichnen, die mit KI erstellt wurden?", ["kennzeichnen"], []
        ),
        GoldQuestion("c", "direkt", "Wen kann ich bei Fragen zu KI ansprechen?", ["Expert:innen-Team"], []),
        GoldQuestion("w", "direkt", "Wen kann ich bei Fragen zu KI ansprechen?", ["gibt es nirgends"], []),
    ]
    outcomes = run(asking, questions)
    for gold, outcome in zip(questions, outcomes, strict=True):
        offered = asking.ask(gold.question).answer.choices
        assert outcome.kind is AnswerKind.CHOICE and outcome.asked_back
        assert outcome.offered_right == any(gold.answered_by(s.passage) for s in offered), gold.id
    assert [o.resolved for o in outcomes] == [True, True, False]
