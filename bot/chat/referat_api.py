"""The Referat's view in the browser: the page under /referat and its JSON API under /referat/api/.

Every endpoint asks bot/chat/referat_auth.py who is asking (the chat's sign-in cookie, the role
referat, the chat's own origin) before it does anything, and every refusal or failure is JSON
with one German sentence: {"detail": "…"}. The work itself is bot/curation (upload, edit,
release with four eyes, withdraw, restore, proposals, self-check) and bot/chat/usage.py.

Contract (others check it): GET /referat/api/documents → list of {id, titel, status, stand, …};
POST /referat/api/documents (multipart field `file`) → 201 {id, status: "entwurf", …};
POST …/documents/{id}/freigeben → 200, 409 without four eyes; POST …/{id}/zurueckziehen → 200;
staff 403, no sign-in 401, cross-site 403.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from html import escape
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.routing import Route

from bot.chat import referat_auth
from bot.chat.rebuild import Rebuilder
from bot.chat.referat_auth import Identify, Refused
from bot.chat.referat_requests import edit_from, json_object, upload_form
from bot.chat.usage import usage
from bot.config import Settings
from bot.curation import doc_selfcheck, document_view, proposals, workflow
from bot.curation.intake import UploadRefused
from bot.curation.versions import OUTSIDE, CorpusStore, NotFound
from bot.errors import BotError
from bot.pipeline.index import read_manifest

log = logging.getLogger(__name__)
PAGE = Path(__file__).with_name("referat_page")
STATIC = {"referat.js": "text/javascript", "referat.css": "text/css"}
UPLOAD_STATUS = {"too_large": 413, "wrong_type": 415, "unreadable": 422}
FAILED = "Ein unerwarteter Fehler ist aufgetreten; es wurde nichts geändert. Bitte erneut versuchen."
NOT_ALLOWED_PAGE = (
    '<!doctype html><html lang="de"><meta charset="utf-8"><title>Referat Digitalisierung</title>'
    '<p>{message}</p><p><a href="{href}">{label}</a></p></html>'
)
# What the view is; shown with the configurable notice disclosure (BOT_NOTICE_DISCLOSURE).
VIEW_NOTE = (
    "Diese Ansicht gehört zum KI-Assistenten (ASB Richtlinien-Assistent). Sie zeigt die Texte, aus "
    "denen er antwortet; beantwortet wird nur, was hier freigegeben ist."
)


@dataclass(frozen=True)
class Services:
    """What the view needs from the running chat: who asks, the model it has loaded, the index builder."""

    settings: Settings
    identify: Identify
    embeddings: Callable[[], Awaitable[Any]]
    rebuilder: Rebuilder
    allowed_origins: tuple[str, ...] = ()

    @property
    def store(self) -> CorpusStore:
        """The corpus and its history."""
        return CorpusStore(self.settings.corpus_dir, self.settings.data_dir)


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"detail": message}, status_code=status)


def _status_of(exc: BaseException) -> tuple[int, str]:
    if isinstance(exc, Refused):
        return exc.status, str(exc)
    if isinstance(exc, UploadRefused):
        return UPLOAD_STATUS[exc.kind], str(exc)
    if isinstance(exc, workflow.Conflict):
        return 409, str(exc)
    if isinstance(exc, NotFound):
        return 404, str(exc)
    if isinstance(exc, BotError):
        return 422, str(exc)
    if isinstance(exc, OSError):
        return 500, "Eine Datei konnte nicht gelesen oder geschrieben werden; es wurde nichts geändert."
    log.exception("Referats-Ansicht: unerwarteter Fehler", exc_info=exc)
    return 500, FAILED


def _guarded(
    services: Services, endpoint: Callable[..., Awaitable[Any]]
) -> Callable[[Request], Awaitable[Response]]:
    """An endpoint behind the checks, its result as JSON, every failure as one German sentence."""

    async def handle(request: Request) -> Response:
        try:
            who = await referat_auth.referat_member(
                request.headers, request, services.identify, services.settings, services.allowed_origins
            )
            result = await endpoint(request, who, **request.path_params)
        except Exception as exc:
            status, message = _status_of(exc)
            return _error(status, message)
        if isinstance(result, Response):
            return result
        return JSONResponse(result)

    return handle


def _indexed(settings: Settings) -> dict[str, str]:
    manifest = read_manifest(settings.index_dir)
    return dict(manifest.documents) if manifest else {}


def _detail(services: Services, doc_id: str) -> dict[str, Any]:
    s = services.settings
    found = document_view.detail(services.store, doc_id, _indexed(s), s.max_passage_chars, dt.date.today())
    found["selbsttest"] = doc_selfcheck.cached(services.store).get(doc_id)
    found["vorschlaege"] = [_proposal(services.store, doc_id, kind) for kind in proposals.KINDS]
    found["vorschlaege"] = [p for p in found["vorschlaege"] if p is not None]
    return found


def _proposal(store: CorpusStore, doc_id: str, kind: str) -> dict[str, Any] | None:
    try:
        view = proposals.read_proposal(store, doc_id, kind)
    except BotError as exc:
        return {"kind": kind, "fehler": str(exc)}
    return view.to_json() if view else None


def _four_eyes(services: Services) -> bool:
    authors = {c.who for c in services.store.changes() if c.who != OUTSIDE}
    known = referat_auth.known_members(services.settings, authors)
    return workflow.four_eyes_on(services.settings.four_eyes, len(known))


def routes(services: Services) -> list[Route]:
    """The page and the API as Starlette routes, in the order they must be matched."""
    s, rebuilder = services.settings, services.rebuilder

    async def documents(request: Request, who: str) -> Any:
        today = dt.date.today()
        cache = doc_selfcheck.cached(services.store)
        return await run_in_threadpool(
            document_view.rows, services.store, _indexed(s), cache, s.max_passage_chars, today
        )

    async def create(request: Request, who: str) -> Response:
        name, data, replaces = await upload_form(request, s.upload_max_mb * 1_000_000)
        change = await run_in_threadpool(
            workflow.upload, services.store, s, name, data, who, replaces=replaces
        )
        return JSONResponse(await run_in_threadpool(_detail, services, change.document), status_code=201)

    async def show(request: Request, who: str, doc_id: str) -> Any:
        return await run_in_threadpool(_detail, services, doc_id)

    async def change(request: Request, who: str, doc_id: str) -> Any:
        edit = edit_from(await json_object(request))
        await run_in_threadpool(workflow.edit, services.store, doc_id, who, edit)
        return await run_in_threadpool(_detail, services, doc_id)

    async def release(request: Request, who: str, doc_id: str) -> Any:
        base = (await json_object(request)).get("sha256")
        four_eyes = await run_in_threadpool(_four_eyes, services)
        done = await run_in_threadpool(
            lambda: workflow.release(services.store, s, doc_id, who, four_eyes=four_eyes, base=base)
        )
        rebuilder.request()
        return {
            "id": doc_id,
            "status": "freigegeben",
            "version": done[0].version,
            "freigegebene_fassung": done[0].details.get("fassung"),
            "freigegeben_von": who,
            "zeit": done[0].time,
            "vier_augen": four_eyes,
            "zurueckgezogen": [c.document for c in done[1:]],
            "index": "wird aktualisiert",
        }

    async def withdraw(request: Request, who: str, doc_id: str) -> Any:
        done = await run_in_threadpool(workflow.withdraw, services.store, doc_id, who)
        rebuilder.request()
        return {
            "id": doc_id,
            "status": "archiviert",
            "version": done.version,
            "zeit": done.time,
            "index": "wird aktualisiert",
        }

    async def restore(request: Request, who: str, doc_id: str) -> Any:
        version = (await json_object(request)).get("version")
        if not isinstance(version, int):
            raise BotError('Bitte die Nummer der Fassung angeben, z. B. {"version": 2}.')
        await run_in_threadpool(workflow.restore, services.store, doc_id, who, version)
        return await run_in_threadpool(_detail, services, doc_id)

    async def version_text(request: Request, who: str, doc_id: str, version: str) -> Any:
        if not version.isdigit():
            raise NotFound("Diese Fassung gibt es nicht.")
        data = await run_in_threadpool(services.store.version_text, doc_id, int(version))
        return {"id": doc_id, "version": int(version), "text": data.decode("utf-8", errors="replace")}

    async def selfcheck(request: Request, who: str, doc_id: str) -> Any:
        embeddings = await services.embeddings()
        return await run_in_threadpool(doc_selfcheck.check_document, services.store, s, doc_id, embeddings)

    async def draft(request: Request, who: str, doc_id: str) -> Any:
        embeddings = await services.embeddings()
        await run_in_threadpool(proposals.draft, services.store, s, doc_id, who, embeddings)
        return await run_in_threadpool(_detail, services, doc_id)

    async def accept(request: Request, who: str, doc_id: str, kind: str) -> Any:
        accepted, version = await run_in_threadpool(proposals.accept, services.store, doc_id, kind, who)
        if version is not None:
            rebuilder.request()  # a released document's questions steer the search at once
        return {"id": doc_id, "uebernommen": accepted.added, "markiert_uebrig": accepted.left_flagged}

    async def discard(request: Request, who: str, doc_id: str, kind: str) -> Any:
        await run_in_threadpool(proposals.discard, services.store, doc_id, kind, who)
        return {"id": doc_id, "verworfen": True}

    async def history(request: Request, who: str) -> Any:
        return [asdict(c) for c in reversed(services.store.changes()[-300:])]

    async def usage_view(request: Request, who: str) -> Any:
        return await run_in_threadpool(usage, s)

    async def status(request: Request, who: str) -> Any:
        manifest = read_manifest(s.index_dir)
        return {
            "angemeldet": who,
            "vier_augen": await run_in_threadpool(_four_eyes, services),
            "vier_augen_einstellung": s.four_eyes,
            "sprachmodell": bool(s.llm),
            "hochladen_max_mb": s.upload_max_mb,
            "index": {"gebaut": (manifest.built_at or None) if manifest else None, **rebuilder.state()},
            "hinweis": f"{VIEW_NOTE} {s.notice_disclosure}",
        }

    async def update_index(request: Request, who: str) -> Any:
        rebuilder.request()
        return {"index": "wird aktualisiert"}

    api = "/referat/api"
    table: list[tuple[str, str, Callable[..., Awaitable[Any]]]] = [
        (f"{api}/status", "GET", status),
        (f"{api}/nutzung", "GET", usage_view),
        (f"{api}/historie", "GET", history),
        (f"{api}/index", "POST", update_index),
        (f"{api}/documents", "GET", documents),
        (f"{api}/documents", "POST", create),
        (f"{api}/documents/{{doc_id}}", "GET", show),
        (f"{api}/documents/{{doc_id}}", "PUT", change),
        (f"{api}/documents/{{doc_id}}/freigeben", "POST", release),
        (f"{api}/documents/{{doc_id}}/zurueckziehen", "POST", withdraw),
        (f"{api}/documents/{{doc_id}}/wiederherstellen", "POST", restore),
        (f"{api}/documents/{{doc_id}}/versionen/{{version}}", "GET", version_text),
        (f"{api}/documents/{{doc_id}}/selbsttest", "POST", selfcheck),
        (f"{api}/documents/{{doc_id}}/fragen-entwerfen", "POST", draft),
        (f"{api}/documents/{{doc_id}}/vorschlag/{{kind}}/annehmen", "POST", accept),
        (f"{api}/documents/{{doc_id}}/vorschlag/{{kind}}/verwerfen", "POST", discard),
    ]
    found = [Route(path, _guarded(services, fn), methods=[method]) for path, method, fn in table]
    return [
        Route("/referat", _page(services), methods=["GET"]),
        Route("/referat/static/{name}", _static, methods=["GET"]),
        *found,
        Route(f"{api}/{{rest:path}}", _unknown, methods=["GET", "POST", "PUT", "PATCH", "DELETE"]),
    ]


def _page(services: Services) -> Callable[[Request], Awaitable[Response]]:
    """The page itself, to Referat members only; anyone else gets one German sentence and a way on."""

    async def page(request: Request) -> Response:
        try:  # a link from elsewhere (an e-mail) may open the page: it changes nothing by itself
            await referat_auth.referat_member(
                request.headers, request, services.identify, services.settings, None
            )
        except Refused as exc:
            way = ("/login", "Zur Anmeldung") if exc.status == 401 else ("/", "Zum Chat")
            html = NOT_ALLOWED_PAGE.format(message=escape(str(exc)), href=way[0], label=way[1])
            return HTMLResponse(html, status_code=exc.status)
        return FileResponse(PAGE / "index.html", media_type="text/html; charset=utf-8")

    return page


async def _static(request: Request) -> Response:
    name = str(request.path_params["name"])
    if name not in STATIC:
        return _error(404, "Diese Datei gibt es nicht.")
    return FileResponse(PAGE / name, media_type=STATIC[name], headers={"cache-control": "no-cache"})


async def _unknown(request: Request) -> Response:
    return _error(404, "Diese Adresse oder Methode gibt es in der Schnittstelle des Referats nicht.")


def install(app: Any, services: Services) -> None:
    """Put the view's routes in front of Chainlit's own, whose catch-all GET route would
    otherwise answer /referat with the chat page (TECH-NOTES, Chainlit issues #1819, #1099)."""
    app.router.routes[0:0] = routes(services)


def install_view(app: Any, settings: Settings, embeddings: Callable[[], Awaitable[Any]]) -> None:
    """The view on Chainlit's app: the chat's sign-in, its allowed origins, its loaded model, and
    an index builder of this process."""
    from chainlit.config import config

    from bot.chat.rebuild import index_command

    origins = tuple(str(o) for o in config.project.allow_origins)
    rebuilder = Rebuilder(index_command(settings))
    install(app, Services(settings, referat_auth.chainlit_identify, embeddings, rebuilder, origins))
