"""The Referat's chat views: documents and the gap report, with what users typed escaped."""

from __future__ import annotations

import json
from pathlib import Path

from bot.chat.feedback import FeedbackLog
from bot.chat.throttle import ThrottleStore
from tests.support.database import run as _run


def test_the_referat_views_show_documents_and_escape_what_users_typed(real_settings, tmp_path: Path) -> None:
    from bot.chat.referat import corpus_status_markdown
    from bot.chat.report import format_report_markdown, gap_report

    status = corpus_status_markdown(real_settings)
    assert "| Künstliche Intelligenz beim ASB in NRW" in status or "ki-beim-asb-nrw" in status
    assert status.count("ja, aktuell") == 5

    settings = real_settings.model_copy(update={"data_dir": tmp_path})
    FeedbackLog(tmp_path).append(
        {
            "time": "2026-11-25T10:00:00+00:00",
            "value": 0,
            "question": "[Link](http://böse.example) *fett*",
            "reason": "veraltet",
        }
    )
    text = format_report_markdown(gap_report(settings))
    assert "\\[Link](http" in text and "\\*fett\\*" in text and "veraltet" in text
    assert "keine fehlgeschlagenen Anmeldungen" in text and not (tmp_path / "chat.db").exists()
    assert json.dumps(gap_report(settings).to_json())  # serialisable for --json

    async def two_failures() -> None:
        store = ThrottleStore(settings)
        try:
            await store.failed("anna", "10.9.9.9", 0, 1_000_000.0)
            await store.failed("unbekannt #0123abcd", "10.9.9.9", 60, 1_000_001.0)
        finally:
            await store.close()

    _run(two_failures())
    report = gap_report(settings)
    assert "2 fehlgeschlagene Anmeldungen (2 Konten, 1 Adresse), davon 1× mit Wartezeit" in (
        format_report_markdown(report)
    )
    assert report.to_json()["signins"] == {"failures": 2, "waits": 1, "accounts": 2, "addresses": 1}
