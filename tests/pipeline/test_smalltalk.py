"""Small talk gets a short fixed reply with the disclosure, never a policy quote or the refusal."""

from __future__ import annotations

import pytest

from bot.pipeline.smalltalk import recognise, without_greeting


@pytest.mark.parametrize(
    ("message", "intent"),
    [
        ("hallo", "gruss"),
        ("Halo!", "gruss"),
        ("moin", "gruss"),
        ("Servus", "gruss"),
        ("Guten Morgen, wie geht's dir?", "gruss"),
        ("hi there", "gruss"),
        ("danke!", "dank"),
        ("Dankee", "dank"),
        ("thx", "dank"),
        ("vielen Dank, super!", "dank"),
        ("Was kannst du?", "hilfe"),
        ("Hilfe", "hilfe"),
        ("what can you do?", "hilfe"),
        ("Wer bist du?", "hilfe"),
        ("tschüss", "abschied"),
    ],
)
def test_small_talk_is_recognised_with_typos_and_in_english(message: str, intent: str) -> None:
    talk = recognise(message)
    assert talk is not None and talk.intent == intent
    assert "Fragen Sie zum Beispiel" in talk.reply or intent == "abschied"


@pytest.mark.parametrize(
    "message",
    [
        "Hallo, darf ich Klientendaten in ChatGPT kopieren?",
        "Was kannst du mir über Datenschutz sagen?",
        "Hilfe, ich habe Namen in ChatGPT kopiert",
        "Danke, und wer entscheidet am Ende?",
        "Wie geht das mit der Kennzeichnung?",
        "was",
        "",
    ],
)
def test_a_real_question_is_no_small_talk(message: str) -> None:
    assert recognise(message) is None


def test_a_greeting_before_a_question_is_dropped_for_the_search() -> None:
    assert without_greeting("Hallo, darf ich Daten kopieren?") == "darf ich Daten kopieren?"
    assert without_greeting("Guten Morgen! Wer entscheidet?") == "Wer entscheidet?"
    assert without_greeting("Hallo") == "Hallo"  # nothing behind it: keep the message


def test_the_assistant_replies_to_small_talk_with_the_disclosure_and_no_sources(assistant) -> None:
    for message in ["hallo", "danke!", "Was kannst du?", "Guten Morgen, wie geht's dir?"]:
        answer = assistant.ask(message).answer
        assert answer.kind == "smalltalk" and answer.sources == [] and not answer.abstained
        assert "KI-Assistent" in answer.disclosure and "Frage" in answer.text
        assert "keine passende Stelle" not in answer.text and "„" not in answer.text
    question = assistant.ask("Hallo, darf ich Klientendaten in ChatGPT kopieren?").answer
    assert question.kind == "answer"
    assert question.sources[0].passage.id == "grundsaetze-ki#datenschutz-und-sicherheit-1"


def test_eval_counts_small_talk_as_neither_answered_nor_refused(assistant) -> None:
    from bot.ops.evaluate import GoldQuestion, run, summarise

    questions = [
        GoldQuestion("a", "ausserhalb", "hallo", [], []),
        GoldQuestion("b", "ausserhalb", "Wie wird das Wetter morgen?", [], []),
        GoldQuestion("c", "direkt", "danke", ["Wir kennzeichnen Inhalte"], []),
    ]
    total = summarise(run(assistant, questions))["gesamt"]
    assert total["smalltalk"] == 2 and total["refused"] == 1.0 and total["answered"] == 0.0
