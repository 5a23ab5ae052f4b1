"""The self-check: each section's example questions asked with that section's questions left out."""

from __future__ import annotations

import asyncio
import json
import types

import pytest

from bot.config import Settings
from bot.curation.selfcheck import Masking, private_index, run_selfcheck, sections_of
from bot.curation.selfcheck_view import format_selfcheck
from bot.pipeline.calibration import load_calibration
from bot.pipeline.corpus import load_corpus, load_synonyms
from bot.pipeline.index import build_index, open_index
from bot.pipeline.retrieve import Retriever
from tests.support import run_bot
from tests.support.synthetic_docs import FUHRPARK, KANTINE, write_policy

FUHRPARK_FRAGEN = {
    "Dienstwagen buchen": [
        "Wie reserviere ich ein Auto für eine Dienstfahrt?",
        "Darf ich privat mit dem Dienstauto fahren?",
    ],
    "Tanken und Laden": ["Wie bezahle ich Benzin für den Dienstwagen?", "Wo lade ich das E-Auto?"],
    "Unfall melden": [
        "Ich hatte einen Blechschaden, was nun?",
        "Muss ich nach einem Crash die Polizei holen?",
    ],
}
# The menu section's questions ask about opening hours: with them left out they land there.
KANTINE_FRAGEN = {
    "Öffnungszeiten": ["Wann hat die Kantine offen?", "Ist die Kantine am Feiertag zu?"],
    "Speiseplan": ["Bis wann kann ich mittags in der Kantine essen?", "Hat die Kantine montags offen?"],
}


def _settings(root, corpus) -> Settings:
    return Settings(corpus_dir=corpus, index_dir=root / "index", data_dir=root / "data")


@pytest.fixture(scope="module")
def small(tmp_path_factory, embeddings) -> Settings:
    """A two-document corpus with example questions, indexed."""
    root = tmp_path_factory.mktemp("selfcheck")
    write_policy(root / "corpus", "fuhrpark", FUHRPARK, titel="Fuhrpark", fragen=FUHRPARK_FRAGEN)
    write_policy(root / "corpus", "kantine", KANTINE, titel="Kantine", fragen=KANTINE_FRAGEN)
    settings = _settings(root, root / "corpus")
    build_index(settings, embeddings=embeddings)
    return settings


def test_masking_ranks_exactly_as_an_index_built_without_the_sections_questions(
    small, embeddings, tmp_path
) -> None:
    # The same corpus with the questions of "Tanken und Laden" removed, built for real.
    without = {k: v for k, v in FUHRPARK_FRAGEN.items() if k != "Tanken und Laden"}
    write_policy(tmp_path / "corpus", "fuhrpark", FUHRPARK, titel="Fuhrpark", fragen=without)
    write_policy(tmp_path / "corpus", "kantine", KANTINE, titel="Kantine", fragen=KANTINE_FRAGEN)
    rebuilt_settings = _settings(tmp_path, tmp_path / "corpus")
    build_index(rebuilt_settings, embeddings=embeddings)
    rebuilt = Retriever(open_index(rebuilt_settings, embeddings), rebuilt_settings, load_calibration())

    doc = next(d for d in load_corpus(small.corpus_dir).documents if d.id == "fuhrpark")
    with private_index(small, embeddings) as index:
        section = next(s for s in sections_of(doc, index.passages) if s.key == "Tanken und Laden")
        removed = {pid: set(section.questions) for pid in section.passage_ids}
        with Masking(index, load_synonyms(small.corpus_dir)).without(removed) as masked:
            retriever = Retriever(masked, small, load_calibration())
            for question in [*section.questions, "Wie tanke ich?", "Dienstwagen privat?"]:
                a, b = retriever.search(question), rebuilt.search(question)
                assert [h.passage.id for h in a.hits] == [h.passage.id for h in b.hits]
                assert [h.score for h in a.hits] == pytest.approx([h.score for h in b.hits], abs=1e-3)
                assert a.confidence == pytest.approx(b.confidence, abs=1e-3)
        # Afterwards the vectors are back: the section's own question finds it again.
        again = Retriever(index, small, load_calibration()).search(section.questions[0])
        assert again.hits[0].passage.id in section.passage_ids


def test_the_check_reports_sections_confusions_and_too_few_questions(small, embeddings) -> None:
    check = run_selfcheck(small, embeddings=embeddings, min_questions=3)
    by_label = {r.section.label: r for r in check.results}
    assert set(by_label) == {
        "fuhrpark#Dienstwagen buchen",
        "fuhrpark#Tanken und Laden",
        "fuhrpark#Unfall melden",
        "kantine#Öffnungszeiten",
        "kantine#Speiseplan",
    }
    assert by_label["kantine#Speiseplan"].first == 0  # its questions are about the opening hours
    assert by_label["kantine#Speiseplan"].confused_with["kantine#Öffnungszeiten"] == 2
    a, b, n = check.confusions()[0]  # the pair that confuses each other most
    assert {a, b} == {"kantine#Speiseplan", "kantine#Öffnungszeiten"} and n >= 2
    assert by_label["fuhrpark#Unfall melden"].first == 2
    assert len(check.too_few()) == 5  # two questions each, three wanted
    text = format_selfcheck(check)
    assert "kantine: " in text and "Speiseplan: 2 Fragen, zuerst 0/2" in text
    assert f"{n}× {a} ↔ {b}" in text


def test_the_check_never_writes_the_real_index(small, embeddings) -> None:
    before = sorted(p.relative_to(small.index_dir) for p in small.index_dir.rglob("*"))
    manifest = (small.index_dir / "manifest.json").read_bytes()
    run_selfcheck(small, embeddings=embeddings, documents=["kantine"])
    assert (small.index_dir / "manifest.json").read_bytes() == manifest
    assert sorted(p.relative_to(small.index_dir) for p in small.index_dir.rglob("*")) == before


def test_check_quality_json_on_the_command_line(small) -> None:
    done = run_bot(["check", "--quality", "--json", "--mindestens", "3"], small)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout.strip().splitlines()[-1])
    docs = {d["document"]: d for d in data["documents"]}
    assert set(docs) == {"fuhrpark", "kantine"}
    speiseplan = next(s for s in docs["kantine"]["sections"] if s["section"] == "Speiseplan")
    assert speiseplan["first"] == 0 and speiseplan["confused_with"] == {"kantine#Öffnungszeiten": 2}
    assert data["total"]["questions"] == 10 and len(data["too_few"]) == 5


def _referat_chat(monkeypatch, settings: Settings, embeddings) -> list[str]:
    """The chat app with a signed-in Referat and this model loaded, its messages collected instead
    of sent to a browser; returns the list they land in."""
    from bot.chat import accounts, app

    sent: list[str] = []

    class Message:
        def __init__(self, content: str, author: str) -> None:
            self.content = content

        async def send(self) -> None:
            sent.append(self.content)

    monkeypatch.setattr(app.cl, "Message", Message)
    monkeypatch.setattr(app._holder, "_settings", settings)
    monkeypatch.setattr(
        app._holder, "assistant", types.SimpleNamespace(index=types.SimpleNamespace(embeddings=embeddings))
    )
    monkeypatch.setattr(app, "_role", lambda: accounts.REFERAT)
    return sent


def test_the_referat_chat_view_shows_the_check_and_staff_do_not_get_it(
    small, embeddings, monkeypatch
) -> None:
    from bot.chat import accounts, app

    sent = _referat_chat(monkeypatch, small, embeddings)
    asyncio.run(app._referat_view(app.SELFCHECK_COMMAND))
    assert "Selbsttest der Beispielfragen" in sent[-1] and "Speiseplan" in sent[-1]
    assert "| `kantine` | Speiseplan | 2 ⚠ | 0/2 (0%) |" in sent[-1]
    assert small.notice_disclosure.split()[0] in sent[-1]  # the AI disclosure, as on every view
    monkeypatch.setattr(app, "_role", lambda: accounts.STAFF)
    asyncio.run(app._referat_view(app.SELFCHECK_COMMAND))
    assert app.NOT_ALLOWED in sent[-1] and "Speiseplan" not in sent[-1]


def test_a_self_check_that_cannot_write_its_copy_is_one_sentence_with_the_disclosure(
    tmp_path, monkeypatch
) -> None:
    from bot.chat import app
    from bot.curation import selfcheck_view

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    settings = Settings(corpus_dir=tmp_path, index_dir=tmp_path / "index", data_dir=tmp_path / "data")
    sent = _referat_chat(monkeypatch, settings, None)
    monkeypatch.setattr(selfcheck_view, "selfcheck_markdown", full_disk)
    asyncio.run(app._referat_view(app.SELFCHECK_COMMAND))
    assert "konnte eine Datei nicht lesen oder schreiben (No space left on device)" in sent[-1]
    assert settings.notice_disclosure.split()[0] in sent[-1]
