"""Use at a glance: questions per week by kind, most-asked sections, open gaps – from audit and picks,
older audit lines without a kind included, no question unredacted."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from bot.chat.usage import build_usage, kind_of, section_of, usage
from bot.config import Settings
from tests.support import write_doc

TODAY = dt.date(2026, 12, 3)  # a Thursday; its week starts on Monday 2026-11-30


def _line(day: str, **fields: object) -> dict[str, object]:
    return {"time": f"{day}T10:00:00+00:00", "question": "Synthetische Frage?", "passages": [], **fields}


AUDIT = [
    # This week: two answers, one asked back, one refused, small talk and an error (no questions).
    _line("2026-12-01", kind="answer", passages=[{"id": "grundsaetze-ki#transparenz-1", "role": "quote"}]),
    _line("2026-12-02", kind="answer", passages=[{"id": "grundsaetze-ki#transparenz-2", "role": "quote"}]),
    _line("2026-12-02", kind="choice", passages=[{"id": "ki-beim-asb-nrw#kontakt-1", "role": "candidate"}]),
    _line("2026-12-03", kind="refusal", question="Darf ich Drohnen fliegen lassen?"),
    _line("2026-12-03", kind="smalltalk"),
    _line("2026-12-03", kind="error", error=True),
    # Two weeks ago, written before the audit named its kind.
    _line("2026-11-18", abstained=False, passages=[{"id": "grundsaetze-ki#transparenz-1"}]),
    _line("2026-11-18", abstained=True, question="Wie lange darf ich Drohnen fliegen lassen?"),
    _line("2026-11-19", abstained=True, question="Was kostet die Kantine?"),
    # Too old for the chart.
    _line("2026-09-01", kind="answer"),
]
PICKS = [
    {
        "time": "2026-12-02T09:00:00+00:00",
        "picked": "ki-beim-asb-nrw#kontakt-1",
        "doc_id": "ki-beim-asb-nrw",
        "section": "kontakt",
        "question": "Wen frage ich?",
        "candidates": [],
    },
    {
        "time": "2026-12-02T09:05:00+00:00",
        "picked": None,
        "doc_id": None,
        "section": None,
        "question": "Rufen Sie Frau Müller an: 0211 9876543?",
        "candidates": ["a#b-1"],
    },
]


def test_weeks_count_questions_by_kind_old_lines_included() -> None:
    shown = build_usage(AUDIT, PICKS, set(), TODAY)
    weeks = shown["wochen"]
    assert len(weeks) == 8 and weeks[-1]["ab"] == "2026-11-30" and weeks[-1]["woche"] == "2026-W49"
    this = weeks[-1]
    assert (this["fragen"], this["beantwortet"], this["nachgefragt"], this["abgelehnt"]) == (4, 2, 1, 1)
    assert this["anteile"] == {"beantwortet": 0.5, "nachgefragt": 0.25, "abgelehnt": 0.25}
    before = weeks[-3]
    assert (before["ab"], before["fragen"], before["beantwortet"], before["abgelehnt"]) == (
        "2026-11-16",
        3,
        1,
        2,
    )
    assert weeks[-2]["fragen"] == 0 and weeks[-2]["anteile"]["beantwortet"] is None
    assert sum(w["fragen"] for w in weeks) == 7  # September's answer lies outside


def test_sections_from_quoted_answers_and_picks() -> None:
    shown = build_usage(AUDIT, PICKS, set(), TODAY)
    assert shown["abschnitte"][0] == {"abschnitt": "grundsaetze-ki#transparenz", "anzahl": 3}
    assert {"abschnitt": "ki-beim-asb-nrw#kontakt", "anzahl": 1} in shown["abschnitte"]


def test_open_gaps_group_refusals_and_nothing_fitting_and_close_when_taken_up() -> None:
    shown = build_usage(AUDIT, PICKS, set(), TODAY)
    examples = {g["frage"] for g in shown["luecken"]}
    assert shown["offene_luecken"] == 3  # drones (twice), canteen, and the pick "none of these"
    assert "Müller" not in json.dumps(shown) and "9876543" not in json.dumps(shown)
    assert any("[" in e for e in examples)  # the pick's question, redacted once more
    taken_up = build_usage(AUDIT, PICKS, {"Darf ich Drohnen fliegen lassen?"}, TODAY)
    assert taken_up["offene_luecken"] == 2


def test_kinds_and_sections_of_single_lines() -> None:
    assert kind_of({"abstained": True}) == "refusal" and kind_of({"abstained": False}) == "answer"
    assert (
        kind_of({"error": True, "abstained": True}) == "error"
        and kind_of({"generator": "fixed"}) == "smalltalk"
    )
    assert kind_of({"kind": "choice", "abstained": True}) == "choice"
    assert (
        section_of("doc#abschnitt-mit-zahl-2-12") == "doc#abschnitt-mit-zahl-2" and section_of("doc") == "doc"
    )


def test_missing_files_mean_no_data(tmp_path: Path) -> None:
    write_doc(tmp_path / "corpus", "bestand")
    shown = usage(Settings(corpus_dir=tmp_path / "corpus", data_dir=tmp_path / "data"), TODAY)
    assert sum(w["fragen"] for w in shown["wochen"]) == 0 and shown["offene_luecken"] == 0


def test_sections_are_named_as_readers_see_them(tmp_path: Path) -> None:
    write_doc(tmp_path / "corpus", "bestand", titel="Synthetische Regeln", heading="Drohnen")
    line = _line("2026-12-01", kind="answer", passages=[{"id": "bestand#drohnen-1", "role": "quote"}])
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "audit.jsonl").write_text(json.dumps(line) + "\n", encoding="utf-8")
    shown = usage(Settings(corpus_dir=tmp_path / "corpus", data_dir=tmp_path / "data"), TODAY)
    assert shown["abschnitte"] == [
        {"abschnitt": "bestand#drohnen", "anzahl": 1, "titel": "Synthetische Regeln – Drohnen"}
    ]
