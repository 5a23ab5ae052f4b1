"""Imports: PDF, DOCX, HTML and TXT become Markdown drafts that the corpus reader accepts."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.curation.importer import import_file
from bot.errors import CorpusError
from bot.pipeline.corpus import parse_document

RULE = "Synthetische Testregel: Inhalte aus Testsystemen werden vor Gebrauch geprüft."


def _docx(path: Path) -> Path:
    import docx

    document = docx.Document()
    document.add_heading("Synthetisches Merkblatt", level=0)
    document.add_heading("Prüfung", level=1)
    document.add_paragraph(RULE)
    document.add_paragraph("Erster Punkt", style="List Bullet")
    document.add_paragraph("Zweiter Punkt", style="List Bullet")
    document.save(str(path))
    return path


def _pdf(path: Path) -> Path:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=12)
    pdf.set_title("Synthetische PDF-Richtlinie")
    pdf.multi_cell(0, 8, "Synthetische Testregel: Inhalte aus Testsystemen werden vor Gebrauch geprueft.")
    pdf.output(str(path))
    return path


def _html(path: Path) -> Path:
    path.write_text(
        "<html><head><title>Synthetische Webseite</title><script>alert(1)</script></head><body>"
        "<nav>Menü Startseite Kontakt</nav><main><h1>Regeln</h1><p>" + RULE + "</p>"
        "<ul><li>Erster Punkt</li><li>Zweiter Punkt</li></ul></main><footer>Impressum</footer></body></html>",
        encoding="utf-8",
    )
    return path


@pytest.mark.parametrize(
    ("make", "name", "title"),
    [
        (_docx, "merkblatt.docx", "Synthetisches Merkblatt"),
        (_pdf, "richtlinie.pdf", "Synthetische PDF-Richtlinie"),
        (_html, "seite.html", "Synthetische Webseite"),
    ],
)
def test_import_makes_a_valid_draft(tmp_path: Path, make, name: str, title: str) -> None:
    source = make(tmp_path / name)
    result = import_file(source, tmp_path / "corpus")
    doc = parse_document(result.target)
    assert doc.meta.status == "entwurf" and doc.meta.titel == title
    assert name in doc.meta.quelle
    assert "Synthetische Testregel: Inhalte aus Testsystemen werden vor Gebrauch" in doc.body
    if name != "richtlinie.pdf":
        assert "- Erster Punkt\n- Zweiter Punkt" in doc.body
        assert "## " in doc.body
    assert "alert(1)" not in doc.body and "Impressum" not in doc.body and "Menü" not in doc.body


def test_import_never_overwrites(tmp_path: Path) -> None:
    source = tmp_path / "notiz.txt"
    source.write_text("Synthetische Notiz.\n\nZweiter Absatz mit Trenn-\nung.", encoding="utf-8")
    first = import_file(source, tmp_path / "corpus")
    second = import_file(source, tmp_path / "corpus")
    assert first.target != second.target and first.target.exists() and second.target.exists()
    assert "Trennung" in second.target.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("leer.txt", b"", "leer"),
        ("bild.png", b"\x89PNG", "nicht unterstützt"),
        ("kaputt.pdf", b"%PDF-1.4 kaputt", "PDF kann nicht gelesen"),
        ("kaputt.docx", b"PK kein zip", "Word-Datei kann nicht gelesen"),
    ],
)
def test_bad_files_get_a_german_message(tmp_path: Path, name: str, content: bytes, message: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(CorpusError, match=message) as err:
        import_file(path, tmp_path / "corpus")
    assert name in str(err.value)
    assert not (tmp_path / "corpus").exists() or not list((tmp_path / "corpus").iterdir())
