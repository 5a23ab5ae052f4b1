"""Password accounts, roles from headers and Entra ID, and when the chat may run open."""

from __future__ import annotations

from pathlib import Path

import bcrypt
import pytest

from bot.chat import accounts
from bot.config import Settings
from bot.errors import BotError

SECRET = "s" * 40


def test_password_accounts_check_hashes_and_keep_roles(tmp_path: Path) -> None:
    users = tmp_path / "konten.toml"
    assert accounts.add_account(users, " Anna.Schmidt ", "ein-langes-passwort", "referat") is False
    assert "ein-langes-passwort" not in users.read_text()  # only the bcrypt hash is stored
    assert users.stat().st_mode & 0o077 == 0
    who = accounts.check_password(users, "anna.schmidt", "ein-langes-passwort")
    assert who == accounts.Identity("anna.schmidt", "referat", "password")
    assert accounts.check_password(users, "anna.schmidt", "falsches-passwort") is None
    assert accounts.check_password(users, "niemand", "ein-langes-passwort") is None
    assert accounts.check_password(users, "anna.schmidt", "x" * 200) is None
    assert accounts.add_account(users, "anna.schmidt", "ein-neues-passwort!", "mitarbeitende") is True
    assert accounts.check_password(users, "ANNA.SCHMIDT", "ein-neues-passwort!").role == "mitarbeitende"
    assert accounts.remove_account(users, "anna.schmidt") and not accounts.remove_account(
        users, "anna.schmidt"
    )


def test_an_unknown_or_overlong_name_costs_the_same_bcrypt_check_as_a_wrong_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    users = tmp_path / "konten.toml"
    accounts.add_account(users, "anna", "ein-langes-passwort", "mitarbeitende")
    checked: list[bytes] = []
    real = bcrypt.checkpw
    monkeypatch.setattr(
        bcrypt, "checkpw", lambda secret, digest: checked.append(digest[:7]) or real(secret, digest)
    )
    tries = [("anna", "falsches-passwort"), ("niemand", "falsches-passwort"), ("anna", "ä" * 40)]
    tries += [("n" * 5000, "falsches-passwort"), ("anna", "ein-langes-passwort" + "x" * 100)]
    for name, password in tries:
        assert accounts.verify(users, name, password).identity is None
    # Every try, whatever it got wrong, pays one check at the accounts' cost (12 rounds).
    assert checked == [b"$2b$12$"] * len(tries)
    assert [accounts.verify(users, n, "falsch").known for n in ("ANNA ", "niemand", "n" * 5000)] == [
        True,
        False,
        False,
    ]


@pytest.mark.parametrize(
    ("name", "password", "says"),
    [
        ("anna", "kurz", "mindestens 12"),
        ("anna", "ä" * 40, "72 Bytes"),
        ("an na", "ein-langes-passwort", "ohne"),
    ],
)
def test_weak_accounts_are_refused_politely(tmp_path: Path, name: str, password: str, says: str) -> None:
    with pytest.raises(BotError, match=says):
        accounts.add_account(tmp_path / "konten.toml", name, password, "mitarbeitende")
    assert not (tmp_path / "konten.toml").exists()


def test_a_broken_users_file_is_one_clear_error(tmp_path: Path) -> None:
    users = tmp_path / "konten.toml"
    users.write_text('[konten.anna]\npasswort_hash = "x"\nrolle = "chef"\n', encoding="utf-8")
    with pytest.raises(BotError, match=r"Kontendatei .* nicht lesbar"):
        accounts.read_accounts(users)
    with pytest.raises(BotError, match="fehlt"):
        accounts.read_accounts(tmp_path / "gibt-es-nicht.toml")


def test_open_only_on_localhost(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    assert accounts.sign_in(settings, "127.0.0.1", {}).open
    assert accounts.sign_in(settings, "localhost", {}).open
    assert accounts.sign_in(settings, "::1", {}).open
    for host in ("0.0.0.0", "10.1.2.3", "chat.asb-nrw.de"):
        with pytest.raises(BotError, match="nur auf localhost"):
            accounts.sign_in(settings, host, {})


def test_sign_in_needs_a_strong_secret_and_a_single_tenant(tmp_path: Path) -> None:
    users = tmp_path / "konten.toml"
    accounts.add_account(users, "anna", "ein-langes-passwort", "mitarbeitende")
    with_users = Settings(users_file=users)
    with pytest.raises(BotError, match="CHAINLIT_AUTH_SECRET"):
        accounts.sign_in(with_users, "0.0.0.0", {"CHAINLIT_AUTH_SECRET": "kurz"})
    assert accounts.sign_in(with_users, "0.0.0.0", {"CHAINLIT_AUTH_SECRET": SECRET}).methods == ("password",)

    entra = {
        "OAUTH_AZURE_AD_CLIENT_ID": "id",
        "OAUTH_AZURE_AD_CLIENT_SECRET": "geheim",
        "CHAINLIT_AUTH_SECRET": SECRET,
    }
    with pytest.raises(BotError, match="Mandanten"):
        accounts.sign_in(Settings(), "0.0.0.0", entra)
    single = {**entra, "OAUTH_AZURE_AD_ENABLE_SINGLE_TENANT": "true", "OAUTH_AZURE_AD_TENANT_ID": "asb"}
    assert accounts.sign_in(Settings(), "0.0.0.0", single).methods == ("entra-id",)
    header = Settings(auth_header="X-Forwarded-User")
    assert accounts.sign_in(header, "0.0.0.0", {"CHAINLIT_AUTH_SECRET": SECRET}).methods == ("header",)


def test_roles_from_proxy_headers_and_entra_id() -> None:
    settings = Settings(
        auth_header="X-Forwarded-User", auth_role_header="X-Forwarded-Groups", referat_users="chef@asb-nrw.de"
    )
    staff = accounts.from_headers(
        {"X-Forwarded-User": "Anna@ASB-nrw.de", "X-Forwarded-Groups": "pflege"}, settings
    )
    assert staff == accounts.Identity("anna@asb-nrw.de", "mitarbeitende", "header")
    by_group = accounts.from_headers(
        {"X-Forwarded-User": "bo", "X-Forwarded-Groups": "pflege, Referat"}, settings
    )
    assert by_group.role == "referat"
    assert accounts.from_headers({"X-Forwarded-User": "  "}, settings) is None
    assert accounts.from_headers({}, settings) is None
    assert accounts.from_entra("azure-ad", {"mail": "Chef@asb-nrw.de"}, "x", settings).role == "referat"
    assert accounts.from_entra("azure-ad", {}, "upn@asb-nrw.de", settings).identifier == "upn@asb-nrw.de"
    assert accounts.from_entra("github", {"mail": "chef@asb-nrw.de"}, "x", settings) is None
