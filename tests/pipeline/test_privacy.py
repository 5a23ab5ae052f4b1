"""The data-protection guard: German-aware, precise on look-alikes, and its answers still come."""

from __future__ import annotations

import json

import pytest

from bot.pipeline.decide import AnswerKind
from bot.pipeline.german import words
from bot.pipeline.privacy import find_personal_data, redact
from tests.support import REPO

CASES = [
    json.loads(line) for line in (REPO / "tests" / "gold" / "privacy.jsonl").read_text("utf-8").splitlines()
]
PUBLIC = frozenset(words((REPO / "corpus" / "referat-digitalisierung.md").read_text("utf-8")))


def test_labelled_set_precision_and_recall() -> None:
    assert len(CASES) >= 40
    tp = fp = fn = 0
    for case in CASES:
        flagged = bool(find_personal_data(case["question"], public_words=PUBLIC))
        tp += flagged and case["personal"]
        fp += flagged and not case["personal"]
        fn += case["personal"] and not flagged
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    print(f"privacy guard: precision {precision:.3f}, recall {recall:.3f} on {len(CASES)} questions")
    assert precision >= 0.95 and recall >= 0.95


@pytest.mark.parametrize("case", [c for c in CASES if c["personal"]], ids=lambda c: c["kind"])
def test_each_kind_is_found_and_redacted(case: dict) -> None:
    findings = find_personal_data(case["question"], public_words=PUBLIC)
    assert case["kind"] in {f.kind for f in findings}
    redacted = redact(case["question"], findings)
    assert f"[{case['kind']}]" in redacted
    for f in findings:
        assert case["question"][f.start : f.end] not in redacted


def test_answer_carries_the_warning_and_is_still_given(assistant) -> None:
    answer = assistant.ask(
        "Darf ich den Arztbrief von Frau Müller (geb. 12.03.1948) in ChatGPT kopieren?"
    ).answer
    assert answer.privacy_warning and "personenbezogene Daten" in answer.privacy_warning
    # Still answered (or asked back), never refused for carrying personal data.
    assert answer.kind in (AnswerKind.ANSWER, AnswerKind.CHOICE)
    assert answer.sources[0].passage.id == "grundsaetze-ki#datenschutz-und-sicherheit-1"
    assert answer.to_json()["privacy_warning"] == answer.privacy_warning
    assert assistant.ask("Telefonnummer von Frau Hermanns?").answer.privacy_warning is None


def test_nothing_personal_is_stored_in_clear(real_settings, embeddings, tmp_path) -> None:
    from bot.pipeline.assistant import Assistant
    from bot.pipeline.audit import AuditLog, PickLog
    from bot.pipeline.index import open_index

    data_dir = tmp_path / "data"
    index = open_index(real_settings, embeddings)
    assistant = Assistant(real_settings, index, AuditLog(data_dir), PickLog(data_dir))
    secrets = ["Müller", "12.03.1948", "0176 98765432", "anna.schmidt@web.de", "DE89 3704 0044 0532 0130 00"]
    letter = "Darf ich den Arztbrief von Frau Müller (geb. 12.03.1948) in ChatGPT kopieren?"
    assistant.ask(letter)
    assistant.ask("Kann ich 0176 98765432 und anna.schmidt@web.de in die KI geben?", channel="ui")
    assistant.ask("IBAN DE89 3704 0044 0532 0130 00 in ein KI-Tool?")
    # A pick after a question asked back is stored redacted too, and forgotten with the account.
    assistant.ask(letter, channel="ui", choice="grundsaetze-ki#datenschutz-und-sicherheit-1", user="anna")
    stored = "".join(p.read_text(encoding="utf-8") for p in data_dir.rglob("*") if p.is_file())
    assert stored, "the audit must have recorded the answers"
    for secret in secrets:
        assert secret not in stored
    picks = PickLog(data_dir).read()
    assert [(p["picked"], p["user"]) for p in picks] == [
        ("grundsaetze-ki#datenschutz-und-sicherheit-1", "anna")
    ]
    assert "[Name]" in picks[0]["question"]
    assert PickLog(data_dir).forget("anna") == 1 and PickLog(data_dir).read() == []
    lines = AuditLog(data_dir).read()
    assert len(lines) == 4 and lines[1]["channel"] == "ui"
    assert (
        lines[0]["passages"][0]["id"]
        == lines[3]["passages"][0]["id"]
        == "grundsaetze-ki#datenschutz-und-sicherheit-1"
    )
    assert lines[3]["passages"][0] == {
        "id": "grundsaetze-ki#datenschutz-und-sicherheit-1",
        "stand": "2026-11-25",
        "role": "quote",
    }
    assert all(line["corpus_hash"] and line["privacy_warning"] for line in lines)
