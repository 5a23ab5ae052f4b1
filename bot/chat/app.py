"""The Chainlit chat: sign-in, history, feedback, the Referat's views, and the answers.

Only this module knows Chainlit. Start it with `chainlit run bot/app.py`. Chainlit learns about
sign-in and the data layer only from callbacks registered when it loads this file, so the
one-time set-up (`configure()`, at the end) runs then; everything else waits for a request.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import sys
from collections.abc import Callable

import chainlit as cl
from chainlit.config import HeaderLink
from chainlit.config import config as chainlit_config
from chainlit.types import CommandDict, ThreadDict
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.chat import accounts, signin
from bot.chat.ratelimit import Pace, Verdict, slow_down_note
from bot.config import Settings
from bot.errors import BotError
from bot.pipeline.answer import NONE_OF_THEM, Answer, heading_of
from bot.pipeline.assistant import NOTHING_CHOSEN, Assistant, error_answer
from bot.pipeline.decide import AnswerKind
from bot.pipeline.markdown import literal
from bot.pipeline.render import chat as chat_rendering

log = logging.getLogger(__name__)
# Earlier questions passed along, so that follow-ups such as "Und beim Datenschutz?" work.
HISTORY_TURNS = 4
UNEXPECTED = (
    "Entschuldigung, bei der Antwort ist ein technischer Fehler aufgetreten. Bitte versuchen Sie es "
    "gleich noch einmal; besteht das Problem weiter, wenden Sie sich an das Referat Digitalisierung."
)
STARTERS = [
    ("Klientendaten in ChatGPT?", "Darf ich Klientendaten in ChatGPT kopieren?"),
    ("KI-Inhalte kennzeichnen", "Muss ich Inhalte kennzeichnen, die mit KI erstellt wurden?"),
    ("Wer entscheidet?", "Wer entscheidet am Ende – die KI oder ich?"),
    ("Ansprechpartner", "Wen kann ich bei Fragen zu KI ansprechen?"),
]
# The Referat's views, offered as chat commands to the role referat only.
REPORT_COMMAND = "Wissenslücken"
STATUS_COMMAND = "Korpus-Status"
SELFCHECK_COMMAND = "Selbsttest"
REPORT_DAYS = 30


def _command(name: str, icon: str, description: str) -> CommandDict:
    """A Referat view offered as a chat command (typed after "/"), not as a composer button."""
    return {
        "id": name,
        "icon": icon,
        "description": description,
        "button": False,
        "persistent": False,
        "selected": False,
    }


COMMANDS = [
    _command(REPORT_COMMAND, "chart-bar", f"Bericht der letzten {REPORT_DAYS} Tage"),
    _command(STATUS_COMMAND, "library", "Dokumente, Status und Index"),
    _command(SELFCHECK_COMMAND, "list-checks", "Finden die Beispielfragen ihren Abschnitt?"),
]
# The buttons of a question asked back: a candidate, or "Nichts davon".
PICK_ACTION = "auswahl"
NOT_ALLOWED = "Diese Ansicht ist dem Referat Digitalisierung vorbehalten."
OPEN_NOTE = "Ohne Anmeldung – nur auf diesem Rechner erreichbar"
# Sent with every HTTP response Chainlit serves (it allows no header settings of its own).
SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), payment=()"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (
        b"content-security-policy",
        b"default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
        b"img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self' ws: wss:; "
        b"object-src 'none'; base-uri 'self'; frame-ancestors 'none'; form-action 'self'",
    ),
]


class _Holder:
    """The process's assistant, loaded on first use (never at import), once even under concurrency."""

    def __init__(self) -> None:
        self.assistant: Assistant | None = None
        self._settings: Settings | None = None
        self._lock: asyncio.Lock | None = None
        self.warm_up: asyncio.Task[None] | None = None
        self._slots: asyncio.Semaphore | None = None

    @property
    def slots(self) -> asyncio.Semaphore:
        """Answers computed at once (settings.answer_threads); the others wait their turn."""
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.settings_or_defaults().answer_threads)
        return self._slots

    @property
    def settings(self) -> Settings:
        """The one settings object of this process, read from the environment on first use."""
        if self._settings is None:
            self._settings = Settings()
        return self._settings

    def settings_or_defaults(self) -> Settings:
        """For error messages: the settings, or the defaults if the environment holds invalid ones."""
        return self._settings if self._settings is not None else Settings.model_construct()

    async def get(self) -> Assistant:
        """The loaded assistant; a BotError (say, no index yet) is raised and retried next time."""
        if self.assistant is None:
            # Created inside the running loop; Chainlit serves every session from this one loop.
            if self._lock is None:
                self._lock = asyncio.Lock()
            async with self._lock:
                if self.assistant is None:
                    self.assistant = await cl.make_async(_load)(self.settings)
        return self.assistant


def _load(settings: Settings) -> Assistant:
    """The assistant; a torch model gets the cores shared out among the concurrent answers (the
    packaged e5 engine takes one question at a time with all cores)."""
    if settings.embedder == "sentence-transformers":
        import torch

        torch.set_num_threads(max(1, (os.cpu_count() or 1) // settings.answer_threads))
    return Assistant.load(settings)


_holder = _Holder()


def render(answer: Answer) -> tuple[str, list[cl.Text]]:
    """The answer's message text and its cited passages as side elements (bot.pipeline.render)."""
    content, panels = chat_rendering(answer)
    return content, [cl.Text(name=p.name, content=p.content, display="side") for p in panels]


async def _warm_up() -> None:
    try:
        await _holder.get()
    except BotError as exc:
        # The chat still starts; each question shows this sentence until the index exists.
        log.warning("Assistent nicht geladen: %s", exc)
    except Exception:
        log.exception("Assistent nicht geladen")


@cl.on_app_startup
async def startup() -> None:
    """Create missing history tables, then load index and model in the background."""
    from bot.chat.history import ensure_schema

    try:
        await ensure_schema(_holder.settings)
    except BotError as exc:
        log.error("%s", exc)
    _holder.warm_up = asyncio.create_task(_warm_up())


@cl.set_starters
async def starters(user: cl.User | None = None, language: str | None = None) -> list[cl.Starter]:
    """Typical staff questions to start with (the same for every user and language)."""
    return [cl.Starter(label=label, message=message) for label, message in STARTERS]


def _role() -> str:
    """The signed-in person's role; open (localhost) mode counts as staff."""
    user = cl.user_session.get("user")
    role = (user.metadata or {}).get("role") if user is not None else None
    return role if role in (accounts.STAFF, accounts.REFERAT) else accounts.STAFF


async def _offer_views() -> None:
    if _role() == accounts.REFERAT:
        await cl.context.emitter.set_commands(COMMANDS)


@cl.on_chat_start
async def start() -> None:
    """A new conversation starts without history; the Referat gets its views as commands."""
    cl.user_session.set("history", [])
    await _offer_views()


@cl.on_chat_resume
async def resume(thread: ThreadDict) -> None:
    """A resumed conversation: its (redacted) questions become the history for follow-ups."""
    questions = [
        str(step.get("output") or "")
        for step in thread.get("steps", [])
        if step.get("type") == "user_message" and step.get("output")
    ]
    cl.user_session.set("history", questions[-HISTORY_TURNS:])
    await _offer_views()


async def _referat_view(command: str) -> None:
    """A Referat view as one message; checked on the server, whatever the browser sent."""
    from bot.chat.referat import corpus_status_markdown
    from bot.chat.report import format_report_markdown, gap_report

    settings = _holder.settings_or_defaults()
    if _role() != accounts.REFERAT:
        content = NOT_ALLOWED
    else:
        try:
            if command == REPORT_COMMAND:
                import datetime as dt

                since = dt.date.today() - dt.timedelta(days=REPORT_DAYS)
                content = format_report_markdown(await cl.make_async(gap_report)(settings, since))
            elif command == SELFCHECK_COMMAND:
                from bot.curation.selfcheck_view import selfcheck_markdown

                embeddings = (await _holder.get()).index.embeddings  # the model the chat has loaded
                content = await cl.make_async(selfcheck_markdown)(settings, embeddings)
            else:
                content = await cl.make_async(corpus_status_markdown)(settings)
        except BotError as exc:
            content = literal(str(exc))
        except OSError as exc:  # the self-check copies the index into a temporary folder
            content = literal(f"Die Ansicht konnte eine Datei nicht lesen oder schreiben ({exc.strerror}).")
    await cl.Message(
        content=f"{content}\n\n_{literal(settings.notice_disclosure)}_", author=settings.assistant_name
    ).send()


async def _paced() -> bool:
    """False when this session asks faster than a person types; it then gets a note (not for
    every question of a flood: see bot/chat/ratelimit.py)."""
    settings = _holder.settings_or_defaults()
    pace = cl.user_session.get("pace")
    if pace is None:
        pace = Pace(settings.questions_per_minute, settings.question_burst)
        cl.user_session.set("pace", pace)
    verdict: Verdict = pace.admit()
    if verdict.note:
        note = f"{literal(slow_down_note(verdict.wait_s))}\n\n_{literal(settings.notice_disclosure)}_"
        await cl.Message(content=note, author=settings.assistant_name).send()
    return verdict.allowed


@cl.on_message
async def on_message(message: cl.Message) -> None:
    """Answer one question in the light of this conversation's earlier questions."""
    if not await _paced():
        return
    if message.command in (REPORT_COMMAND, STATUS_COMMAND, SELFCHECK_COMMAND):
        await _referat_view(message.command)
        return
    history: list[str] = cl.user_session.get("history") or []
    answer = await _answer(message.content, history)
    if answer.error is None:
        cl.user_session.set("history", [*history, answer.question][-HISTORY_TURNS:])
    await _send(answer)


@cl.action_callback(PICK_ACTION)
async def on_pick(action: cl.Action) -> None:
    """A candidate (or "Nichts davon") picked from a question asked back: the original question
    answered from that passage, and the conversation goes on from there."""
    if not await _paced():
        return
    question = str(action.payload.get("question", ""))
    choice = str(action.payload.get("choice", ""))
    offered: list[cl.Action] = cl.user_session.get("offered") or []
    for button in offered:  # one pick per question asked back
        await button.remove()
    cl.user_session.set("offered", [])
    history: list[str] = cl.user_session.get("history") or []
    earlier = history[:-1] if history and history[-1] == question else history
    answer = await _answer(question, earlier, choice=choice)
    if answer.kind is AnswerKind.ANSWER:
        # Follow-ups read the question with the rule the person chose.
        picked = f"{answer.question} ({heading_of(answer.sources[0].passage)})"
        cl.user_session.set("history", [*earlier, picked][-HISTORY_TURNS:])
    await _send(answer)


async def _answer(question: str, history: list[str], *, choice: str | None = None) -> Answer:
    """The assistant's answer on the shared path; every failure an answer that discloses the AI."""
    draft: cl.Message | None = None
    try:
        assistant = await _holder.get()
        on_token: Callable[[str], None] | None = None
        if assistant.settings.llm:
            # The language model's draft streams in; the verified answer then replaces it.
            draft = cl.Message(content="", author=assistant.settings.assistant_name)
            on_token = _streamer(draft, asyncio.get_running_loop())
        user = cl.user_session.get("user")
        identifier = user.identifier if user is not None else None
        ask = functools.partial(
            assistant.ask, question, history, "ui", on_token, choice=choice, user=identifier
        )
        # Extractive answers are pure CPU: a few at a time. A language model's answer mostly
        # waits on the network, so it takes no slot.
        async with contextlib.nullcontext() if on_token is not None else _holder.slots:
            turn = await cl.make_async(ask)()
        return turn.answer
    except BotError as exc:
        return error_answer(question, str(exc), _holder.settings_or_defaults())
    except Exception:
        log.exception("Antwort fehlgeschlagen")
        return error_answer(question, UNEXPECTED, _holder.settings_or_defaults())
    finally:
        if draft is not None:
            await draft.remove()


def _streamer(draft: cl.Message, loop: asyncio.AbstractEventLoop) -> Callable[[str], None]:
    def on_token(token: str) -> None:
        asyncio.run_coroutine_threadsafe(draft.stream_token(token), loop).result(timeout=10)

    return on_token


async def _send(answer: Answer) -> None:
    """The answer as a message with its sources beside it; a question asked back with one button
    per candidate and "Nichts davon"."""
    content, elements = render(answer)
    author = _holder.settings_or_defaults().assistant_name
    actions = _pick_buttons(answer)
    # The provenance travels with the message into the history, where feedback finds it.
    metadata = {"provenance": answer.provenance()}
    await cl.Message(
        content=content, elements=elements, author=author, metadata=metadata, actions=actions
    ).send()
    cl.user_session.set("offered", actions)
    if elements:
        # Since 2.11 Chainlit opens the side view by itself with the side elements of the whole
        # chat under the last one's name (Chainlit issues #2932, #2979): close it, a click on
        # "Quelle n" opens exactly that passage.
        await cl.ElementSidebar.set_elements([])


def _pick_buttons(answer: Answer) -> list[cl.Action]:
    """One button per candidate of a question asked back, then "Nichts davon"; none otherwise."""
    if answer.kind is not AnswerKind.CHOICE:
        return []
    buttons = [
        cl.Action(
            name=PICK_ACTION,
            payload={"question": answer.question, "choice": s.passage.id},
            label=f"{s.n}. {heading_of(s.passage)}",
            tooltip=f"{s.passage.label} – aus dieser Stelle antworten",
        )
        for s in answer.choices
    ]
    nothing = cl.Action(
        name=PICK_ACTION,
        payload={"question": answer.question, "choice": NOTHING_CHOSEN},
        label=NONE_OF_THEM,
        tooltip="Keine dieser Stellen: Kontakt zum Referat Digitalisierung",
    )
    return [*buttons, nothing]


@functools.cache
def _password_gate() -> signin.PasswordGate:
    return signin.PasswordGate(_holder.settings)


async def _password(username: str, password: str) -> cl.User | None:
    # Throttled and logged; signin.SignInRequests knows the client's address and answers refusals.
    return _user(await _password_gate().sign_in(username, password, signin.current_attempt()))


async def _header(headers: Headers) -> cl.User | None:
    return _user(accounts.from_headers(headers, _holder.settings))


async def _oauth(
    provider_id: str, token: str, raw: dict[str, str], default_user: cl.User, id_token: str | None = None
) -> cl.User | None:
    return _user(accounts.from_entra(provider_id, raw, default_user.identifier, _holder.settings))


def _user(identity: accounts.Identity | None) -> cl.User | None:
    if identity is None:
        return None
    return cl.User(identifier=identity.identifier, metadata=identity.metadata())


class SecurityHeaders:
    """ASGI middleware adding SECURITY_HEADERS to every HTTP response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in SECURITY_HEADERS if k not in present]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, with_headers)


def configure() -> None:
    """Register sign-in, history and headers with Chainlit; a setting that would expose the
    chat without sign-in stops the start with one German sentence."""
    from chainlit.server import app as server

    from bot.chat.history import RedactingDataLayer
    from bot.chat.referat_api import install_view

    try:
        settings = _holder.settings
        mode = accounts.sign_in(settings, os.environ.get("CHAINLIT_HOST", "127.0.0.1"), os.environ)
    except BotError as exc:
        sys.exit(f"Der Chat startet nicht: {exc}")
    except ValueError as exc:  # invalid BOT_ settings
        sys.exit(f"Der Chat startet nicht, eine Einstellung BOT_… ist ungültig: {exc}")
    signin.trust_forwarded_from(settings, os.environ)
    if "password" in mode.methods:
        cl.password_auth_callback(_password)
        server.add_middleware(signin.SignInRequests)  # inside SecurityHeaders, added below
    if "header" in mode.methods:
        cl.header_auth_callback(_header)
    if "entra-id" in mode.methods:
        cl.oauth_callback(_oauth)
    if mode.open:
        # Visible in the header: nobody signs in, so the chat must stay on this machine.
        chainlit_config.ui.header_links = [
            HeaderLink(name=OPEN_NOTE, display_name=OPEN_NOTE, icon_url="/public/open.svg", url="#")
        ]
    cl.data_layer(lambda: RedactingDataLayer(settings))
    server.add_middleware(SecurityHeaders)
    install_view(server, settings, _loaded_embeddings)


async def _loaded_embeddings() -> object:
    """The model the chat has loaded, for the Referat view's self-check and drafts."""
    return (await _holder.get()).index.embeddings


configure()
