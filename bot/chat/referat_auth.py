"""Who may use the Referat's view: signed in with the chat's cookie, in the role referat, and asking
from the chat's own pages. Checked on the server for every request, whatever the page shows.

Cross-site requests are refused by their Origin (and Sec-Fetch-Site): a browser sends both with
every POST, so a page elsewhere cannot make a signed-in Referat member's browser release a text.
A script without a browser sends neither and is judged by its cookie alone.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from bot.chat import accounts
from bot.config import Settings
from bot.errors import BotError

NOT_SIGNED_IN = "Bitte melden Sie sich zuerst im Chat an."
NOT_REFERAT = "Diese Ansicht ist dem Referat Digitalisierung vorbehalten."
CROSS_SITE = "Anfragen von fremden Seiten werden nicht angenommen."


class Refused(BotError):
    """A request that is not let in: its HTTP status and one German sentence."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class SignedIn:
    """Who the chat's cookie names, with the role and sign-in method recorded at sign-in."""

    identifier: str
    role: str | None
    provider: str | None


Identify = Callable[[object], Awaitable[SignedIn | None]]


def _netloc(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower() if parts.scheme and parts.netloc else ""


def same_origin(headers: Mapping[str, str], allowed: Iterable[str] = ()) -> bool:
    """Whether the request comes from the chat's own pages (or from no browser at all)."""
    if headers.get("sec-fetch-site", "") in ("cross-site", "same-site"):
        return False
    origin = headers.get("origin")
    if origin is None:
        return True  # browsers send Origin with every POST; a script sends none
    origin = origin.strip().lower()
    if origin == "null" or not _netloc(origin):
        return False
    if origin in {_netloc(a) for a in allowed if a != "*"}:
        return True
    host = headers.get("host", "").lower()
    named = urlsplit(origin)
    # Behind a proxy that passes the host without its port (nginx's $host), the name must match.
    return named.netloc == host or (":" not in host and named.hostname == host)


def is_referat(person: SignedIn, settings: Settings) -> bool:
    """The role referat, as signed in; a password account is looked up again, so that taking
    the role away (or the account) takes effect at once, not at the next sign-in."""
    if person.role != accounts.REFERAT:
        return False
    if person.provider == "password" and settings.users_file is not None:
        account = accounts.read_accounts(settings.users_file).get(accounts.normalise_name(person.identifier))
        return account is not None and account.rolle == accounts.REFERAT
    return True


async def referat_member(
    headers: Mapping[str, str],
    request: object,
    identify: Identify,
    settings: Settings,
    allowed: Iterable[str] | None,
) -> str:
    """The identifier of the Referat member asking; Refused (403 or 401) otherwise. allowed: the
    chat's own origins besides its host; None checks no origin (opening the page itself)."""
    if allowed is not None and not same_origin(headers, allowed):
        raise Refused(403, CROSS_SITE)
    person = await identify(request)
    if person is None:
        raise Refused(401, NOT_SIGNED_IN)
    if not is_referat(person, settings):
        raise Refused(403, NOT_REFERAT)
    return person.identifier


async def chainlit_identify(request: object) -> SignedIn | None:
    """The person the chat's sign-in cookie (`access_token`) names, as Chainlit's own routes see it."""
    from chainlit.auth import get_current_user, reuseable_oauth
    from fastapi import HTTPException, Request

    assert isinstance(request, Request)
    token = await reuseable_oauth(request)
    if not token:
        return None
    try:
        user = await get_current_user(token)
    except HTTPException:
        return None
    if user is None:
        return None
    metadata = user.metadata or {}
    return SignedIn(user.identifier, metadata.get("role"), metadata.get("provider"))


def known_members(settings: Settings, authors: Iterable[str]) -> set[str]:
    """The Referat accounts known: password accounts with the role, BOT_REFERAT_USERS, and the
    people who changed documents in the view (signed in by proxy header or Entra ID)."""
    known = set(settings.referat_users)
    if settings.users_file is not None and settings.users_file.is_file():
        known |= {
            n for n, a in accounts.read_accounts(settings.users_file).items() if a.rolle == accounts.REFERAT
        }
    return known | {a for a in authors if a}
