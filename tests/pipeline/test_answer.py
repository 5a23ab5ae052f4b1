"""Answers quote verbatim with citations that point at listed sources, and always disclose the AI."""

from __future__ import annotations

import math
import re

import pytest

from bot.errors import QuestionError
from bot.pipeline.answer import ASK_BACK, NONE_OF_THEM, SourceRole, heading_of, preview
from bot.pipeline.assistant import NOTHING_CHOSEN
from bot.pipeline.decide import AnswerKind
from tests.support.decisions import ALWAYS_ANSWER, deciding

QUOTE = re.compile(r"„(.+?)“ \[(\d+)\]")


@pytest.mark.parametrize(
    "question",
    [
        "Muss ich Inhalte kennzeichnen, die mit KI erstellt wurden?",
        "Welche Prinzipien hat der ASB zu KI formuliert?",
        "Wer leitet das Referat Digitalisierung?",
        "Darf ich Namen von Klienten in ein KI-Tool eingeben und muss ich das Ergebnis prüfen?",
    ],
)
def test_every_quote_is_verbatim_from_the_source_it_cites(assistant, tmp_path, question: str) -> None:
    answer = deciding(assistant, tmp_path, **ALWAYS_ANSWER).ask(question).answer
    assert not answer.abstained
    quotes = QUOTE.findall(answer.text)
    assert quotes
    cited = {int(n) for _, n in quotes}
    assert cited == {s.n for s in answer.sources}, "only sources the answer uses are listed"
    by_n = {s.n: s.passage for s in answer.sources}
    for quote, n in quotes:
        passage = by_n[int(n)]
        flat = " ".join(passage.text.split())
        pieces = [q.strip() for q in quote.split(", ")] if "\n" in passage.text else [quote]
        assert all(piece in flat or piece in passage.section for piece in pieces), (quote, passage.id)
    assert "KI-Assistent" in answer.disclosure


def test_refusal_names_the_referat_and_cites_its_contact(assistant) -> None:
    answer = assistant.ask("Wie wird das Wetter morgen?").answer
    assert answer.abstained
    assert "Referat Digitalisierung" in answer.text
    assert answer.sources and all(s.passage.doc_id == "referat-digitalisierung" for s in answer.sources)
    assert "finis(at)asb-nrw.de" in answer.text
    assert answer.disclosure


UNSURE = "Wer hat am Ende das letzte Wort – das Programm oder ein Mensch?"


def test_an_unsure_question_is_asked_back_with_rules_from_different_sections(assistant, tmp_path) -> None:
    asking = deciding(assistant, tmp_path, answer_right=1.01, choice_in_scope=0.0)
    answer = asking.ask(UNSURE).answer
    assert answer.kind is AnswerKind.CHOICE and answer.abstained
    assert answer.text.startswith(ASK_BACK) and NONE_OF_THEM in answer.text
    assert "keine passende Stelle" not in answer.text  # no refusal before the rules
    choices = answer.choices
    assert 2 <= len(choices) <= 3 and choices == answer.sources
    sections = {(s.passage.doc_id, s.passage.headings) for s in choices}
    assert len(sections) == len(choices), "every candidate from another section"
    for s in choices:  # each shown by its heading and the first words of its rule
        assert f"[{s.n}] {heading_of(s.passage)}: „{preview(s.passage)}“" in answer.text
        assert preview(s.passage).split()[0] in s.passage.text
    data = answer.to_json()
    assert data["kind"] == "choice" and data["abstained"] is True
    assert [src["role"] for src in data["sources"]] == ["choice"] * len(choices)
    assert {"n", "id", "title", "section", "stand", "text"} <= set(data["sources"][0])
    assert answer.provenance()["kind"] == "choice"
    assert answer.source_lists() == [("Zur Auswahl", choices)]


def test_a_pick_answers_the_original_question_from_that_passage_alone(assistant, tmp_path) -> None:
    asking = deciding(assistant, tmp_path, answer_right=1.01, choice_in_scope=0.0)
    offered = asking.ask(UNSURE).answer.choices
    for source in offered:
        picked = asking.ask(UNSURE, choice=source.passage.id).answer
        assert picked.kind is AnswerKind.ANSWER and "KI-Assistent" in picked.disclosure
        assert picked.sources[0].passage.id == source.passage.id
        assert all(q.n == 1 or picked.sources[q.n - 1].role is SourceRole.CONTACT for q in picked.quotes)
        flat = " ".join(source.passage.text.split())
        assert all(q.text in flat for q in picked.quotes if q.n == 1)
    nothing = asking.ask(UNSURE, choice=NOTHING_CHOSEN).answer
    assert nothing.kind is AnswerKind.REFUSAL and "Referat Digitalisierung" in nothing.text
    assert {s.role for s in nothing.sources} == {SourceRole.CONTACT}
    with pytest.raises(QuestionError, match="Auswahl gibt es"):
        asking.ask(UNSURE, choice="gibt-es-nicht#1")


def test_the_bands_decide_exactly_at_their_edges(assistant, tmp_path) -> None:
    turn = assistant.ask(UNSURE)
    assert turn.decision is not None and turn.retrieval is not None
    confidence, right = turn.decision.confidence, turn.decision.right
    answering = deciding(assistant, tmp_path, answer_in_scope=confidence, answer_right=right)
    assert answering.ask(UNSURE).answer.kind is AnswerKind.ANSWER
    not_quite = deciding(
        assistant, tmp_path, answer_in_scope=confidence, answer_right=right + 1e-4, choice_in_scope=0.0
    )
    assert not_quite.ask(UNSURE).answer.kind is AnswerKind.CHOICE
    asked = deciding(assistant, tmp_path, answer_right=1.01, choice_in_scope=confidence)
    assert asked.ask(UNSURE).answer.kind is AnswerKind.CHOICE
    refused = deciding(assistant, tmp_path, answer_right=1.01, choice_in_scope=confidence + 1e-4)
    answer = refused.ask(UNSURE).answer
    assert answer.kind is AnswerKind.REFUSAL and [s.role for s in answer.sources] == ["contact", "contact"]


@pytest.mark.parametrize(
    ("confidence", "right", "choices", "kind"),
    [
        (0.9, 0.9, 3, AnswerKind.ANSWER),
        (0.9, 0.5, 3, AnswerKind.CHOICE),  # in scope, but which rule?
        (0.6, 0.9, 3, AnswerKind.CHOICE),  # sure of the rule, not quite sure it is in scope
        (0.9, 0.5, 1, AnswerKind.REFUSAL),  # one candidate is no choice
        (0.2, 0.9, 3, AnswerKind.REFUSAL),  # nothing close
    ],
)
def test_both_the_confidence_and_the_rule_decide(assistant, confidence, right, choices, kind) -> None:
    import dataclasses

    from bot.pipeline.calibration import Bands, Calibration, Logistic
    from bot.pipeline.decide import decide

    real = assistant.retriever.search(UNSURE)
    retrieval = dataclasses.replace(real, confidence=confidence, choices=real.hits[:choices])
    # A "right" model that returns `right` whatever the signals: the bias alone.
    bias = math.log(right / (1 - right))
    calibration = Calibration(Logistic({}, 0.0), Logistic({}, bias), Bands(0.7, 0.8, 0.3))
    decision = decide(retrieval, calibration)
    assert decision.kind is kind
    assert decision.candidates == (retrieval.choices if kind is AnswerKind.CHOICE else ())


def test_a_refusal_without_contact_passages_still_names_the_referat(assistant) -> None:
    from bot.pipeline.answer import NO_CONTACT, Question, decline

    answer = decline(Question("?"), assistant.settings, [])
    assert answer.abstained and answer.text == NO_CONTACT and answer.sources == []


@pytest.mark.parametrize("question", ["", "   ", "\n\t", "?!", None])
def test_empty_questions_get_a_polite_hint(assistant, question) -> None:
    with pytest.raises(QuestionError, match="Bitte stellen Sie eine Frage"):
        assistant.ask(question)


def test_overlong_question_is_cut_with_a_note(assistant) -> None:
    answer = assistant.ask("Muss ich KI-Inhalte kennzeichnen? " + "bla " * 5000).answer
    assert answer.notes and "ersten 1000 Zeichen" in answer.notes[0]
    assert len(answer.question) <= 1000


def test_asking_whom_to_ask_names_the_contact(assistant) -> None:
    answer = assistant.ask("Wen kann ich bei Fragen zu KI ansprechen?").answer
    assert not answer.abstained
    assert "Expert:innen-Team" in answer.text and "finis(at)asb-nrw.de" in answer.text
    assert [s.passage.doc_id for s in answer.sources] == ["referat-digitalisierung"] * 2


def test_errors_disclose_the_ai_without_claiming_sources(real_settings) -> None:
    from bot.pipeline.assistant import error_answer

    answer = error_answer("x", "Kein Index gefunden.", real_settings)
    assert answer.sources == [] and "KI-Assistent" in answer.disclosure
    assert "genannten" not in answer.disclosure


@pytest.mark.parametrize(
    ("question", "items"),
    [
        (
            "Welche Grundsätze gibt es?",
            ["Der Mensch steht im Mittelpunkt", "Transparenz", "Datenschutz und Sicherheit",
             "Autonomie und Kontrolle", "Fairness und Nicht-Boshaftigkeit"],
        ),
        ("Welche fünf Grundsätze gelten für KI beim ASB in NRW?", None),
        ("Wer arbeitet im Referat?", ["Esther Finis", "Gerrit Suhr", "Aylin Hermanns",
                                      "Nika Levintov-Levitan"]),
        ("Wer gehört alles zum Referat Digitalisierung?", None),
    ],
)  # fmt: skip
def test_an_overview_question_lists_every_item_each_cited(assistant, tmp_path, question: str, items) -> None:
    answer = deciding(assistant, tmp_path, **ALWAYS_ANSWER).ask(question).answer
    assert not answer.abstained and answer.outline is not None
    outline = assistant.index.passage(answer.outline)
    assert len(answer.quotes) == len(outline.parts) >= 4
    # Each item cites the passage it names; sources are exactly those passages.
    assert [s.passage.id for s in answer.sources] == list(outline.parts)
    assert [q.n for q in answer.quotes] == [s.n for s in answer.sources]
    for quote, source in zip(answer.quotes, answer.sources, strict=True):
        assert quote.text.startswith(source.passage.headings[-1])  # verbatim heading (or address)
    if items:
        assert [q.text.split(",")[0] for q in answer.quotes] == items


def test_a_list_in_the_text_is_quoted_whole(assistant) -> None:
    answer = assistant.ask("Welche Prinzipien hat der ASB formuliert?").answer
    assert answer.outline is None
    quoted = [q.text for q in answer.quotes]
    assert "Daher haben wir die folgenden Prinzipien formuliert:" in quoted
    assert sum(q.startswith(("KI", "Wenn wir KI", "Wir wollen KI")) for q in quoted) == 4


@pytest.mark.parametrize(
    ("question", "passage_id"),
    [
        ("Was bedeutet Transparenz?", "grundsaetze-ki#transparenz-1"),
        ("Wer leitet das Referat?", "referat-digitalisierung#esther-finis-1"),
        ("Welche Regeln gelten beim Datenschutz?", "grundsaetze-ki#datenschutz-und-sicherheit-1"),
    ],
)
def test_a_question_about_one_item_lands_on_that_item(assistant, question: str, passage_id: str) -> None:
    answer = assistant.ask(question).answer
    assert answer.outline is None and answer.sources[0].passage.id == passage_id


def test_each_quote_stands_under_its_heading_the_answering_sentence_first(assistant) -> None:
    answer = assistant.ask("Muss ich Inhalte kennzeichnen, die mit KI erstellt wurden?").answer
    lines = answer.text.splitlines()
    assert lines[2] == "Transparenz:" and answer.quotes[0].heading == "Transparenz"
    assert "kennzeichnen" in answer.quotes[0].text  # the sentence that answers, not the first one
    assert lines[3] == f"„{answer.quotes[0].text}“ [1]"
    assert len(answer.quotes) <= 3


def test_quote_precision_and_answer_recall_count_what_the_answer_says(assistant) -> None:
    from bot.ops.evaluate import GoldQuestion, _answer_quality

    answer = assistant.ask("Muss ich Inhalte kennzeichnen, die mit KI erstellt wurden?").answer
    right = GoldQuestion("r", "direkt", answer.question, ["Wir kennzeichnen Inhalte"], [])
    wrong = GoldQuestion("w", "direkt", answer.question, ["Nichtdiskriminierung, Vielfalt"], [])
    good, bad = _answer_quality(right, answer), _answer_quality(wrong, answer)
    assert good.quoted == bad.quoted == len(answer.quotes)
    assert good.quoted_right == sum(q.n == 1 for q in answer.quotes) and good.recalled
    assert bad.quoted_right == 0 and not bad.recalled


def test_the_side_panel_text_marks_exactly_the_quotes() -> None:
    from bot.pipeline.render import marked

    text = "Erster Satz. Wir kennzeichnen Inhalte. Jede*r prüft."
    assert (
        marked(text, ["Wir kennzeichnen Inhalte."])
        == "Erster Satz. **Wir kennzeichnen Inhalte.** Jede\\*r prüft."
    )
    block = "Leitung Referat\nKöln"
    assert marked(block, ["Esther Finis, Leitung Referat, Köln"]) == "**Leitung Referat**\n**Köln**"
    assert marked(text, ["nicht im Text"]) == "Erster Satz. Wir kennzeichnen Inhalte. Jede\\*r prüft."
