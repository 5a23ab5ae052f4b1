"""The Chainlit chat: one assistant per process, German messages with their sources as elements.

Only this module knows Chainlit. Start it with `chainlit run bot/app.py`.
"""

from __future__ import annotations

import asyncio
import logging
import re

import chainlit as cl

from bot.answer import Answer, Source
from bot.assistant import Assistant, error_answer
from bot.config import Settings
from bot.errors import BotError

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
# Markdown that German texts trigger by accident: gender stars ("jede*n Einzelne*n" turns
# italic), "Expert:innen" (a directive to Chainlit's renderer, the word vanishes), "_", "~".
# Citation markers [n] and `code` in error messages stay as they are; lists keep their form.
_CODE_SPAN = re.compile(r"(`[^`\n]+`)")
_INLINE = re.compile(r"([\\*_~|<]|\[(?!\d+\])|:(?=\w))")
_BLOCK = re.compile(r"^(\s*)([#>])", re.MULTILINE)


def literal(text: str) -> str:
    """Text shown exactly as written, not read as Markdown."""
    parts = _CODE_SPAN.split(text)
    for i in range(0, len(parts), 2):  # the odd parts are code spans
        parts[i] = _BLOCK.sub(r"\1\\\2", _INLINE.sub(r"\\\1", parts[i]))
    return "".join(parts)


class _Holder:
    """The process's assistant, loaded on first use (never at import), once even under concurrency."""

    def __init__(self) -> None:
        self.assistant: Assistant | None = None
        self._settings: Settings | None = None
        self._lock: asyncio.Lock | None = None
        self.warm_up: asyncio.Task[None] | None = None

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
                    self.assistant = await cl.make_async(Assistant.load)(self.settings)
        return self.assistant


_holder = _Holder()


def source_name(source: Source) -> str:
    """The element's name; Chainlit links it wherever exactly this text stands in the message."""
    return f"Quelle {source.n}"


def source_element(source: Source) -> cl.Text:
    """The cited passage, opened at the side: title, section, date of the text, then the text."""
    p = source.passage
    content = (
        f"**{literal(p.title)}**\nAbschnitt: {literal(p.section)} · Stand: {literal(p.stand)}\n\n"
        f"{literal(p.text)}"
    )
    return cl.Text(name=source_name(source), content=content, display="side")


def render(answer: Answer) -> tuple[str, list[cl.Text]]:
    """Message text (warning, answer, notes, sources, disclosure) and one element per cited source."""
    parts = []
    if answer.privacy_warning:
        parts.append(f"> ⚠️ {literal(answer.privacy_warning)}")
    parts.append(literal(answer.text))
    parts.extend(f"_{literal(note)}_" for note in answer.notes)
    if answer.sources:
        listed = "\n".join(
            f"{source_name(s)}: {literal(s.passage.label)} (Stand {literal(s.passage.stand)})"
            for s in answer.sources
        )
        parts.append(f"**Quellen**\n{listed}")
    parts.append(f"_{literal(answer.disclosure)}_")
    return "\n\n".join(parts), [source_element(s) for s in answer.sources]


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
    """Load index and model in the background, so the first question does not wait for them."""
    _holder.warm_up = asyncio.create_task(_warm_up())


@cl.set_starters
async def starters(user: cl.User | None = None, language: str | None = None) -> list[cl.Starter]:
    """Typical staff questions to start with (the same for every user and language)."""
    return [cl.Starter(label=label, message=message) for label, message in STARTERS]


@cl.on_chat_start
async def start() -> None:
    """A new conversation starts without history."""
    cl.user_session.set("history", [])


@cl.on_message
async def on_message(message: cl.Message) -> None:
    """Answer one question in the light of this conversation's earlier questions."""
    history: list[str] = cl.user_session.get("history") or []
    draft: cl.Message | None = None
    try:
        assistant = await _holder.get()
        on_token = None
        if assistant.settings.llm:
            # The language model's draft streams in; the verified answer then replaces it.
            draft = cl.Message(content="", author=assistant.settings.assistant_name)
            loop = asyncio.get_running_loop()

            def on_token(token: str) -> None:
                asyncio.run_coroutine_threadsafe(draft.stream_token(token), loop).result(timeout=10)

        answer = await cl.make_async(assistant.ask)(message.content, history, "ui", on_token)
    except BotError as exc:
        answer = error_answer(message.content, str(exc), _holder.settings_or_defaults())
    except Exception:
        log.exception("Antwort fehlgeschlagen")
        answer = error_answer(message.content, UNEXPECTED, _holder.settings_or_defaults())
    if answer.error is None:
        cl.user_session.set("history", [*history, answer.question][-HISTORY_TURNS:])
    if draft is not None:
        await draft.remove()
    content, elements = render(answer)
    author = _holder.settings_or_defaults().assistant_name
    await cl.Message(content=content, elements=elements, author=author).send()
    if elements:
        # Since 2.11 Chainlit opens the side view by itself with the side elements of the whole
        # chat under the last one's name (Chainlit issues #2932, #2979): close it, a click on
        # "Quelle n" opens exactly that passage.
        await cl.ElementSidebar.set_elements([])
