"""Session cookies and form tokens: signed, timed, bound to the account's password and to
the session; failed sign-ins limited per name and per address."""

from __future__ import annotations

from dataclasses import replace

from inspections.accounts.roles import Account
from inspections.accounts.sessions import Attempts, Session, Sessions


class _Accounts:
    def __init__(self, *accounts):
        self.by = {a.name: a for a in accounts}

    def get(self, name):
        return self.by.get(name)


ACCOUNT = Account("changtai-reg", "unit", "local_regulator", ("changtai",),
                  password_hash="$argon2id$one")


def test_a_cookie_signs_its_account_in_until_the_password_changes():
    sessions = Sessions("secret", hours=1)
    cookie = sessions.issue(ACCOUNT)
    account, session = sessions.read(cookie, _Accounts(ACCOUNT))
    assert account == ACCOUNT and session.name == "changtai-reg"
    assert sessions.read(cookie, _Accounts(replace(ACCOUNT, password_hash="$argon2id$two"))) \
        is None
    assert sessions.read(cookie, _Accounts()) is None  # removed
    assert sessions.read(cookie[:-2] + "xx", _Accounts(ACCOUNT)) is None  # tampered
    assert Sessions("another", hours=1).read(cookie, _Accounts(ACCOUNT)) is None
    assert sessions.read("x" * 600, _Accounts(ACCOUNT)) is None
    assert sessions.read(None, _Accounts(ACCOUNT)) is None


def test_a_cookie_expires():
    sessions = Sessions("secret", hours=1)
    cookie = sessions.issue(ACCOUNT)
    sessions.max_age = -1
    assert sessions.read(cookie, _Accounts(ACCOUNT)) is None


def test_a_form_token_is_its_session_s_alone():
    sessions = Sessions("secret", hours=1)
    mine, theirs = Session("a", "n1"), Session("a", "n2")
    token = sessions.form_token(mine)
    assert sessions.form_token_ok(mine, token)
    assert not sessions.form_token_ok(theirs, token)
    assert not sessions.form_token_ok(mine, "")
    assert not sessions.form_token_ok(mine, token + "x")
    # A cookie is no form token (they are signed apart).
    assert not sessions.form_token_ok(mine, sessions.issue(ACCOUNT))


def test_failed_sign_ins_wait_per_name_and_per_address():
    now = [0.0]
    attempts = Attempts(3, window_s=60, clock=lambda: now[0])
    for _ in range(3):
        assert attempts.wait_s("name:a", "address:1") == 0
        attempts.failed("name:a", "address:1")
    assert attempts.wait_s("name:a", "address:2") == 60  # the name waits
    assert attempts.wait_s("name:b", "address:1") == 60  # so does the address
    assert attempts.wait_s("name:b", "address:2") == 0
    now[0] = 30
    assert attempts.wait_s("name:a") == 30
    now[0] = 60
    assert attempts.wait_s("name:a", "address:1") == 0
    attempts.failed("name:c")
    attempts.succeeded("name:c")
    assert attempts.wait_s("name:c") == 0
