"""The operator page's door on a real socket, its services and broker nowhere: with accounts,
everyone signs in; the cookie is HttpOnly and SameSite=Strict; a form without its session's
token, or a request another site's page sent, changes nothing; sign-out ends the session;
wrong passwords wait; a county's account is kept to its unit; a trusted proxy's header signs in
only from the proxy."""

from __future__ import annotations

import base64
import http.cookiejar
import re
import urllib.error
import urllib.parse
import urllib.request

import pytest

from inspections.accounts.roles import Account
from inspections.accounts.store import Accounts, hashed
from runtime.config.settings import Settings
from tests.unit.support import serving

PASSWORD = "a-long-password"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Client:
    def __init__(self, base: str) -> None:
        self.base, self.jar = base, http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar),
                                                  _NoRedirect)

    def ask(self, path: str, form: dict | None = None, headers: dict | None = None,
            body: bytes | None = None):
        data = body if body is not None else (
            None if form is None else urllib.parse.urlencode(form).encode())
        request = urllib.request.Request(self.base + path, data=data, headers=headers or {})
        try:
            with self.opener.open(request, timeout=30) as answer:
                return answer.status, answer.headers, answer.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.headers, exc.read().decode()

    def sign_in(self, name: str, password: str = PASSWORD):
        _, _, html = self.ask("/signin")
        token = re.search(r'name="token" value="([^"]+)"', html).group(1)
        return self.ask("/signin", {"token": token, "next": "/due", "name": name,
                                    "password": password})


def _page(tmp_path, **extra):
    from inspections.page import server as operator

    accounts = Accounts(tmp_path / "accounts.yaml")
    digest = hashed(PASSWORD)
    accounts.add(Account("changtai-reg", "unit", "local_regulator", ("changtai",),
                         password_hash=digest))
    accounts.add(Account("city-office", "city", "city_safety_office", password_hash=digest))
    settings = Settings(home=tmp_path, bootstrap_servers="127.0.0.1:1",
                        accounts_file=tmp_path / "accounts.yaml",
                        scheduler_url="http://127.0.0.1:1", findings_url="http://127.0.0.1:1",
                        escalation_url="http://127.0.0.1:1", page_refresh_s=0,
                        signin_attempts=3, **extra)
    return serving(operator.create_app(settings))


@pytest.fixture
def page(tmp_path):
    with _page(tmp_path) as (base, _):
        yield base


def test_everyone_signs_in_and_the_cookie_is_guarded(page):
    client = Client(page)
    status, headers, _ = client.ask("/units/changtai")
    where = urllib.parse.urlsplit(headers["Location"])
    assert status == 303 and where.path == "/signin"
    assert urllib.parse.parse_qs(where.query) == {"next": ["/units/changtai"]}
    assert client.ask("/due.json")[0] == 401
    assert client.ask("/healthz")[0] == 200
    status, headers, _ = client.sign_in("city-office")
    assert status == 303 and headers["Location"] == "/due"
    cookie = next(c for c in client.jar if c.name == "inspections_session")
    assert cookie.has_nonstandard_attr("HttpOnly") and not cookie.secure
    assert re.search(r"SameSite=Strict", headers.get_all("Set-Cookie")[0])
    # Signed in: the page asks the services (nowhere here: 503), no more sign-in.
    assert client.ask("/due.json")[0] == 503


def test_the_sign_in_form_and_the_password(page):
    client = Client(page)
    client.ask("/signin")
    forged = client.ask("/signin", {"token": "forged", "name": "city-office",
                                    "password": PASSWORD})
    assert forged[0] == 400 and "came from elsewhere" in forged[2]
    assert client.sign_in("city-office", "a-wrong-password")[0] == 401
    assert client.sign_in("nobody", PASSWORD)[0] == 401
    # Three failures for the address: it waits, the right password too.
    assert client.sign_in("city-office", "a-wrong-password")[0] == 401
    status, headers, text = client.sign_in("city-office")
    assert status == 429 and int(headers["Retry-After"]) > 0 and "try again in" in text


def test_a_form_needs_its_session_s_token_and_sign_out_ends_the_session(page):
    client = Client(page)
    client.sign_in("city-office")
    html = client.ask("/policy")[2]  # any page of the session carries its token
    act = "/escalations/F1%3Aissue_enforcement_document/act"
    status, _, text = client.ask(act, {"action": "acknowledge", "csrf": "not-it"})
    assert status == 403 and "token is missing or wrong" in text
    token = re.search(r'name="csrf" value="([^"]+)"', html)
    assert token, "a signed-in page carries the sign-out form's token"
    # With its token the form reaches the services (nowhere: 503), nothing refused first.
    assert client.ask(act, {"action": "acknowledge", "csrf": token.group(1)})[0] == 503
    assert client.ask("/signout", {"csrf": "not-it"})[0] == 403
    stolen = next(c for c in client.jar if c.name == "inspections_session").value
    status, headers, _ = client.ask("/signout", {"csrf": token.group(1)})
    assert status == 303 and headers["Location"] == "/signin"
    # The cookie, kept by someone, no longer signs in.
    again = Client(page)
    status, _, _ = again.ask("/due.json", headers={"Cookie": f"inspections_session={stolen}"})
    assert status == 401


def test_a_program_signs_in_per_request_and_another_site_cannot_use_it(page):
    client = Client(page)
    basic = "Basic " + base64.b64encode(f"city-office:{PASSWORD}".encode()).decode()
    act = "/api/escalations/F1%3Aissue_enforcement_document/act"
    body = b'{"action": "acknowledge"}'
    json_headers = {"Authorization": basic, "Content-Type": "application/json"}
    assert client.ask(act, body=body, headers=json_headers)[0] == 503  # on to the services
    for header in ({"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site"}):
        status, _, text = client.ask(act, body=body, headers={**json_headers, **header})
        assert status == 403 and "X-CSRF-Token" in text
    wrong = "Basic " + base64.b64encode(b"city-office:a-wrong-password").decode()
    assert client.ask("/queue.json", headers={"Authorization": wrong})[0] == 401


def test_a_county_account_is_kept_to_its_unit(page):
    client = Client(page)
    status, headers, _ = client.sign_in("changtai-reg")
    status, headers, _ = client.ask("/")
    assert status == 303 and headers["Location"] == "/queue"
    for path in ("/rejected", "/assessments/2026", "/campaigns/c/timeline"):
        status, _, text = client.ask(path)
        assert status == 403 and "covers changtai only" in text, path
    status, _, text = client.ask("/units/pinghe")
    assert status == 404
    status, _, text = client.ask("/due.json?unit=pinghe")
    assert status == 400 and "covers changtai only" in text


def test_a_proxy_s_header_signs_in_from_the_proxy_alone(tmp_path):
    header = {"X-Remote-User": "city-office"}
    with _page(tmp_path, trusted_header="X-Remote-User", trusted_proxy="127.0.0.1") as (base, _):
        status, headers, _ = Client(base).ask("/due.json", headers=header)
        assert status == 503  # signed in: on to the services
        assert "inspections_session=" in headers.get("Set-Cookie", "")
        assert Client(base).ask("/due.json", headers={"X-Remote-User": "nobody"})[0] == 401
    with _page(tmp_path / "other", trusted_header="X-Remote-User",
               trusted_proxy="10.9.9.9") as (base, _):
        assert Client(base).ask("/due.json", headers=header)[0] == 401


def test_the_proxy_settings_go_together():
    with pytest.raises(ValueError, match="go together"):
        Settings(trusted_header="X-Remote-User")
