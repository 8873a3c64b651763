"""Sessions of the operator page: a signed cookie (itsdangerous) that names the account, the
form token bound to it, and the limit on failed sign-ins.

The cookie holds the account's name, a fingerprint of its password hash (a new password ends
every session of the old one) and a random nonce; it is signed and timed, not encrypted (it
holds nothing secret). A form's token is the nonce signed apart, so a page of another site can
neither read nor forge it (and SameSite=Strict keeps the cookie from its requests anyway).
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections import deque
from dataclasses import dataclass

from inspections.accounts.roles import Account

COOKIE = "inspections_session"
WINDOW_S = 15 * 60  # failed sign-ins are counted over this


def fingerprint(account: Account) -> str:
    return hashlib.sha256(account.password_hash.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Session:
    name: str
    nonce: str


class Sessions:
    """Cookies and form tokens signed with one secret (a random one when none is given)."""

    def __init__(self, secret: str, hours: float) -> None:
        from itsdangerous import URLSafeTimedSerializer

        key = secret or secrets.token_urlsafe(32)
        self.max_age = int(hours * 3600)
        self._cookies = URLSafeTimedSerializer(key, salt="inspections-session")
        self._forms = URLSafeTimedSerializer(key, salt="inspections-form")

    def issue(self, account: Account) -> str:
        return self._cookies.dumps([account.name, fingerprint(account), secrets.token_hex(16)])

    def read(self, cookie: str | None, accounts) -> tuple[Account, Session] | None:
        """The account a cookie signs in, while it is valid and the account unchanged."""
        from itsdangerous import BadSignature

        if not cookie or len(cookie) > 512:
            return None
        try:
            name, mark, nonce = self._cookies.loads(cookie, max_age=self.max_age)
        except (BadSignature, ValueError, TypeError):
            return None
        account = accounts.get(name) if isinstance(name, str) else None
        if account is None or fingerprint(account) != mark:
            return None
        return account, Session(name, str(nonce))

    def form_token(self, session: Session) -> str:
        return self._forms.dumps(session.nonce)

    def form_token_ok(self, session: Session, token: str | None) -> bool:
        from itsdangerous import BadSignature

        if not token or len(token) > 512:
            return False
        try:
            return secrets.compare_digest(str(self._forms.loads(token, max_age=self.max_age)),
                                          session.nonce)
        except (BadSignature, ValueError, TypeError):
            return False


class Attempts:
    """Failed sign-ins per account name and per client address, over a sliding window: past
    ``limit`` either is refused until its oldest failure leaves the window."""

    def __init__(self, limit: int, window_s: float = WINDOW_S, clock=time.monotonic) -> None:
        self.limit, self.window_s, self.clock = limit, window_s, clock
        self._failures: dict[str, deque[float]] = {}

    def _recent(self, key: str) -> deque[float]:
        now = self.clock()
        kept = self._failures.get(key)
        if kept is None:
            return deque()
        while kept and now - kept[0] >= self.window_s:
            kept.popleft()
        if not kept:
            del self._failures[key]
        return kept

    def wait_s(self, *keys: str) -> float:
        """How long until a sign-in for these keys may be tried (0: now)."""
        waits = [self.window_s - (self.clock() - q[0])
                 for q in map(self._recent, keys) if len(q) >= self.limit]
        return max(waits, default=0.0)

    def failed(self, *keys: str) -> None:
        now = self.clock()
        for key in keys:
            self._failures.setdefault(key, deque()).append(now)
        if len(self._failures) > 100_000:  # a flood of names: forget the oldest first
            for key in list(self._failures)[:50_000]:
                del self._failures[key]

    def succeeded(self, name_key: str) -> None:
        self._failures.pop(name_key, None)
