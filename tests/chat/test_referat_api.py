"""The Referat's JSON API and page, in process: who is let in, the contract's answers, and that every
refusal is JSON with one German sentence. Sign-in is stood in for by a header here; the real cookie
is checked against `chainlit run` in tests/chat/test_referat_view.py."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from bot.chat.rebuild import Rebuilder
from bot.chat.referat_api import Services, routes
from bot.chat.referat_auth import SignedIn
from bot.config import Settings
from bot.curation.versions import CorpusStore
from bot.pipeline.corpus import parse_document
from tests.support import write_doc

ORIGIN = "http://testserver"
PEOPLE = {"anna": "referat", "bernd": "referat", "carla": "mitarbeitende"}


async def _identify(request: Any) -> SignedIn | None:
    name = request.headers.get("x-test-user")
    return SignedIn(name, PEOPLE[name], "header") if name in PEOPLE else None


async def _no_model() -> Any:
    raise AssertionError("no model in this test")


class Builds:
    def __init__(self) -> None:
        self.runs = 0

    def __call__(self) -> str:
        self.runs += 1
        return "Index aktualisiert."


def _client(tmp_path: Path, **setting: Any) -> Iterator[tuple[TestClient, Settings, Builds]]:
    settings = Settings(
        corpus_dir=tmp_path / "corpus",
        index_dir=tmp_path / "index",
        data_dir=tmp_path / "data",
        upload_max_mb=1,
        **setting,
    )
    write_doc(settings.corpus_dir, "bestand", titel="Synthetischer Bestand", body="Ein synthetischer Satz.")
    draft = write_doc(tmp_path / "quelle", "entwurf", titel="Synthetischer Entwurf", status="entwurf")
    CorpusStore(settings.corpus_dir, settings.data_dir).write(
        "entwurf", draft.read_bytes(), "anna", "hochgeladen", "synthetisch", status="entwurf"
    )
    builds = Builds()
    services = Services(settings, _identify, _no_model, Rebuilder(builds), ("https://richtlinien.example",))
    with TestClient(Starlette(routes=routes(services))) as client:
        yield client, settings, builds


@pytest.fixture
def api(tmp_path: Path) -> Iterator[tuple[TestClient, Settings, Builds]]:
    """Two Referat accounts are known (BOT_REFERAT_USERS): four eyes are on by default."""
    yield from _client(tmp_path, referat_users=["anna", "bernd"])


def test_with_one_referat_account_known_four_eyes_are_off_unless_set(tmp_path: Path) -> None:
    for setting, status in (("auto", 200), ("on", 409)):
        for client, _, _ in _client(tmp_path / setting, referat_users=["anna"], four_eyes=setting):
            shown = client.get("/referat/api/status", headers=_as("anna")).json()
            assert shown["vier_augen"] is (setting == "on")
            released = client.post("/referat/api/documents/entwurf/freigeben", headers=_as("anna"))
            assert released.status_code == status


def _as(name: str | None, **headers: str) -> dict[str, str]:
    return ({"x-test-user": name} if name else {}) | headers


ENDPOINTS = [
    ("GET", "/referat/api/documents"),
    ("POST", "/referat/api/documents"),
    ("GET", "/referat/api/documents/entwurf"),
    ("PUT", "/referat/api/documents/entwurf"),
    ("POST", "/referat/api/documents/entwurf/freigeben"),
    ("POST", "/referat/api/documents/entwurf/zurueckziehen"),
    ("POST", "/referat/api/documents/entwurf/wiederherstellen"),
    ("GET", "/referat/api/documents/entwurf/versionen/1"),
    ("POST", "/referat/api/documents/entwurf/selbsttest"),
    ("POST", "/referat/api/documents/entwurf/fragen-entwerfen"),
    ("POST", "/referat/api/documents/entwurf/vorschlag/modell/annehmen"),
    ("POST", "/referat/api/documents/entwurf/vorschlag/auswahl/verwerfen"),
    ("GET", "/referat/api/nutzung"),
    ("GET", "/referat/api/historie"),
    ("GET", "/referat/api/status"),
    ("POST", "/referat/api/index"),
]


def _german_sentence(response) -> str:
    assert response.headers["content-type"].startswith("application/json")
    detail = response.json()["detail"]
    assert isinstance(detail, str) and detail.endswith(".") and detail[0].isupper()
    return detail


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_every_endpoint_refuses_the_signed_out_staff_and_other_sites(api, method: str, path: str) -> None:
    client, settings, builds = api
    before = {p.name: p.read_bytes() for p in settings.corpus_dir.iterdir()}
    nobody = client.request(method, path)
    assert nobody.status_code == 401 and "melden Sie sich" in _german_sentence(nobody)
    staff = client.request(method, path, headers=_as("carla"))
    assert staff.status_code == 403 and "Referat" in _german_sentence(staff)
    for foreign in (
        {"origin": "https://boese.example"},
        {"origin": "null"},
        {"sec-fetch-site": "cross-site"},
    ):
        refused = client.request(method, path, headers=_as("bernd", **foreign))
        assert refused.status_code == 403 and "fremden Seiten" in _german_sentence(refused)
    assert {p.name: p.read_bytes() for p in settings.corpus_dir.iterdir()} == before and builds.runs == 0


def test_the_page_and_origins_of_the_chat_itself(api) -> None:
    client, _, _ = api
    assert client.get("/referat").status_code == 401 and "Anmeldung" in client.get("/referat").text
    assert client.get("/referat", headers=_as("carla")).status_code == 403
    page = client.get("/referat", headers=_as("anna"))
    assert page.status_code == 200 and "/referat/static/referat.js" in page.text
    assert client.get("/referat/static/referat.js").headers["content-type"].startswith("text/javascript")
    assert client.get("/referat/static/../app.py").status_code == 404
    for origin in (ORIGIN, "https://richtlinien.example"):
        assert client.get("/referat/api/documents", headers=_as("anna", origin=origin)).status_code == 200
    unknown = client.delete("/referat/api/documents", headers=_as("anna"))
    assert unknown.status_code == 404 and _german_sentence(unknown)


def test_the_list_as_the_contract_says(api) -> None:
    client, _, _ = api
    listed = client.get("/referat/api/documents", headers=_as("anna")).json()
    assert isinstance(listed, list)
    rows = {d["id"]: d for d in listed}
    assert set(rows) == {"bestand", "entwurf"}
    assert {k: rows["entwurf"][k] for k in ("titel", "status", "stand")} == {
        "titel": "Synthetischer Entwurf",
        "status": "entwurf",
        "stand": "2026-01-01",
    }
    assert rows["entwurf"]["version"] == 1 and rows["entwurf"]["geaendert"]["who"] == "anna"
    assert rows["bestand"]["index"] == "wird aktualisiert"  # released, but no index built in this test


def test_release_needs_four_eyes_then_withdraw(api) -> None:
    client, settings, builds = api
    own = client.post("/referat/api/documents/entwurf/freigeben", headers=_as("anna", origin=ORIGIN))
    assert own.status_code == 409 and "Vier-Augen" in _german_sentence(own)
    assert parse_document(settings.corpus_dir / "entwurf.md").meta.status == "entwurf" and builds.runs == 0
    other = client.post("/referat/api/documents/entwurf/freigeben", headers=_as("bernd", origin=ORIGIN))
    assert other.status_code == 200
    body = other.json()
    assert (body["id"], body["status"], body["freigegeben_von"], body["freigegebene_fassung"]) == (
        "entwurf",
        "freigegeben",
        "bernd",
        1,
    )
    withdrawn = client.post("/referat/api/documents/entwurf/zurueckziehen", headers=_as("anna"))
    assert withdrawn.status_code == 200 and withdrawn.json()["status"] == "archiviert"
    again = client.post("/referat/api/documents/entwurf/zurueckziehen", headers=_as("anna"))
    assert again.status_code == 409 and _german_sentence(again)
    history = client.get("/referat/api/historie", headers=_as("anna")).json()
    assert [(c["who"], c["action"]) for c in history][:3] == [
        ("anna", "zurückgezogen"),
        ("bernd", "freigegeben"),
        ("anna", "hochgeladen"),
    ]
    _wait_for_builds(builds, 1)


def _wait_for_builds(builds: Builds, at_least: int) -> None:
    import time

    deadline = time.monotonic() + 5
    while builds.runs < at_least and time.monotonic() < deadline:
        time.sleep(0.02)
    assert builds.runs >= at_least


def test_uploads_over_the_limit_or_of_the_wrong_kind_are_refused_before_conversion(api) -> None:
    client, settings, _ = api
    before = sorted(p.name for p in settings.corpus_dir.iterdir())
    big = client.post(
        "/referat/api/documents",
        headers=_as("anna"),
        files={"file": ("gross.txt", io.BytesIO(b"Synthetisch. " * 200_000), "text/plain")},
    )
    assert big.status_code == 413 and "zu groß" in _german_sentence(big)
    chunked = client.post(  # no Content-Length: counted while it streams in
        "/referat/api/documents",
        headers=_as("anna", **{"content-type": "multipart/form-data; boundary=x"}),
        content=(b"Synthetisch. " * 10_000 for _ in range(20)),
    )
    assert chunked.status_code == 413 and "zu groß" in _german_sentence(chunked)
    fake = client.post(
        "/referat/api/documents",
        headers=_as("anna"),
        files={"file": ("richtlinie.pdf", io.BytesIO(b"<html><p>kein PDF</p></html>"), "application/pdf")},
    )
    assert fake.status_code == 415 and "kein PDF" in _german_sentence(fake)
    missing = client.post("/referat/api/documents", headers=_as("anna"), data={"anderes": "feld"})
    assert missing.status_code == 422 and "file" in _german_sentence(missing)
    assert sorted(p.name for p in settings.corpus_dir.iterdir()) == before


def test_edit_and_restore_through_the_api(api) -> None:
    client, _, _ = api
    doc = client.get("/referat/api/documents/entwurf", headers=_as("anna")).json()
    assert doc["vorschau"]["abschnitte"][0]["text"] == "Ein Satz über Testregeln."
    changed = client.put(
        "/referat/api/documents/entwurf",
        headers=_as("bernd"),
        json={"sha256": doc["sha256"], "felder": {"titel": "Synthetischer Entwurf, überarbeitet"}},
    )
    assert changed.status_code == 200 and changed.json()["kopfdaten"]["titel"].endswith("überarbeitet")
    stale = client.put(
        "/referat/api/documents/entwurf", headers=_as("anna"), json={"sha256": doc["sha256"], "felder": {}}
    )
    assert stale.status_code == 409 and "inzwischen" in _german_sentence(stale)
    old = client.get("/referat/api/documents/entwurf/versionen/1", headers=_as("anna")).json()
    assert "titel: Synthetischer Entwurf\n" in old["text"]
    restored = client.post(
        "/referat/api/documents/entwurf/wiederherstellen", headers=_as("anna"), json={"version": 1}
    )
    assert restored.status_code == 200 and restored.json()["kopfdaten"]["titel"] == "Synthetischer Entwurf"
    assert client.get("/referat/api/documents/gibt-es-nicht", headers=_as("anna")).status_code == 404


def test_a_malformed_edit_is_one_german_sentence(api) -> None:
    client, settings, _ = api
    before = (settings.corpus_dir / "entwurf.md").read_bytes()
    for form in (
        {"felder": {"titel": 3}},
        {"ueberschriften": [{"line": "x"}]},
        {"wortlaut": ["a"]},
        {"felder": "titel"},
    ):
        refused = client.put("/referat/api/documents/entwurf", headers=_as("anna"), json=form)
        assert refused.status_code == 422 and "Formular" in _german_sentence(refused)
    broken = client.put("/referat/api/documents/entwurf", headers=_as("anna"), content=b"{kein json")
    assert broken.status_code == 422 and "JSON" in _german_sentence(broken)
    assert (settings.corpus_dir / "entwurf.md").read_bytes() == before


def test_the_page_opens_from_a_link_elsewhere_but_the_api_refuses_other_sites(api) -> None:
    client, _, _ = api
    linked = {"sec-fetch-site": "cross-site"}
    assert client.get("/referat", headers=_as("anna", **linked)).status_code == 200
    assert client.get("/referat/api/documents", headers=_as("anna", **linked)).status_code == 403


@pytest.mark.parametrize(
    ("headers", "allowed"),
    [
        ({"host": "127.0.0.1:8000", "origin": "http://127.0.0.1:8000"}, True),
        ({"host": "richtlinien.example", "origin": "https://richtlinien.example"}, True),  # nginx's $host
        ({"host": "127.0.0.1:8000"}, True),  # a script: no Origin
        ({"host": "127.0.0.1:8000", "origin": "http://127.0.0.1:9000"}, False),
        ({"host": "richtlinien.example", "origin": "https://richtlinien.example.boese.de"}, False),
        ({"host": "127.0.0.1:8000", "sec-fetch-site": "same-site"}, False),
        ({"host": "127.0.0.1:8000", "origin": "null"}, False),
    ],
)
def test_same_origin(headers: dict[str, str], allowed: bool) -> None:
    from bot.chat.referat_auth import same_origin

    assert same_origin(headers) is allowed


def test_a_proposal_from_picks_is_shown_and_accepted_in_one_click(api) -> None:
    import yaml

    client, settings, builds = api
    proposal = {
        "dokument": "bestand.md",
        "modell": "Auswahl von Mitarbeitenden nach Rückfragen",
        "abschnitte": [{"abschnitt": "Abschnitt", "fragen": [{"frage": "Welche Testregel gilt hier?"}]}],
    }
    (settings.corpus_dir / "bestand.fragen-auswahl.yaml").write_text(
        yaml.safe_dump(proposal), encoding="utf-8"
    )
    row = next(
        r for r in client.get("/referat/api/documents", headers=_as("anna")).json() if r["id"] == "bestand"
    )
    assert row["vorschlag"] is True
    [shown] = client.get("/referat/api/documents/bestand", headers=_as("anna")).json()["vorschlaege"]
    assert shown["kind"] == "auswahl" and shown["questions"][0]["question"] == "Welche Testregel gilt hier?"
    accepted = client.post("/referat/api/documents/bestand/vorschlag/auswahl/annehmen", headers=_as("bernd"))
    assert accepted.status_code == 200 and accepted.json()["uebernommen"] == {
        "Abschnitt": ["Welche Testregel gilt hier?"]
    }
    assert parse_document(settings.corpus_dir / "bestand.md").meta.fragen == {
        "Abschnitt": ["Welche Testregel gilt hier?"]
    }
    _wait_for_builds(builds, 1)  # a released document's new questions reach the index
    again = client.post("/referat/api/documents/bestand/vorschlag/auswahl/annehmen", headers=_as("bernd"))
    assert again.status_code == 404 and _german_sentence(again)


def test_the_view_discloses_the_ai(api) -> None:
    client, settings, _ = api
    shown = client.get("/referat/api/status", headers=_as("anna")).json()
    assert settings.notice_disclosure in shown["hinweis"] and "KI-Assistent" in shown["hinweis"]
    assert shown["angemeldet"] == "anna" and shown["vier_augen"] is True
