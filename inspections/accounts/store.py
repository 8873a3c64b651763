"""The accounts file: who may sign in to the operator page, with an argon2id hash of each
password (argon2-cffi), never the password. Managed with ``inspections accounts``; read by
the page again whenever the file changes, so an account added or removed counts at once.

The file is YAML, written whole to a temporary file and renamed (never half written), readable
by its owner alone (mode 600)::

    accounts:
    - name: pinghe-regulator
      role: unit
      authority: local_regulator
      units: [pinghe]
      display: 平和县应急管理局
      password_hash: $argon2id$v=19$m=65536,t=3,p=4$...
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

from inspections.accounts.roles import Account, AccountError
from runtime.config.settings import Settings

NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
MIN_PASSWORD = 10
MAX_PASSWORD = 1024  # a longer one is refused before hashing: hashing costs memory and time
HEADER = ("# The operator page's accounts: `inspections accounts add|remove|list|passwd`.\n"
          "# Password hashes only (argon2id); keep this file readable by its owner alone.\n")


def path(settings: Settings) -> Path:
    return settings.accounts_file or settings.home / "accounts.yaml"


def _hasher():
    from argon2 import PasswordHasher

    return PasswordHasher()  # argon2id, the library's (RFC 9106's) recommended parameters


def hashed(password: str) -> str:
    check_password(password)
    return _hasher().hash(password)


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"a password has at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise AccountError(f"a password has at most {MAX_PASSWORD} characters")


def check_name(name: str) -> str:
    if not NAME.match(name or ""):
        raise AccountError("an account name is 1-64 characters: lower-case letters, digits, "
                           f"'.', '_' or '-', starting with a letter or digit; got {name[:70]!r}")
    return name


# A hash to verify against when the name is unknown, so that the answer takes as long.
_DUMMY: list[str] = []


class Accounts:
    """The accounts of one file, read again when it changes."""

    def __init__(self, file: Path) -> None:
        self.file = file
        self._seen: tuple[int, int] | None = None
        self._accounts: dict[str, Account] = {}

    @classmethod
    def of(cls, settings: Settings) -> Accounts:
        return cls(path(settings))

    def all(self) -> dict[str, Account]:
        try:
            stat = self.file.stat()
        except FileNotFoundError:
            self._seen, self._accounts = None, {}
            return {}
        mark = (stat.st_mtime_ns, stat.st_size)
        if mark != self._seen:
            try:
                self._accounts = read(self.file)
            except AccountError as exc:
                if self._seen is None:
                    raise  # at start: the command says so and stops
                # Changed by hand into something unreadable while running: the accounts
                # read last stay, and the log says why the change did not count.
                from runtime.plumbing import logs

                logs.get(__name__).error("accounts file not read again; the accounts read "
                                         "before stay", error=str(exc)[:500])
            self._seen = mark
        return self._accounts

    def __bool__(self) -> bool:
        return bool(self.all())

    def get(self, name: str) -> Account | None:
        return self.all().get(name)

    def verify(self, name: str, password: str) -> Account | None:
        """The account, if the password is its own; None otherwise (the same time either way)."""
        from argon2.exceptions import InvalidHashError, VerificationError

        account = self.get(name)
        if len(password) > MAX_PASSWORD:
            return None
        if account is None or not account.password_hash:
            if not _DUMMY:
                _DUMMY.append(_hasher().hash("an unknown account"))
            try:
                _hasher().verify(_DUMMY[0], password)
            except VerificationError:
                pass
            return None
        try:
            _hasher().verify(account.password_hash, password)
        except (VerificationError, InvalidHashError):
            return None
        return account

    # -- changes (the command line) ---------------------------------------------------------
    def add(self, account: Account) -> None:
        accounts = dict(self.all())
        if account.name in accounts:
            raise AccountError(f"account {account.name} exists: `inspections accounts passwd` "
                               "changes its password, `remove` then `add` its role")
        accounts[account.name] = account
        write(self.file, accounts)

    def remove(self, name: str) -> None:
        accounts = dict(self.all())
        if accounts.pop(name, None) is None:
            raise AccountError(f"no account {name} in {self.file}")
        write(self.file, accounts)

    def passwd(self, name: str, password: str) -> None:
        from dataclasses import replace

        accounts = dict(self.all())
        if name not in accounts:
            raise AccountError(f"no account {name} in {self.file}")
        accounts[name] = replace(accounts[name], password_hash=hashed(password))
        write(self.file, accounts)


def read(file: Path) -> dict[str, Account]:
    """Every account of a file; an AccountError naming the file and the account at fault."""
    import yaml

    try:
        loaded = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise AccountError(f"{file}: not a readable accounts file ({exc})") from None
    rows = loaded.get("accounts") if isinstance(loaded, dict) else None
    if not isinstance(rows, list):
        raise AccountError(f"{file}: the accounts file holds a list under 'accounts:'")
    found: dict[str, Account] = {}
    for place, row in enumerate(rows, start=1):
        try:
            if not isinstance(row, dict):
                raise AccountError("each account is a mapping")
            name = check_name(str(row.get("name", "")))
            if name in found:
                raise AccountError(f"{name} is listed twice")
            found[name] = Account(
                name=name, role=str(row.get("role", "")), authority=row.get("authority"),
                units=tuple(str(u) for u in row.get("units") or ()),
                display=str(row.get("display") or ""),
                password_hash=str(row.get("password_hash") or ""),
                types=tuple(str(t) for t in row.get("types") or ()))
        except AccountError as exc:
            raise AccountError(f"{file}: account {place}: {exc}") from None
    return found


def write(file: Path, accounts: dict[str, Account]) -> None:
    import yaml

    rows = [{"name": a.name, "role": a.role, "authority": a.authority, "units": list(a.units),
             "display": a.display, "password_hash": a.password_hash,
             **({"types": list(a.types)} if a.types else {})}
            for a in sorted(accounts.values(), key=lambda a: a.name)]
    text = HEADER + yaml.safe_dump({"accounts": rows}, allow_unicode=True, sort_keys=False)
    file.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=file.parent, prefix=".accounts-", suffix=".yaml")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, 0o600)
        os.replace(temporary, file)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
