"""The rules by which failed password sign-ins slow down: per account and address, per address,
and per account. Pure: counts in, a decision out; bot/chat/throttle.py stores the counts.

Every try is counted before its password is checked, in one transaction of the chat database
(bot/chat/database.py): parallel tries cannot slip past a limit, and every worker sees the same
counts. What a try may do (`decide`) is a pure function of the counts; `ThrottleStore` only
reads and writes them. Count rows carry hashes, never a typed name (a name field sometimes
holds a password); the failure log names an account only if it exists.

Example:
    >>> limits = Limits(tries=2, wait_s=60)
    >>> first = decide({}, now=0.0, limits=limits)
    >>> second = decide(first.counts, now=1.0, limits=limits)
    >>> (first.wait_s, second.wait_s)  # the second failure in a row makes the next try wait
    (0.0, 60.0)
    >>> decide(second.counts, now=2.0, limits=limits).allowed
    False
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass

from bot.chat.accounts import normalise_name
from bot.config import Settings

# What is counted: one account from one address, one address for any accounts, one account from
# all addresses; and the addresses an account signed in from (they skip the account-wide wait).
PAIR, ADDRESS, ACCOUNT, KNOWN = "konto-adresse", "adresse", "konto", "bekannt"
COUNTED = (PAIR, ADDRESS, ACCOUNT)


def address_group(address: str) -> str:
    """What counts as one address: an IPv6 client's /64 (one line hands out a whole /64)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address[:100]
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def _digest(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode("utf-8", errors="replace")).hexdigest()


def account_label(name: str, known: bool) -> str:
    """How the log names an account: by name if it exists, else by a short hash of what was typed."""
    name = normalise_name(name)
    return name if known else f"unbekannt #{_digest(name)[:8]}"


@dataclass(frozen=True)
class Keys:
    """The rows one try touches: its account (hashed) and its address group."""

    account: str
    address: str

    @classmethod
    def of(cls, name: str, address: str) -> Keys:
        """The keys of a typed name from a client address."""
        return cls(_digest(normalise_name(name)), address_group(address))

    def key(self, kind: str) -> str:
        """The row's primary key."""
        account = "" if kind == ADDRESS else self.account
        address = "" if kind == ACCOUNT else self.address
        return _digest(kind, account, address)

    def owner(self, kind: str) -> str:
        """The account hash stored with the row ("" for an address), so that forget finds it."""
        return "" if kind == ADDRESS else self.account


@dataclass(frozen=True)
class Limits:
    """When tries must wait: after `tries` for an account from one address, `address_tries` from
    one address, `account_tries` for an account from all; then wait_s, doubling to max_wait_s."""

    tries: int = 5
    address_tries: int = 20
    account_tries: int = 100
    wait_s: float = 60.0
    max_wait_s: float = 900.0
    forget_s: float = 86400.0
    known_s: float = 90 * 86400.0

    @classmethod
    def of(cls, settings: Settings) -> Limits:
        """The limits the settings ask for; an address stays known as long as history is kept."""
        return cls(
            tries=settings.signin_tries,
            address_tries=settings.signin_address_tries,
            account_tries=settings.signin_account_tries,
            wait_s=settings.signin_wait_s,
            max_wait_s=max(settings.signin_max_wait_s, settings.signin_wait_s),
            forget_s=settings.signin_forget_s,
            known_s=settings.retention_days * 86400.0,
        )

    def wait_after(self, tries: int, kind: str) -> float:
        """How long the next try waits once `tries` tries of this kind have failed in a row."""
        limit = {PAIR: self.tries, ADDRESS: self.address_tries, ACCOUNT: self.account_tries}[kind]
        over = tries - limit
        return 0.0 if over < 0 else min(self.max_wait_s, self.wait_s * 2.0 ** min(over, 40))


@dataclass(frozen=True)
class Count:
    """One row: tries since the last success, when the last began, until when new ones wait."""

    tries: int = 0
    last_try: float = 0.0
    held_until: float = 0.0


@dataclass(frozen=True)
class Decision:
    """Whether a try may check its password. Refused: wait_s until one may. Allowed: the counts
    with this try in them, and wait_s, how long the next try waits should this one fail. known:
    the account signed in from this address before."""

    allowed: bool
    wait_s: float
    counts: Mapping[str, Count]
    known: bool = False


def decide(counts: Mapping[str, Count], now: float, limits: Limits) -> Decision:
    """Refuse while a count that applies to this try holds it back; else count the try everywhere.

    The account-wide count holds back only addresses the account has not signed in from within
    known_s: guessing from many addresses does not lock the owner out at her usual desk.
    """
    known = KNOWN in counts and now - counts[KNOWN].last_try <= limits.known_s
    applying = (PAIR, ADDRESS) if known else COUNTED
    held = [counts[k].held_until - now for k in applying if k in counts and counts[k].held_until > now]
    if held:
        return Decision(False, max(held), {}, known)
    new = {}
    for kind in COUNTED:
        old = counts.get(kind, Count())
        tries = 1 if now - old.last_try > limits.forget_s else old.tries + 1
        wait = limits.wait_after(tries, kind)
        new[kind] = Count(tries, now, now + wait if wait else 0.0)
    next_wait = max(new[k].held_until - now for k in applying)
    return Decision(True, max(0.0, next_wait), new, known)


@dataclass(frozen=True)
class SignInSummary:
    """Failed password checks over a time range, for the report."""

    failures: int
    waits: int
    accounts: int
    addresses: int

    def line(self) -> str:
        """The summary as one German line."""
        if not self.failures:
            return "keine fehlgeschlagenen Anmeldungen"

        def n(count: int, one: str, many: str) -> str:
            return f"{count} {one if count == 1 else many}"

        return (
            f"{n(self.failures, 'fehlgeschlagene Anmeldung', 'fehlgeschlagene Anmeldungen')} "
            f"({n(self.accounts, 'Konto', 'Konten')}, {n(self.addresses, 'Adresse', 'Adressen')}), "
            f"davon {self.waits}× mit Wartezeit danach"
        )

    def to_json(self) -> dict[str, int]:
        """The summary as a JSON object."""
        return {
            "failures": self.failures,
            "waits": self.waits,
            "accounts": self.accounts,
            "addresses": self.addresses,
        }
