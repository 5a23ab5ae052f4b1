"""Drafted example questions: proposed beside the document, flagged, accepted only after review."""

from __future__ import annotations

import difflib
import json
import shutil
import subprocess
import sys

import pytest
import yaml

from bot.config import Settings
from bot.curation.drafting import DraftError, draft, model_asker, proposal_path, write_proposal
from bot.curation.frontmatter_edit import add_questions
from bot.curation.review import accept, add_gap_question
from bot.errors import BotError, CorpusError
from tests.support import REPO, bot_env
from tests.support.fake_llm import FakeLLM
from tests.support.synthetic_docs import FUHRPARK, KANTINE, write_policy

KANTINE_FRAGEN = {"Öffnungszeiten": ["Wann hat die Kantine offen?"], "Speiseplan": ["Was gibt es zu essen?"]}


@pytest.fixture(scope="module")
def fake():
    with FakeLLM() as server:
        yield server


@pytest.fixture()
def corpus(tmp_path):
    """A released document with example questions, and a new one without (written, not indexed)."""
    write_policy(tmp_path / "corpus", "kantine", KANTINE, titel="Kantine", fragen=KANTINE_FRAGEN)
    new = write_policy(tmp_path / "neu", "fuhrpark", FUHRPARK, titel="Fuhrpark", status="entwurf")
    return tmp_path, new


def _settings(root, fake: FakeLLM | None, mode: str = "fragen-gut", timeout: float = 5.0) -> Settings:
    llm = {"llm": f"openai:{mode}", "llm_base_url": fake.url, "llm_api_key": "k"} if fake else {}
    return Settings(
        corpus_dir=root / "corpus",
        index_dir=root / "index",
        data_dir=root / "data",
        llm_timeout=timeout,
        **llm,
    )


def run_bot(
    args: list[str], settings: Settings, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """`python -m bot ARGS` on these settings, with extra environment (the model's settings)."""
    environment = {k: v for k, v in bot_env(settings).items() if not k.startswith("BOT_LLM")}
    environment.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=environment,
        timeout=180,
    )


def _only_inserted(before: str, after: str) -> bool:
    """Whether after is before with lines added and none changed or removed."""
    ops = difflib.SequenceMatcher(a=before.splitlines(), b=after.splitlines(), autojunk=False).get_opcodes()
    return all(tag in ("equal", "insert") for tag, *_ in ops)


def test_good_drafts_become_a_proposal_and_nothing_else_changes(corpus, fake, embeddings) -> None:
    root, new = corpus
    settings = _settings(root, fake)
    before = {p: p.read_bytes() for p in [new, *(root / "corpus").glob("*")]}
    proposal = draft(settings, new, model_asker(settings), embeddings=embeddings)
    path = write_proposal(proposal, new.stem)
    assert path == new.with_name("fuhrpark.fragen-vorschlag.yaml")
    assert {p: p.read_bytes() for p in before} == before  # policy text and released fragen untouched
    assert not (root / "index").exists()  # nothing indexed
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert [s["abschnitt"] for s in data["abschnitte"]] == list(FUHRPARK)
    for section in data["abschnitte"]:
        heading = section["abschnitt"]
        plain = next(q for q in section["fragen"] if q["frage"] == f"Was gilt für {heading}?")
        assert plain["art"] == "einfach" and "findet_eigenen_abschnitt" not in plain
    # The prompt held that section's text alone.
    prompts = [m["content"] for r in fake.requests[-3:] for m in r["messages"] if m["role"] == "user"]
    assert "Tankkarte" in prompts[1] and "Buchungskalender" not in prompts[1] and "Kantine" not in prompts[1]


@pytest.fixture()
def in_real_corpus(real_settings, tmp_path):
    """The new document beside the real corpus (its index copied, not rebuilt): among 20 sections
    an off-topic question does not land on its own by chance."""
    new = write_policy(tmp_path / "neu", "fuhrpark", FUHRPARK, titel="Fuhrpark", status="entwurf")
    return real_settings, new


def _real(real_settings: Settings, fake: FakeLLM, mode: str) -> Settings:
    return Settings(
        corpus_dir=real_settings.corpus_dir,
        index_dir=real_settings.index_dir,
        data_dir=real_settings.data_dir,
        llm=f"openai:{mode}",
        llm_base_url=fake.url,
        llm_api_key="k",
    )


def test_off_topic_drafts_are_flagged_and_review_takes_none_of_them(in_real_corpus, fake, embeddings) -> None:
    real_settings, new = in_real_corpus
    settings = _real(real_settings, fake, "fragen-themenfremd")
    path = write_proposal(draft(settings, new, model_asker(settings), embeddings=embeddings), new.stem)
    entries = [q for s in yaml.safe_load(path.read_text(encoding="utf-8"))["abschnitte"] for q in s["fragen"]]
    # Each section gets the same four off-topic questions: the first counts, the rest are duplicates.
    assert len(entries) == 4 and all(q["wuerde_abgelehnt"] for q in entries)  # none would be answered
    assert all(q["findet_eigenen_abschnitt"] is False and q["behalten"] is False for q in entries)
    assert all(q["grund"] and q["besser_beantwortet_von"] for q in entries)
    text = new.read_bytes()
    result = accept(path)
    assert result.added == {} and result.left_flagged == 4 and new.read_bytes() == text


def test_review_accepts_unflagged_and_kept_questions_into_fragen_only(
    in_real_corpus, fake, embeddings
) -> None:
    real_settings, new = in_real_corpus
    settings = _real(real_settings, fake, "fragen-gemischt")
    path = write_proposal(draft(settings, new, model_asker(settings), embeddings=embeddings), new.stem)
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    flagged = [
        q for s in data["abschnitte"] for q in s["fragen"] if q.get("findet_eigenen_abschnitt") is False
    ]
    assert any("Elternzeit" in q["frage"] for q in flagged)  # the off-topic one of the mix
    kept = next(q for q in flagged)
    kept["behalten"] = True  # a person decided to keep this one
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    before = new.read_text(encoding="utf-8")
    body = before.split("\n---\n", 1)[1]
    result = accept(path)
    after = new.read_text(encoding="utf-8")
    assert after.split("\n---\n", 1)[1] == body and _only_inserted(before, after)
    fragen = yaml.safe_load(after.split("---\n")[1])["fragen"]
    wanted = {
        s["abschnitt"]: [
            q["frage"]
            for q in s["fragen"]
            if q.get("findet_eigenen_abschnitt") is not False or q.get("behalten")
        ]
        for s in data["abschnitte"]
    }
    assert fragen == {k: v for k, v in wanted.items() if v}
    assert kept["frage"] in [q for qs in fragen.values() for q in qs]
    assert result.left_flagged == len(flagged) - 1
    assert accept(path).added == {}  # a second run adds nothing twice


@pytest.mark.slow  # runs `python -m bot fragen` as a process
@pytest.mark.parametrize("mode", ["fragen-muell", "fragen-leer"])
def test_garbage_from_the_model_is_one_sentence_and_nothing_is_written(corpus, fake, mode) -> None:
    root, new = corpus
    done = run_bot(["fragen", str(new)], _settings(root, fake, mode), env=_llm_env(fake, mode))
    assert done.returncode == 1 and "keine verwertbaren Fragen" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr
    assert not proposal_path(new).exists()


@pytest.mark.slow  # runs `python -m bot fragen` as a process
def test_a_model_that_does_not_answer_in_time_is_one_sentence_and_nothing_is_written(corpus, fake) -> None:
    root, new = corpus
    env = {**_llm_env(fake, "hang"), "BOT_LLM_TIMEOUT": "1"}
    done = run_bot(["fragen", str(new)], _settings(root, fake, "hang"), env=env)
    assert done.returncode == 1 and "nicht rechtzeitig" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and not proposal_path(new).exists()


@pytest.mark.slow  # runs `python -m bot fragen` as a process
def test_without_a_model_drafting_says_so_in_one_german_sentence(corpus) -> None:
    root, new = corpus
    done = run_bot(["fragen", str(new)], _settings(root, None), env={"BOT_LLM": ""})
    assert done.returncode != 0 and "BOT_LLM" in done.stderr and "kein Sprachmodell" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and not proposal_path(new).exists()
    with pytest.raises(DraftError):
        model_asker(_settings(root, None))


def _llm_env(fake: FakeLLM, mode: str) -> dict[str, str]:
    return {"BOT_LLM": f"openai:{mode}", "BOT_LLM_BASE_URL": fake.url, "BOT_LLM_API_KEY": "k"}


def test_questions_go_into_existing_and_new_headings_without_changing_other_bytes(tmp_path) -> None:
    path = write_policy(tmp_path, "kantine", KANTINE, titel="Kantine", fragen=KANTINE_FRAGEN)
    # Comments and CRLF line ends stay; a question needing YAML quotes is quoted.
    raw = (
        path.read_bytes().replace(b"fragen:\n", b"fragen:  # gepflegt vom Referat\n").replace(b"\n", b"\r\n")
    )
    path.write_bytes(raw)
    added = add_questions(
        path,
        {
            "speiseplan": ["Gibt es Veggie-Essen?", "Was gibt es zu essen?"],
            "Öffnungszeiten": ["Frage: offen?"],
        },
    )
    assert added == {"speiseplan": ["Gibt es Veggie-Essen?"], "Öffnungszeiten": ["Frage: offen?"]}
    after = path.read_bytes()
    assert after.count(b"\r\n") == after.count(b"\n") and _only_inserted(raw.decode(), after.decode())
    meta = yaml.safe_load(after.decode().split("---")[1])
    assert meta["fragen"] == {
        "Öffnungszeiten": ["Wann hat die Kantine offen?", "Frage: offen?"],
        "Speiseplan": ["Was gibt es zu essen?", "Gibt es Veggie-Essen?"],
    }


def test_a_whole_document_list_is_not_rewritten(tmp_path) -> None:
    path = write_policy(tmp_path, "k", KANTINE)
    path.write_text(
        path.read_text().replace("status: freigegeben\n", "status: freigegeben\nfragen: [a, b]\n")
    )
    before = path.read_bytes()
    with pytest.raises(CorpusError):
        add_questions(path, {"Speiseplan": ["x?"]})
    assert path.read_bytes() == before


def _gap_data(settings: Settings, questions: list[str], disliked: str) -> None:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    lines = [
        {"time": "2026-11-30T10:00:00+00:00", "question": q, "abstained": True, "passages": []}
        for q in questions
    ]
    (settings.data_dir / "audit.jsonl").write_text("".join(json.dumps(ln) + "\n" for ln in lines))
    feedback = {"time": "2026-11-30T10:05:00+00:00", "value": 0, "question": disliked, "passages": []}
    (settings.data_dir / "feedback.jsonl").write_text(json.dumps(feedback) + "\n")


@pytest.mark.slow  # runs `python -m bot fragen` as a process
def test_a_declined_question_becomes_an_example_question_in_one_step(tmp_path) -> None:
    settings = _settings(tmp_path, None)
    write_policy(settings.corpus_dir, "kantine", KANTINE, titel="Kantine", fragen=KANTINE_FRAGEN)
    document = settings.corpus_dir / "kantine.md"
    _gap_data(
        settings, ["gibts da auch was ohne fleisch?", "Was isst [Name] gern?"], "wann ist die mensa zu?"
    )
    before = document.read_text(encoding="utf-8")
    done = run_bot(
        ["fragen", "--aus-luecke", "Gibts da auch was ohne Fleisch?", "--abschnitt", "kantine#speiseplan"],
        settings,
    )
    assert done.returncode == 0, done.stderr
    after = document.read_text(encoding="utf-8")
    assert _only_inserted(before, after)
    assert (
        yaml.safe_load(after.split("---\n")[1])["fragen"]["Speiseplan"][-1]
        == "gibts da auch was ohne fleisch?"
    )
    asked = ["gibts da auch was ohne fleisch?", "Was isst [Name] gern?", "wann ist die mensa zu?"]
    assert add_gap_question(settings, "wann ist die mensa zu?", "kantine#Öffnungszeiten", asked)  # downvoted
    for question, target, says in [
        ("Was isst [Name] gern?", "kantine#Speiseplan", "personenbezogene"),  # redacted: never stored
        ("nie gefragt", "kantine#Speiseplan", "weder"),
        ("wann ist die mensa zu?", "kantine#Parkplatz", "Überschrift"),
        ("wann ist die mensa zu?", "nirgends", "DOKUMENT#Überschrift"),
    ]:
        text = document.read_bytes()
        with pytest.raises(BotError, match=says):
            add_gap_question(settings, question, target, asked)
        assert document.read_bytes() == text
    done = run_bot(["fragen", "--aus-luecke", "nie gefragt", "--abschnitt", "kantine#Speiseplan"], settings)
    assert done.returncode == 1 and len(done.stderr.strip().splitlines()) == 1


def test_a_real_corpus_document_gets_its_question_under_the_existing_heading(tmp_path) -> None:
    path = tmp_path / "grundsaetze-ki.md"
    path.write_bytes((REPO / "corpus" / "grundsaetze-ki.md").read_bytes())
    before = path.read_text(encoding="utf-8")
    assert add_questions(path, {"Transparenz": ["muss auf den ki-flyer ein hinweis drauf?"]})
    after = path.read_text(encoding="utf-8")
    assert _only_inserted(before, after) and after.split("\n---\n", 1)[1] == before.split("\n---\n", 1)[1]
    fragen = yaml.safe_load(after.split("---\n")[1])["fragen"]
    assert fragen["Transparenz"][-1] == "muss auf den ki-flyer ein hinweis drauf?"


def test_a_proposal_cannot_point_at_a_file_elsewhere(tmp_path) -> None:
    write_policy(tmp_path / "corpus", "kantine", KANTINE, titel="Kantine")
    proposal = tmp_path / "corpus" / "kantine.fragen-vorschlag.yaml"
    for name in ["../kantine.md", "kantine.txt", "fehlt.md"]:
        entry = {"abschnitt": "Speiseplan", "fragen": [{"frage": "Gibt es Suppe?"}]}
        proposal.write_text(yaml.safe_dump({"dokument": name, "abschnitte": [entry]}), encoding="utf-8")
        with pytest.raises(CorpusError):
            accept(proposal)
    proposal.write_text("abschnitte: [", encoding="utf-8")
    with pytest.raises(CorpusError, match="kein gültiges YAML"):
        accept(proposal)


@pytest.mark.parametrize("folder", ["tune", "blind"])
def test_the_reviewed_test_documents_keep_their_text_byte_for_byte(folder: str) -> None:
    originals = sorted((REPO / "tests" / "synthetic" / folder).glob("*.md"))
    assert originals
    for original in originals:
        reviewed = REPO / "tests" / "synthetic" / "drafts" / f"reviewed-{folder}" / original.name
        a, b = original.read_bytes(), reviewed.read_bytes()
        assert a[a.index(b"\n---\n", 4) :] == b[b.index(b"\n---\n", 4) :]
        assert _only_inserted(a.decode(), b.decode()) and b"fragen:" in b


@pytest.mark.slow  # runs `python -m bot fragen` as a process
def test_accepting_on_the_command_line_reproduces_the_reviewed_document(tmp_path) -> None:
    name = "e-mail-und-phishing"
    shutil.copy(REPO / "tests" / "synthetic" / "tune" / f"{name}.md", tmp_path / f"{name}.md")
    proposal = REPO / "tests" / "synthetic" / "drafts" / "reviewed-tune" / f"{name}.fragen-vorschlag.yaml"
    shutil.copy(proposal, tmp_path / proposal.name)
    settings = _settings(tmp_path, None)
    done = run_bot(["fragen", "--annehmen", str(tmp_path / proposal.name), "--json"], settings)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert sum(len(v) for v in summary["added"].values()) == 99 and summary["left_flagged"] == 9
    reviewed = REPO / "tests" / "synthetic" / "drafts" / "reviewed-tune" / f"{name}.md"
    assert (tmp_path / f"{name}.md").read_bytes() == reviewed.read_bytes()


def test_an_unusable_model_setting_is_one_sentence_before_anything_is_asked(tmp_path) -> None:
    settings = Settings(corpus_dir=tmp_path, index_dir=tmp_path / "index", llm="unbekannt:modell")
    with pytest.raises(DraftError, match="BOT_LLM=unbekannt:modell kann nicht verwendet werden"):
        model_asker(settings)


def test_an_expired_document_gets_no_drafts_and_the_model_is_not_asked(tmp_path) -> None:
    path = write_policy(tmp_path / "corpus", "fuhrpark", FUHRPARK, titel="Fuhrpark")
    text = path.read_text(encoding="utf-8").replace(
        "gueltig_ab: 2026-01-01", "gueltig_ab: 2026-01-01\ngueltig_bis: 2026-02-01"
    )
    path.write_text(text, encoding="utf-8")
    asked: list[object] = []
    with pytest.raises(DraftError, match="gilt nur bis 2026-02-01"):
        draft(Settings(corpus_dir=path.parent, index_dir=tmp_path / "index"), path, asked.append)
    assert asked == []


def test_a_draft_with_personal_data_is_kept_only_redacted() -> None:
    from bot.curation.drafting import usable_questions
    from bot.pipeline.corpus import parse_document

    doc = parse_document(REPO / "corpus" / "grundsaetze-ki.md")
    rejected: dict[str, list[str]] = {}
    drafted = [("einfach", "Darf ich die Akte von Frau Müller, Tel. 0221 123456, in ChatGPT kopieren?")]
    assert usable_questions(doc, drafted, set(), rejected) == []
    (kept,) = rejected["personenbezogene Daten"]
    assert "Müller" not in kept and "123456" not in kept


@pytest.mark.parametrize("as_json", [False, True])
def test_what_fragen_prints_about_drafts_says_a_language_model_wrote_them(
    tmp_path, monkeypatch, capsys, as_json
) -> None:
    from bot.cli import curation
    from bot.curation import drafting

    path = write_policy(tmp_path / "corpus", "fuhrpark", FUHRPARK, titel="Fuhrpark")
    settings = Settings(corpus_dir=path.parent, index_dir=tmp_path / "index", llm="openai:x")
    monkeypatch.setattr(drafting, "model_asker", lambda s: None)
    monkeypatch.setattr(drafting, "draft", lambda s, document, ask: drafting.Proposal(document, "openai:x"))
    curation._propose(settings, path, as_json)
    out = capsys.readouterr().out
    shown = json.loads(out)["disclosure"] if as_json else out
    assert "KI-Sprachmodell entworfen" in shown and proposal_path(path).exists()
