"""Who may use the chat, and in which role: password accounts, proxy headers, Microsoft Entra ID.

Only data and decisions live here; bot/app.py hands them to Chainlit's auth callbacks.
"""

from __future__ import annotations

import ipaddress
import json
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

import bcrypt
from pydantic import BaseModel, ConfigDict, ValidationError

from bot.config import Settings
from bot.errors import BotError

STAFF: Final = "mitarbeitende"
REFERAT: Final = "referat"
Role = Literal["mitarbeitende", "referat"]
MIN_PASSWORD = 12
MAX_PASSWORD_BYTES = 72  # bcrypt reads no further
MAX_NAME_CHARS = 254  # an e-mail address at most; a longer name is no account
MIN_SECRET = 32
BCRYPT_ROUNDS = 12
# Compared against when the account does not exist, so that a wrong name costs as much as a
# wrong password and does not reveal which accounts exist: the same cost as add_account's
# hashes (a cost-4 hash here answered unknown names in 4 ms instead of 250). The password
# behind it was random and is gone.
_DUMMY_HASH = b"$2b$12$8Vwbg79JxboquPViHMqOo.wnLRukQ6OkksvTgrPjhyfrOPpVDUNRK"


class Account(BaseModel):
    """One password account in the users file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    passwort_hash: str
    rolle: Role = STAFF


class _UsersFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    konten: dict[str, Account] = {}


@dataclass(frozen=True)
class Identity:
    """A signed-in person: the identifier Chainlit stores, the role, and how they signed in."""

    identifier: str
    role: Role
    provider: str

    def metadata(self) -> dict[str, str]:
        """What goes into cl.User.metadata."""
        return {"role": self.role, "provider": self.provider}


def read_accounts(path: Path) -> dict[str, Account]:
    """The accounts of a users file; a broken file is one clear German error."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
        return _UsersFile.model_validate(raw).konten
    except FileNotFoundError as exc:
        raise BotError(
            f"Die Kontendatei {path} fehlt (BOT_USERS_FILE). Anlegen mit: python -m bot user add NAME"
        ) from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, ValidationError) as exc:
        first = str(exc).splitlines()[0]
        raise BotError(f"Die Kontendatei {path} ist nicht lesbar: {first}") from exc


def _write_accounts(path: Path, accounts: dict[str, Account]) -> None:
    lines = ["# Konten des ASB Richtlinien-Assistenten; gepflegt mit `python -m bot user …`.", ""]
    for name in sorted(accounts):
        acc = accounts[name]
        # JSON string escapes are valid TOML basic strings.
        lines += [
            f"[konten.{json.dumps(name, ensure_ascii=False)}]",
            f"passwort_hash = {json.dumps(acc.passwort_hash)}",
            f"rolle = {json.dumps(acc.rolle)}",
            "",
        ]
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text("\n".join(lines), encoding="utf-8")
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def normalise_name(name: str) -> str:
    """Account names compare case-insensitively and without surrounding blanks."""
    return name.strip().lower()


def add_account(path: Path, name: str, password: str, role: Role) -> bool:
    """Create or replace an account; True if it replaced one. Weak passwords are refused."""
    name = normalise_name(name)
    if not name or any(ch.isspace() or not ch.isprintable() for ch in name):
        raise BotError("Bitte einen Kontonamen ohne Leerzeichen angeben, z. B. anna.schmidt.")
    if len(password) < MIN_PASSWORD:
        raise BotError(f"Das Passwort muss mindestens {MIN_PASSWORD} Zeichen lang sein.")
    if len(password.encode("utf-8")) > MAX_PASSWORD_BYTES:
        raise BotError(f"Das Passwort darf höchstens {MAX_PASSWORD_BYTES} Bytes lang sein.")
    accounts = read_accounts(path) if path.exists() else {}
    replaced = name in accounts
    digest = bcrypt.hashpw(password.encode("utf-8"), bcrypt.gensalt(rounds=BCRYPT_ROUNDS)).decode("ascii")
    accounts[name] = Account(passwort_hash=digest, rolle=role)
    _write_accounts(path, accounts)
    return replaced


def remove_account(path: Path, name: str) -> bool:
    """Delete an account; False if there was none."""
    accounts = read_accounts(path)
    if accounts.pop(normalise_name(name), None) is None:
        return False
    _write_accounts(path, accounts)
    return True


@dataclass(frozen=True)
class Verification:
    """A password check: who signed in (None if nobody), and whether the name is an account."""

    identity: Identity | None
    known: bool


def verify(path: Path, name: str, password: str) -> Verification:
    """Check a name and password; a wrong name costs one bcrypt check, as a wrong password does."""
    name = normalise_name(name)
    account = read_accounts(path).get(name) if len(name) <= MAX_NAME_CHARS else None
    secret = password.encode("utf-8", errors="replace")
    try:
        digest = account.passwort_hash.encode("ascii") if account else _DUMMY_HASH
        if len(secret) > MAX_PASSWORD_BYTES:
            # bcrypt would read only the first 72 bytes (bcrypt 5 refuses more): never a match,
            # but checked all the same, so that the answer takes as long as any other.
            secret, digest = secret[:MAX_PASSWORD_BYTES], _DUMMY_HASH
        ok = bcrypt.checkpw(secret, digest) and account is not None and digest != _DUMMY_HASH
    except ValueError:  # a damaged hash in the file
        ok = False
    identity = Identity(name, account.rolle, "password") if ok and account is not None else None
    return Verification(identity, account is not None)


def check_password(path: Path, name: str, password: str) -> Identity | None:
    """The account's identity if the password matches; None otherwise (same cost either way)."""
    return verify(path, name, password).identity


def _role(identifier: str, groups: str, settings: Settings) -> Role:
    named = {g.strip().lower() for g in groups.split(",")}
    return REFERAT if REFERAT in named or identifier in settings.referat_users else STAFF


def from_headers(headers: Mapping[str, str], settings: Settings) -> Identity | None:
    """The person the reverse proxy signed in (its header); None without that header."""
    if not settings.auth_header:
        return None
    identifier = normalise_name(headers.get(settings.auth_header, "") or "")
    if not identifier:
        return None
    groups = headers.get(settings.auth_role_header, "") if settings.auth_role_header else ""
    return Identity(identifier, _role(identifier, groups or "", settings), "header")


def from_entra(
    provider_id: str, raw: Mapping[str, object], default: str, settings: Settings
) -> Identity | None:
    """A Microsoft Entra ID account (Chainlit's azure-ad provider); other providers are refused."""
    if provider_id != "azure-ad":
        return None
    identifier = normalise_name(str(raw.get("mail") or raw.get("userPrincipalName") or default or ""))
    if not identifier:
        return None
    return Identity(identifier, _role(identifier, "", settings), "entra-id")


@dataclass(frozen=True)
class SignIn:
    """How this process lets people in: the methods on, or open (localhost only)."""

    methods: tuple[str, ...]

    @property
    def open(self) -> bool:
        """True when no sign-in is configured (allowed only on localhost)."""
        return not self.methods


def is_loopback(host: str) -> bool:
    """Whether a bind address is reachable from this machine only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def entra_configured(env: Mapping[str, str]) -> bool:
    """Chainlit's azure-ad provider is configured by its own environment variables."""
    return bool(env.get("OAUTH_AZURE_AD_CLIENT_ID") and env.get("OAUTH_AZURE_AD_CLIENT_SECRET"))


def sign_in(settings: Settings, host: str, env: Mapping[str, str]) -> SignIn:
    """Decide how people sign in; a configuration that would leave the chat unprotected is an error."""
    methods = []
    if settings.users_file is not None:
        read_accounts(settings.users_file)  # a missing or broken file stops the start, clearly
        methods.append("password")
    if settings.auth_header:
        methods.append("header")
    if entra_configured(env):
        if env.get("OAUTH_AZURE_AD_ENABLE_SINGLE_TENANT", "").lower() != "true" or not env.get(
            "OAUTH_AZURE_AD_TENANT_ID"
        ):
            raise BotError(
                "Entra ID nur für den eigenen Mandanten: bitte OAUTH_AZURE_AD_ENABLE_SINGLE_TENANT=true "
                "und OAUTH_AZURE_AD_TENANT_ID setzen."
            )
        methods.append("entra-id")
    if methods and len(env.get("CHAINLIT_AUTH_SECRET", "")) < MIN_SECRET:
        raise BotError(
            f"Mit Anmeldung braucht der Chat CHAINLIT_AUTH_SECRET (mindestens {MIN_SECRET} Zeichen), "
            "zu erzeugen mit: chainlit create-secret"
        )
    if not methods and not is_loopback(host):
        raise BotError(
            f"Der Chat soll auf {host} erreichbar sein, aber keine Anmeldung ist eingerichtet. Ohne "
            "Anmeldung läuft er nur auf localhost. Bitte BOT_USERS_FILE, BOT_AUTH_HEADER oder Entra ID "
            "(OAUTH_AZURE_AD_…) und CHAINLIT_AUTH_SECRET setzen (siehe docs/security.md)."
        )
    return SignIn(tuple(methods))
