"""The accounts file: argon2id hashes, never a password; written whole, owner-only; read
again when it changes; a bad file names the account at fault."""

from __future__ import annotations

import stat

import pytest

from inspections.accounts.roles import Account, AccountError
from inspections.accounts.store import Accounts, hashed, read


def _account(name="changtai-reg", password="a-long-password"):
    return Account(name, "unit", "local_regulator", ("changtai",), "长泰县应急管理局",
                   hashed(password))


def test_add_verify_passwd_remove(tmp_path):
    store = Accounts(tmp_path / "accounts.yaml")
    assert not store and store.get("x") is None
    store.add(_account())
    text = (tmp_path / "accounts.yaml").read_text(encoding="utf-8")
    assert "a-long-password" not in text and "$argon2id$" in text and "长泰县" in text
    assert stat.S_IMODE((tmp_path / "accounts.yaml").stat().st_mode) == 0o600
    assert store.verify("changtai-reg", "a-long-password").name == "changtai-reg"
    assert store.verify("changtai-reg", "a-wrong-password") is None
    assert store.verify("nobody", "a-long-password") is None
    with pytest.raises(AccountError, match="exists"):
        store.add(_account())
    store.passwd("changtai-reg", "another-password")
    assert store.verify("changtai-reg", "a-long-password") is None
    assert store.verify("changtai-reg", "another-password") is not None
    store.remove("changtai-reg")
    assert store.get("changtai-reg") is None
    with pytest.raises(AccountError, match="no account"):
        store.remove("changtai-reg")


def test_another_process_changing_the_file_counts_at_once(tmp_path):
    reader, writer = Accounts(tmp_path / "a.yaml"), Accounts(tmp_path / "a.yaml")
    assert reader.get("changtai-reg") is None
    writer.add(_account())
    assert reader.get("changtai-reg") is not None
    writer.remove("changtai-reg")
    assert reader.get("changtai-reg") is None


def test_short_and_huge_passwords_are_refused(tmp_path):
    with pytest.raises(AccountError, match="at least"):
        hashed("short")
    with pytest.raises(AccountError, match="at most"):
        hashed("x" * 5000)
    store = Accounts(tmp_path / "a.yaml")
    store.add(_account())
    assert store.verify("changtai-reg", "x" * 5000) is None


@pytest.mark.parametrize("text, fault", [
    ("accounts: 3", "a list under"),
    ("accounts:\n- name: Bad Name\n  role: auditor", "account 1: an account name"),
    ("accounts:\n- name: a\n  role: auditor\n- name: a\n  role: auditor", "listed twice"),
    ("accounts:\n- name: a\n  role: unit\n  authority: local_regulator", "exactly one unit"),
    ("accounts: [", "not a readable accounts file"),
])
def test_a_bad_file_says_which_account(tmp_path, text, fault):
    (tmp_path / "a.yaml").write_text(text)
    with pytest.raises(AccountError, match=fault):
        read(tmp_path / "a.yaml")
