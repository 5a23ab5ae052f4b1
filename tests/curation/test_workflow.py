"""A document's way: draft, edit, release with four eyes, withdraw, restore; each step recorded,
and a refused step changes nothing."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from bot.config import Settings
from bot.curation import workflow
from bot.curation.fields import Heading, headings, split
from bot.curation.versions import CorpusStore, sha256
from bot.errors import CorpusError
from bot.pipeline.corpus import parse_document
from tests.support import write_doc

TODAY = dt.date(2026, 6, 1)


@pytest.fixture
def store(tmp_path: Path) -> CorpusStore:
    return CorpusStore(tmp_path / "corpus", tmp_path / "data")


def _settings(store: CorpusStore) -> Settings:
    return Settings(corpus_dir=store.corpus_dir, data_dir=store.folder.parent)


def _uploaded(store: CorpusStore, name: str, who: str = "anna", **doc: str) -> str:
    """A draft as an upload by `who` leaves it (synthetic text)."""
    text = write_doc(store.folder.parent / "quelle", name, status="entwurf", **doc).read_bytes()
    store.write(name, text, who, "hochgeladen", "synthetische Testdatei", status="entwurf")
    return name


def _files(store: CorpusStore) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(store.corpus_dir.glob("*.md"))}


def _release(store: CorpusStore, doc_id: str, who: str, four_eyes: bool = True):
    return workflow.release(store, _settings(store), doc_id, who, four_eyes=four_eyes, today=TODAY)


def test_four_eyes_the_author_cannot_release_another_member_can(store: CorpusStore) -> None:
    _uploaded(store, "merkblatt")
    before = _files(store)
    with pytest.raises(workflow.Conflict, match="Vier-Augen"):
        _release(store, "merkblatt", "anna")
    assert _files(store) == before and len(store.changes("merkblatt")) == 1
    done = _release(store, "merkblatt", "bernd")
    assert parse_document(store.path("merkblatt")).meta.status == "freigegeben"
    release = done[0]
    assert (release.who, release.action, release.status) == ("bernd", "freigegeben", "freigegeben")
    assert release.details == {"fassung": 1, "verfasst_von": "anna", "vier_augen": True}
    with pytest.raises(workflow.Conflict, match="schon freigegeben"):
        _release(store, "merkblatt", "carla")


def test_without_four_eyes_the_author_may_release(store: CorpusStore) -> None:
    _uploaded(store, "merkblatt")
    _release(store, "merkblatt", "anna", four_eyes=False)
    assert parse_document(store.path("merkblatt")).meta.status == "freigegeben"


@pytest.mark.parametrize(
    ("mode", "accounts", "on"), [("auto", 1, False), ("auto", 2, True), ("on", 1, True), ("off", 5, False)]
)
def test_four_eyes_setting(mode: str, accounts: int, on: bool) -> None:
    assert workflow.four_eyes_on(mode, accounts) is on


def test_the_last_writer_counts_as_author(store: CorpusStore) -> None:
    _uploaded(store, "merkblatt")
    base = sha256(store.read("merkblatt"))
    workflow.edit(store, "merkblatt", "bernd", workflow.Edit(base, {"quelle": "Geprüfte Quelle"}))
    with pytest.raises(workflow.Conflict, match="Vier-Augen"):
        _release(store, "merkblatt", "bernd")
    _release(store, "merkblatt", "anna")  # anna reviews bernd's change; bernd saw anna's upload


def test_a_release_is_refused_while_the_check_finds_an_error(store: CorpusStore) -> None:
    _uploaded(store, "merkblatt", body="Bei Fragen Frau Müller anrufen: 0211 9876543.")
    with pytest.raises(workflow.Conflict, match="Personenbezogene Daten"):
        _release(store, "merkblatt", "bernd")
    assert parse_document(store.path("merkblatt")).meta.status == "entwurf"


def test_a_release_checks_what_was_reviewed(store: CorpusStore) -> None:
    _uploaded(store, "merkblatt")
    reviewed = sha256(store.read("merkblatt"))
    workflow.edit(store, "merkblatt", "anna", workflow.Edit(reviewed, {"titel": "Anders"}))
    with pytest.raises(workflow.Conflict, match="inzwischen geändert"):
        workflow.release(
            store, _settings(store), "merkblatt", "bernd", four_eyes=True, base=reviewed, today=TODAY
        )


def test_a_new_version_withdraws_the_one_it_replaces(store: CorpusStore) -> None:
    _uploaded(store, "alt", titel="Synthetische Regel")
    _release(store, "alt", "bernd")
    _uploaded(store, "neu", titel="Synthetische Regel", body="Ein geänderter Satz über Testregeln.")
    base = sha256(store.read("neu"))
    workflow.edit(store, "neu", "anna", workflow.Edit(base, {"ersetzt": "alt"}))
    done = _release(store, "neu", "bernd")  # the same title is no clash: one replaces the other
    assert [(c.document, c.action) for c in done] == [("neu", "freigegeben"), ("alt", "ersetzt")]
    assert parse_document(store.path("alt")).meta.status == "archiviert"


def test_edit_changes_the_named_fields_headings_and_records_the_wording(store: CorpusStore) -> None:
    _uploaded(store, "merkblatt", heading="Regl", body="Ein syn- thetischer Satz.")
    text = store.read("merkblatt").decode()
    heading = headings(split(text).body)[0]
    edit = workflow.Edit(
        sha256(text.encode()),
        {"stand": "2026-05-01", "gueltig_bis": "", "url": "https://example.org/regel"},
        (Heading(heading.line, heading.level, "Regel"),),
        split(text).body.replace("## Regl", "## Regel").replace("syn- thetischer", "synthetischer"),
    )
    change = workflow.edit(store, "merkblatt", "bernd", edit)
    assert change is not None and change.who == "bernd"
    assert "Kopfdaten: stand, url" in change.summary and "Wortlaut korrigiert" in change.summary
    assert "-Ein syn- thetischer Satz." in change.details["wortlaut"]
    doc = parse_document(store.path("merkblatt"))
    assert doc.meta.stand == dt.date(2026, 5, 1) and doc.meta.url == "https://example.org/regel"
    assert "## Regel\n\nEin synthetischer Satz." in doc.body
    assert (
        workflow.edit(store, "merkblatt", "bernd", workflow.Edit(doc.sha256, {"stand": "2026-05-01"})) is None
    )


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"stand": "01.05.2026"}, "kein gültiges Datum"),
        ({"titel": " "}, "titel"),
        ({"gueltig_bis": "2020-01-01"}, "gueltig_bis"),
    ],
)
def test_a_bad_edit_is_refused_and_changes_nothing(store: CorpusStore, values: dict, message: str) -> None:
    _uploaded(store, "merkblatt")
    before, history = _files(store), store.changes()
    with pytest.raises(CorpusError, match=message):
        workflow.edit(store, "merkblatt", "bernd", workflow.Edit(sha256(store.read("merkblatt")), values))
    assert _files(store) == before and store.changes() == history


def test_a_released_text_is_never_edited_or_overwritten(store: CorpusStore) -> None:
    _uploaded(store, "merkblatt")
    _release(store, "merkblatt", "bernd")
    released = store.read("merkblatt")
    with pytest.raises(workflow.Conflict, match="nicht bearbeitet"):
        workflow.edit(store, "merkblatt", "anna", workflow.Edit(sha256(released), {"titel": "Anders"}))
    with pytest.raises(workflow.Conflict, match="nicht überschrieben"):
        workflow.restore(store, "merkblatt", "anna", 1)
    assert store.read("merkblatt") == released


def test_withdraw_then_restore_an_earlier_version_as_a_draft(store: CorpusStore) -> None:
    _uploaded(store, "merkblatt", body="Erste Fassung des Satzes.")
    _release(store, "merkblatt", "bernd")
    change = workflow.withdraw(store, "merkblatt", "anna")
    assert (change.action, change.summary) == ("zurückgezogen", "Freigabe zurückgezogen")
    assert parse_document(store.path("merkblatt")).meta.status == "archiviert"
    with pytest.raises(workflow.Conflict, match="schon zurückgezogen"):
        workflow.withdraw(store, "merkblatt", "anna")
    text = store.read("merkblatt").decode().replace("Erste Fassung", "Zweite Fassung")
    workflow.edit(
        store, "merkblatt", "anna", workflow.Edit(sha256(store.read("merkblatt")), {}, (), split(text).body)
    )
    workflow.restore(store, "merkblatt", "anna", 1)
    doc = parse_document(store.path("merkblatt"))
    assert doc.meta.status == "entwurf" and "Erste Fassung des Satzes." in doc.body
    assert [c.action for c in store.changes("merkblatt")][-1] == "wiederhergestellt"
