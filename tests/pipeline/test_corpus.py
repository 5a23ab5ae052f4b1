"""The corpus is the association's page, verbatim; documents are validated with German messages."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.errors import CorpusError
from bot.pipeline.corpus import load_corpus, parse_document
from tests.support import REPO, write_doc

SOURCE = REPO.parent / "shared" / "source-documents" / "asb-nrw-kuenstliche-intelligenz.txt"
# Lines of the page that are navigation, not policy text (link labels and an image caption).
NAVIGATION = {
    "Mehr zum Projekt",
    "Jetzt mehr erfahren",
    "Podcast-Folge anhören",
    "Alle Podcast-Folgen",
    "Künstliche Intelligenz beim ASB in NRW",
}


def _squash(text: str) -> str:
    """Text without white space and Markdown marks: the page glues headings, Markdown splits them."""
    return re.sub(r"[\s#*•>_\-]+", "", text)


def _corpus_text() -> str:
    loaded = load_corpus(REPO / "corpus")
    return "\n".join(d.meta.titel + "\n" + d.body for d in loaded.documents)


@pytest.mark.skipif(not SOURCE.is_file(), reason="source page not beside the repository")
def test_every_line_of_the_source_page_is_in_the_corpus_verbatim() -> None:
    corpus = _squash(_corpus_text())
    lines = [ln.strip() for ln in SOURCE.read_text(encoding="utf-8").splitlines()]
    policy = [ln for ln in lines if ln and ln not in NAVIGATION]
    assert len(policy) > 60
    missing = [ln for ln in policy if _squash(ln) not in corpus]
    assert missing == []


@pytest.mark.skipif(not SOURCE.is_file(), reason="source page not beside the repository")
def test_every_sentence_of_the_corpus_bodies_comes_from_the_source() -> None:
    """Nothing invented: each body line (headings and list marks aside) is on the page."""
    source = _squash(SOURCE.read_text(encoding="utf-8"))
    for doc in load_corpus(REPO / "corpus").documents:
        for line in doc.body.splitlines():
            text = line.strip().lstrip("#-* ").strip()
            if text:
                assert _squash(text) in source, f"{doc.path.name}: {text!r}"


def test_real_corpus_is_valid_and_released() -> None:
    loaded = load_corpus(REPO / "corpus")
    assert loaded.problems == []
    assert len(loaded.documents) == 5
    assert {d.meta.status for d in loaded.documents} == {"freigegeben"}
    assert all(d.meta.verantwortlich and d.meta.quelle for d in loaded.documents)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"---\ntitel: [unclosed\n---\nText\n", "kein gültiges YAML"),
        (b"", "leer"),
        (b"\x00\x01binary", "keine Textdatei"),
        ("---\ntitel: Ä\n---\n".encode("latin-1"), "nicht UTF-8"),
        (b"Nur Text ohne Kopfdaten\n", "Kopfdaten"),
    ],
)
def test_broken_files_get_a_german_message_naming_the_file(
    tmp_path: Path, content: bytes, expected: str
) -> None:
    path = tmp_path / "kaputt.md"
    path.write_bytes(content)
    with pytest.raises(CorpusError) as err:
        parse_document(path)
    assert "kaputt.md" in str(err.value)
    assert expected in str(err.value)


def test_unknown_field_and_bad_status_are_named(tmp_path: Path) -> None:
    path = write_doc(tmp_path, "doc", status="fertig")
    path.write_text(
        path.read_text(encoding="utf-8").replace("status:", "farbe: rot\nstatus:"), encoding="utf-8"
    )
    with pytest.raises(CorpusError) as err:
        parse_document(path)
    message = str(err.value)
    assert "unbekanntes Feld „farbe“" in message
    assert "freigegeben, entwurf oder archiviert" in message


def test_a_broken_document_is_reported_and_the_rest_kept(tmp_path: Path) -> None:
    write_doc(tmp_path, "gut")
    (tmp_path / "schlecht.md").write_bytes(b"\xff\xfe kaputt")
    loaded = load_corpus(tmp_path)
    assert [d.id for d in loaded.documents] == ["gut"]
    assert len(loaded.problems) == 1 and "schlecht.md" in loaded.problems[0]


def test_check_reports_each_problem_as_file_line_message(tmp_path: Path) -> None:
    from bot.pipeline.corpus import check_corpus

    write_doc(tmp_path, "a", titel="Synthetisch doppelt")
    write_doc(
        tmp_path, "b", titel="Synthetisch doppelt", body="Frau Beispielname ruft unter 0221 1234567 an."
    )
    write_doc(tmp_path, "c", titel="Synthetisch leer", body="Text.\n\n## Leer\n\n## Voll\n\nText.")
    bad = write_doc(tmp_path, "d", titel="Synthetisch kaputt")
    bad.write_text(bad.read_text(encoding="utf-8").replace("stand: 2026-01-01", "stand: 2026-13-45"))
    errors, warnings, count = check_corpus(tmp_path)
    text = "\n".join(errors)
    assert count == 3
    assert re.search(r"^b\.md:2: Der Titel „Synthetisch doppelt“ steht schon in a\.md\.$", text, re.M)
    assert re.search(r"^b\.md:12: Personenbezogene Daten \(Name\)", text, re.M)
    assert re.search(r"^b\.md:12: Personenbezogene Daten \(Telefonnummer\)", text, re.M)
    assert re.search(r"^c\.md:14: Leerer Abschnitt", text, re.M)
    assert re.search(r"^d\.md:5: Fehler in den Kopfdaten: ein Datum ist ungültig", text, re.M)
    assert all(re.match(r"^[\w.-]+\.md:\d+: ", m) for m in errors + warnings)


def test_official_contacts_may_carry_contact_data() -> None:
    from bot.pipeline.corpus import check_corpus

    errors, _, _ = check_corpus(REPO / "corpus")
    assert errors == []


def test_a_50_mb_file_is_refused_by_name_and_the_rest_is_read(tmp_path: Path) -> None:
    write_doc(tmp_path, "gut")
    with (tmp_path / "riesig.md").open("wb") as handle:
        handle.truncate(50_000_000)  # sparse: 50 MB without writing them
    loaded = load_corpus(tmp_path)
    assert [d.id for d in loaded.documents] == ["gut"]
    assert loaded.problems == ["riesig.md:1: Die Datei ist mit 50.0 MB zu groß (höchstens 2 MB)."]
