"""Reading the Referat API's requests: a JSON object, an uploaded file read no further than the
limit (whether the size was announced or not), the edit form; anything else is a BotError with
one German sentence, which the API answers with 422 (413 for a file over the limit)."""

from __future__ import annotations

import json
from typing import Any

from starlette.datastructures import UploadFile
from starlette.requests import Request

from bot.curation import workflow
from bot.curation.fields import Heading
from bot.curation.intake import UploadRefused
from bot.errors import BotError

FORM_OVERHEAD = 64 * 1024  # multipart boundaries and headers around the file
NO_FILE = "Bitte eine Datei im Formularfeld „file“ senden."


async def json_object(request: Request) -> dict[str, Any]:
    body = await request.body()
    if not body.strip():
        return {}
    try:
        data = json.loads(body)
    except ValueError:
        raise BotError("Die Anfrage ist kein gültiges JSON.") from None
    if not isinstance(data, dict):
        raise BotError("Die Anfrage muss ein JSON-Objekt sein.")
    return data


async def upload_form(request: Request, limit: int) -> tuple[str, bytes, str | None]:
    """The uploaded file (name, bytes) and the optional field `ersetzt`, read no further than the limit."""
    too_large = UploadRefused(f"Die Datei ist zu groß (höchstens {limit // 1_000_000} MB).", "too_large")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit + FORM_OVERHEAD:
        raise too_large
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit + FORM_OVERHEAD:
            raise too_large

    async def replay() -> dict[str, Any]:
        return {"type": "http.request", "body": bytes(body), "more_body": False}

    try:
        form = await Request(request.scope, replay).form(max_files=1, max_fields=5)
    except Exception as exc:  # python-multipart's and Starlette's own parse errors
        raise BotError("Die Anfrage ist kein gültiges Formular mit einer Datei.") from exc
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise BotError(NO_FILE)
    replaces = form.get("ersetzt")
    return (
        upload.filename or "",
        await upload.read(),
        replaces.strip() if isinstance(replaces, str) and replaces.strip() else None,
    )


def text_values(values: dict[str, Any]) -> bool:
    return all(
        v is None or isinstance(v, str) or (isinstance(v, list) and all(isinstance(x, str) for x in v))
        for v in values.values()
    )


def edit_from(form: dict[str, Any]) -> workflow.Edit:
    """The edit form's JSON as an Edit; anything else is one German sentence, not a server error."""
    wrong = BotError("Die Änderung passt nicht zum Formular (felder, ueberschriften, wortlaut, sha256).")
    values, heads, body = form.get("felder") or {}, form.get("ueberschriften") or [], form.get("wortlaut")
    if not isinstance(values, dict) or not text_values(values) or not isinstance(heads, list):
        raise wrong
    if body is not None and not isinstance(body, str):
        raise wrong
    try:
        headings = tuple(Heading(int(h["line"]), int(h["level"]), str(h["text"])) for h in heads)
    except (KeyError, TypeError, ValueError):
        raise wrong from None
    return workflow.Edit(str(form.get("sha256", "")), values, headings, body)
