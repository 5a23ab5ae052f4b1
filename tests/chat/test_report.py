"""The knowledge-gap report groups refused questions and counts cited documents."""

from __future__ import annotations

import datetime as dt
import json

from bot.chat.report import build_report, group_questions
from tests.support import run_bot


def test_similar_refused_questions_form_one_group() -> None:
    groups = group_questions(
        [
            "Wann ist die nächste KI-Schulung?",
            "Wann findet die nächste KI-Schulung statt?",
            "Wie beantrage ich Urlaub?",
            "wann gibt es wieder eine ki schulung",
        ]
    )
    assert [g.count for g in groups] == [3, 1]
    assert groups[1].example == "Wie beantrage ich Urlaub?"


def test_groups_name_the_passage_the_bot_guessed_for_them() -> None:
    audit = [
        {
            "time": "2026-11-02T10:00:00+00:00",
            "question": question,
            "abstained": True,
            "passages": (
                [{"id": "referat-digitalisierung#start-1", "stand": "2026-11-25"}]  # before roles
                if guess == "old"
                else [{"id": guess, "stand": "2026-11-25", "role": "hint"}]
                if guess
                else []
            ),
        }
        for question, guess in [
            ("muss ich sagen dass der text von ner ki is", "grundsaetze-ki#transparenz-1"),
            ("muss ich sagen dass der text von ki is", "grundsaetze-ki#transparenz-1"),
            ("muss ich echt sagen dass der text von ki kommt", "old"),
            ("Wie beantrage ich Urlaub?", None),
        ]
    ]
    report = build_report(audit, [], [])
    first, second = report.refused_groups
    assert first.count == 3 and dict(first.guesses) == {"grundsaetze-ki#transparenz-1": 2}
    assert first.line().endswith("vermutete Stelle: grundsaetze-ki#transparenz-1 (2×)")
    assert "vermutete Stelle" not in second.line()
    assert report.to_json()["refused_groups"][0]["guesses"] == [
        {"passage": "grundsaetze-ki#transparenz-1", "count": 2}
    ]
    assert report.cited == [], "a guess in a refusal is no citation"


def test_report_counts_refusals_citations_and_time_range() -> None:
    audit = [
        {"time": "2026-11-01T10:00:00+00:00", "question": "Urlaub?", "abstained": True, "passages": []},
        {
            "time": "2026-11-02T10:00:00+00:00",
            "question": "Kennzeichnen?",
            "abstained": False,
            "passages": [{"id": "grundsaetze-ki#transparenz-1", "stand": "2026-11-25"}],
        },
        {"time": "2026-10-01T10:00:00+00:00", "question": "Alt?", "abstained": True, "passages": []},
    ]
    import datetime as dt

    report = build_report(
        audit, [], ["grundsaetze-ki", "referat-digitalisierung"], since=dt.date(2026, 11, 1)
    )
    assert (report.answers, report.refused) == (2, 1)
    assert report.cited == [("grundsaetze-ki", 1)]
    assert report.never_cited == ["referat-digitalisierung"]


def test_a_report_with_gaps_shows_the_one_step_to_an_example_question() -> None:
    from bot.chat.report import format_report, format_report_markdown

    declined = [
        {"time": "2026-11-01T10:00:00+00:00", "question": "Urlaub?", "abstained": True, "passages": []}
    ]
    with_gap = build_report(declined, [], ["grundsaetze-ki"])
    without = build_report([], [], ["grundsaetze-ki"])
    step = 'python -m bot fragen --aus-luecke "FRAGE" --abschnitt "DOKUMENT#Überschrift"'
    assert format_report(with_gap).endswith(step) and f"`{step}`" in format_report_markdown(with_gap)
    assert "--aus-luecke" not in format_report(without) + format_report_markdown(without)


def test_report_command_reads_the_audit_the_cli_wrote(real_settings, tmp_path) -> None:
    data_dir = tmp_path / "data"
    questions = (
        "Wie beantrage ich Urlaub?\nWie beantrage ich Urlaub im Dezember?\nMuss ich KI-Texte kennzeichnen?\n"
    )
    asked = run_bot(["ask", "--json", "-"], real_settings, stdin=questions, data_dir=data_dir)
    assert asked.returncode == 0, asked.stderr
    result = run_bot(["report", "--json"], real_settings, data_dir=data_dir)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["answers"] == 3 and data["refused"] == 2
    assert data["refused_groups"][0]["count"] == 2
    assert data["cited"][0]["document"] == "grundsaetze-ki"
    assert "code-of-conduct-demokratische-ki" in data["never_cited"]


def test_questions_asked_back_and_picks_are_counted_and_listed_per_section() -> None:
    from bot.chat.report import format_report, format_report_markdown

    day = "2026-12-02T10:00:00+00:00"
    audit = [
        {"time": day, "kind": "answer", "question": "a", "abstained": False,
         "passages": [{"id": "grundsaetze-ki#transparenz-1", "role": "quote"}]},
        {"time": day, "kind": "choice", "question": "b", "abstained": True,
         "passages": [{"id": "grundsaetze-ki#transparenz-1", "role": "choice"},
                      {"id": "ki-beim-asb-nrw#x-1", "role": "choice"}]},
        {"time": day, "kind": "refusal", "question": "Wie beantrage ich Urlaub?", "abstained": True,
         "passages": [{"id": "referat-digitalisierung#start-1", "role": "contact"}]},
        {"time": day, "kind": "error", "question": "", "abstained": True, "error": True, "passages": []},
    ]  # fmt: skip
    picks = [
        {"time": day, "question": "muss ich das *markieren*", "picked": "grundsaetze-ki#transparenz-1",
         "doc_id": "grundsaetze-ki", "section": "Transparenz"},
        {"time": day, "question": "ki texte kennzeichnen?", "picked": "grundsaetze-ki#transparenz-1",
         "doc_id": "grundsaetze-ki", "section": "Transparenz"},
        {"time": day, "question": "Gibt es KI-Schulungen?", "picked": None, "doc_id": None, "section": None},
        {"time": "2026-01-01T10:00:00+00:00", "question": "alt", "picked": None},
    ]  # fmt: skip
    report = build_report(
        audit, [], ["grundsaetze-ki", "ki-beim-asb-nrw"], since=dt.date(2026, 12, 1), picks=picks
    )
    assert (report.answers, report.asked_back, report.refused) == (3, 1, 2)  # "Nichts davon" is a gap too
    assert report.cited == [("grundsaetze-ki", 1)]  # candidates offered are no citation
    assert report.picks == [
        ("grundsaetze-ki#Transparenz", ["muss ich das *markieren*", "ki texte kennzeichnen?"])
    ]
    assert {q for g in report.refused_groups for q in g.questions} == {
        "Wie beantrage ich Urlaub?",
        "Gibt es KI-Schulungen?",
    }
    text = format_report(report)
    assert "1 zurückgefragt" in text and "2× grundsaetze-ki#Transparenz" in text and "--aus-auswahl" in text
    assert "\\*markieren\\*" in format_report_markdown(report)  # what staff typed is shown literally
    assert report.to_json()["picks"][0]["section"] == "grundsaetze-ki#Transparenz"
