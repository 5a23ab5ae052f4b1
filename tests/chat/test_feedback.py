"""Feedback reasons read from a staff member's comment."""

from __future__ import annotations

import pytest

from bot.chat.feedback import reasons_in


@pytest.mark.parametrize(
    ("comment", "reasons"),
    [
        ("Falsche Quelle!", ["falsche Quelle"]),
        ("das ist veraltet und unvollständig", ["veraltet", "unvollständig"]),
        ("Verstehe ich nicht, zu kompliziert", ["unverständlich"]),
        ("Der Inhalt fehlt", ["unvollständig"]),  # "Inhalt" is not "alt"
        ("nicht mehr aktuell", ["veraltet"]),
        ("super", []),
        (None, []),
    ],
)
def test_feedback_reasons_are_read_from_the_comment(comment: str | None, reasons: list[str]) -> None:
    assert reasons_in(comment) == reasons
