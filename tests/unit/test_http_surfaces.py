"""The HTTP surfaces without a broker: what a query may say (paging, years, numbers), the
deployment's members a worker passes a token to, the operator page's bounded memory, and the
operator page itself on a real socket: every error a 4xx with the security headers, none a
500, and a client that sends its headers a byte at a time cut off."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest

from kernel import paging
from runtime.config.settings import Settings
from runtime.plumbing import http, webauth
from tests.conftest import free_port
from tests.unit.support import dribbled_until_closed, serving


@pytest.mark.parametrize("limit", ["²", "0", "5001", "9" * 5000, "-1", "1e3", "٣"])
def test_a_bad_limit_is_a_value_error_naming_it(limit):
    with pytest.raises(ValueError, match="limit must be a number from 1 to 5000"):
        paging.page_size(limit)


@pytest.mark.parametrize("text", ["²", "20x6", "0000", "1899", "99999", "9999", "٢٠٢٦", ""])
def test_a_year_is_four_ascii_digits_of_a_year_whose_days_exist(text):
    with pytest.raises(ValueError, match="a year such as 2026"):
        paging.year_of(text)
    assert paging.year_of("2026") == 2026


@pytest.mark.parametrize("text", ["²", "x", "", "9" * 5000, "1001"])
def test_a_small_number_in_a_query_is_ascii_digits(text):
    with pytest.raises(ValueError, match="level must be a number"):
        paging.whole_number(text, "level")
    assert paging.whole_number("2", "level") == 2 and paging.whole_number(None, "level") is None


def _due(n: int, service: str) -> list[dict]:
    """``n`` obligations; the scheduler's with a campaign's coverage due for eight units at
    one time (one kind, one subject: told apart by unit only)."""
    kind = "escalation" if service == "escalation" else "days_on_site"
    items = [{"kind": kind, "subject_id": f"{service}-{i:03d}", "unit_id": "changtai",
              "due": f"2026-05-{1 + i % 28:02d}T{i % 24:02d}:00:00+08:00", "authority": None,
              "detail": "x", "level": None} for i in range(n)]
    if service == "scheduler":
        items += [{"kind": "campaign_coverage", "subject_id": "zhangzhou-2026",
                   "unit_id": f"unit-{u}", "due": "2026-05-03T00:00:00+08:00",
                   "authority": None, "detail": "x", "level": None} for u in range(8)]
    return items


def _sorted(items: list[dict]) -> list[dict]:
    return sorted(items, key=paging.due_order)


def test_a_due_list_in_pages_holds_every_item_once_even_when_one_is_met_meanwhile():
    items = _sorted(_due(53, "scheduler"))
    walked, cursor = [], None
    while True:
        page, cursor = paging.paged_due(items, "10", cursor)
        walked += page
        if cursor is None:
            break
        # The obligation the page ended at is met before the next page is asked for.
        items = [i for i in items if paging.due_cursor(i) != cursor]
    assert walked == _sorted(_due(53, "scheduler")) and len(walked) == 61
    for bad in ("nope", '["2026-05-01T00:00:00","x","y","z"]', "[1,2,3,4]", "[" * 1999):
        with pytest.raises(ValueError, match="is not one a due list gave"):
            paging.paged_due(items, None, bad)


def test_the_operator_pages_the_merged_due_list_by_one_cursor_for_both_services():
    """Each owner asked for its page after the same cursor, merged: every item once, in the
    order of the whole merged list."""
    from inspections.asking.due import merged_page
    from kernel.due import merge

    lists = {"scheduler": _sorted(_due(37, "scheduler")),
             "escalation": _sorted(_due(41, "escalation"))}
    whole = merge({s: {"as_of": None, "due": items} for s, items in lists.items()})
    walked, cursor = [], None
    while True:
        answers = {}
        for service, items in lists.items():
            page, after = paging.paged_due(items, "7", cursor)
            answers[service] = paging.with_next({"as_of": None, "due": page}, after)
        merged = merged_page(answers, "7")
        assert len(merged["due"]) <= 7
        walked += merged["due"]
        cursor = merged.get("next_cursor")
        if cursor is None:
            break
    assert walked == whole["due"]
    # A whole answer is what it was before paging: no next_cursor on its last page.
    last = merged_page({"scheduler": {"as_of": None, "due": []}}, None)
    assert last == {"as_of": {"scheduler": None}, "due": []}


def test_a_worker_passes_a_token_only_to_a_member_of_its_deployment():
    async def admitted(settings: Settings, own: str, urls: list[str]) -> list[bool]:
        peers = webauth.Peers(settings, own)
        return [await peers.admits(u) for u in urls]

    # No peers listed: this host's loopback addresses on any port (one host's deployment).
    assert asyncio.run(admitted(Settings(), "http://127.0.0.1:6068", [
        "http://127.0.0.1:7001", "http://localhost:6068", "http://[::1]:6068",
        "http://10.0.0.7:6068", "http://attacker.example:6068", "file:///etc/passwd",
        "http://127.0.0.1.attacker.example:6068",
    ])) == [True, True, True, False, False, False, False]
    # Peers listed: exactly those (scheme, host, port); a name stands for its addresses.
    listed = Settings(web_peers="http://localhost:6068, http://10.0.0.2:6068/")
    assert asyncio.run(admitted(listed, "http://10.0.0.1:6068", [
        "http://10.0.0.1:6068", "http://10.0.0.2:6068", "http://127.0.0.1:6068",
        "http://10.0.0.2:6069", "https://10.0.0.2:6068", "http://127.0.0.1:7001",
        "http://10.0.0.3:6068",
    ])) == [True, True, True, False, False, False, False]
    with pytest.raises(ValueError):
        Settings(web_peers="escalation:6068")  # no scheme


def test_the_page_keeps_the_newest_records_only_and_not_the_older_again():
    from inspections.page import sources as page_sources

    reader = page_sources.TopicReader(Settings(), "breaches", json.loads,
                                      order=lambda b: (b["time"], b["id"]), keep=50)
    for i in range(1_000):
        reader._add(json.dumps({"id": f"b{i:04d}", "time": f"t{i:04d}"}).encode(), (0, i))
        assert len(reader.all()) <= 50
    kept = reader.all()
    assert kept[-1]["id"] == "b0999" and reader.dropped == 1_000 - len(kept)
    reader._add(json.dumps({"id": "b0001", "time": "t0001"}).encode(), (0, 1))  # read again
    assert reader.get("b0001") is None and reader.all() == kept


def test_a_rejected_record_is_kept_as_a_short_summary_whatever_its_size():
    import base64

    from inspections.page import sources as page_sources
    from schemas.envelope import rejection_event

    value = b'{"oops": "' + b"x" * 900_000 + b'"'
    event = rejection_event(service="scheduler", topic="inspections.events", partition=3,
                            offset=7, timestamp_ms=1_777_000_000_000, key=b"k" * 5_000,
                            value=value, reason="not JSON " * 10_000, cause="not_json")
    raw = json.dumps(event).encode()
    summary = page_sources.rejected_item(raw)
    assert len(json.dumps(summary)) < 2_000
    assert summary["value_bytes"] == len(value) and summary["place"] == "inspections.events/3/7"
    assert "value_base64" not in summary and "value_text" not in summary
    whole = page_sources.rejected_detail(raw)  # what /rejected/{id} reads again
    assert base64.b64decode(whole["value_base64"]) == value


class _Paged(BaseHTTPRequestHandler):
    """A view in pages of 3 (``/list``), and one whose cursor never moves on (``/stuck``)."""

    def do_GET(self):  # noqa: N802 (http.server's name)
        url = urlparse(self.path)
        cursor = int(parse_qs(url.query).get("cursor", ["0"])[0])
        if url.path == "/stuck":
            body = {"units": [cursor], "next_cursor": "1"}
        else:
            body = {"year": 2026, "units": list(range(cursor, min(cursor + 3, 10)))}
            if cursor + 3 < 10:
                body["next_cursor"] = str(cursor + 3)
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


def test_a_command_reads_a_paged_view_whole_and_a_cursor_that_does_not_move_stops_it():
    from inspections.asking import client as asking

    server = ThreadingHTTPServer(("127.0.0.1", 0), _Paged)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        settings = Settings(findings_url=f"http://127.0.0.1:{server.server_port}")
        assert asking.get(settings, "findings", "/list") == {"year": 2026,
                                                            "units": list(range(10))}
        assert asking.get(settings, "findings", "/list", cursor="3")["units"] == [3, 4, 5]
        with pytest.raises(RuntimeError, match="twice"):
            asking.get(settings, "findings", "/stuck")
    finally:
        server.shutdown()


# -- the operator page on a real socket -------------------------------------------------------

@pytest.fixture
def page(tmp_path):
    """The operator page on a port of its own, its services and broker nowhere (every view
    it forwards to is unavailable), and one route that fails as no handler should."""
    from inspections.page import server as operator

    settings = Settings(home=tmp_path, bootstrap_servers="127.0.0.1:1",
                        scheduler_url="http://127.0.0.1:1", findings_url="http://127.0.0.1:1",
                        escalation_url="http://127.0.0.1:1", page_refresh_s=0)
    app = operator.create_app(settings)

    async def fails(request):
        raise RuntimeError("a secret detail that must not reach the client")

    app.router.add_get("/fails", fails)
    with serving(app) as (base, port):
        yield base, port


def _answer(url: str, method: str = "GET"):
    try:
        with urllib.request.urlopen(urllib.request.Request(url, method=method),
                                    timeout=30) as answer:
            return answer.status, answer.headers, answer.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read().decode()


@pytest.mark.parametrize("path, method, status, says", [
    ("/assessments/²", "GET", 400, "a year such as 2026"),
    ("/assessments/²⁰²⁶.csv", "GET", 400, "a year such as 2026"),
    ("/assessments/0000", "GET", 400, "a year such as 2026"),
    ("/assessments/2026?limit=²", "GET", 400, "limit must be a number"),
    ("/due?due_within=99999999999w", "GET", 400, "due_within must be"),
    ("/due.json?due_within=99999999999w", "GET", 400, "due_within must be"),
    ("/due.json?due_within=5000000w", "GET", 400, "at most 100 years"),
    ("/due.json?limit=²", "GET", 400, "limit must be a number"),
    ("/due?cursor=not-a-cursor", "GET", 400, "not one a due list gave"),
    ("/rejected.json?limit=0", "GET", 400, "limit must be a number"),
    ("/rejected?since=²", "GET", 400, "since must be a time"),
    ("/rejected.json?cause=bogus", "GET", 400, "cause must be one of"),
    ("/breaches.json?limit=99999", "GET", 400, "limit must be a number"),
    ("/nothing-here", "GET", 404, ""),
    ("/rejected/no-such-id", "GET", 404, "no rejected record"),
    ("/rejected/no-such-id.json", "GET", 404, "no rejected record"),
    ("/", "POST", 405, ""),
    ("/due.json", "DELETE", 405, ""),
    ("/due.json", "GET", 503, "did not answer"),  # the services are nowhere
    ("/fails", "GET", 500, "its log says why"),
])
def test_every_error_is_answered_with_the_security_headers_and_no_traceback(
        page, path, method, status, says):
    from inspections.page.server import SECURITY_HEADERS

    base, _ = page
    code, headers, text = _answer(base + urllib.parse.quote(path, safe="/?=&."), method)
    assert code == status, (path, code, text[:300])
    assert says in text
    for name, value in SECURITY_HEADERS.items():
        assert headers[name] == value, (path, name)
    assert "Traceback" not in text and "secret detail" not in text


def test_a_client_sending_its_headers_a_byte_at_a_time_is_cut_off(page):
    """Slowloris: a byte a second, never the end of the headers. The page closes the
    connection (aiohttp's own default waits an hour)."""
    _, port = page
    assert dribbled_until_closed("127.0.0.1", port, deadline_s=http.CLIENT_IDLE_S + 60)


def test_a_body_larger_than_the_cap_is_refused(page):
    """No view takes a body: the page answers without taking it; and a handler that read one
    (none does) would get 413 past the cap."""
    from aiohttp import web

    base, _ = page
    request = urllib.request.Request(base + "/due.json", method="POST",
                                     data=b"x" * (http.BODY_MAX_BYTES * 4))
    try:
        urllib.request.urlopen(request, timeout=30)
        raise AssertionError("a body was taken")
    except urllib.error.HTTPError as exc:
        assert exc.code == 405
    except (ConnectionError, urllib.error.URLError):
        pass  # closed before the body was all sent: refused too

    async def reads(request):
        return web.Response(text=str(len(await request.read())))

    with _served(reads, method="POST") as url:
        small = urllib.request.Request(url, data=b"x" * 1000, method="POST")
        assert urllib.request.urlopen(small, timeout=30).read() == b"1000"
        large = urllib.request.Request(url, data=b"x" * (http.BODY_MAX_BYTES + 1),
                                       method="POST")
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(large, timeout=30)
        assert refused.value.code == 413


def test_a_client_that_does_not_read_its_answer_is_cut_off():
    """The answer is larger than the sockets' buffers and the client reads none of it: the
    server closes the connection once the answer has not gone out in time."""
    from aiohttp import web

    async def large(request):
        return web.Response(body=b"x" * 64 * 2**20)

    with _served(large, middlewares=[http.sent_within(1)]) as url:
        runner = _served.runner
        port = urlparse(url).port
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            deadline = time.monotonic() + 60
            while not _writing(runner) and time.monotonic() < deadline:
                time.sleep(0.1)
            assert _writing(runner), "the answer never started"
            while runner.server.connections and time.monotonic() < deadline:
                time.sleep(0.2)  # not a byte read meanwhile
            assert not runner.server.connections, "the slow reader's connection stayed open"


def _writing(runner) -> bool:
    """Whether the server holds a connection with answer bytes waiting to go out."""
    return any(p.transport is not None and p.transport.get_write_buffer_size() > 0
               for p in runner.server.connections)


def test_both_servers_are_built_with_the_caps_and_the_answer_timeout(tmp_path):
    from inspections.page import server as operator
    from runtime.faust_runner.app import make_app

    settings = Settings(home=tmp_path, bootstrap_servers="127.0.0.1:1")
    worker = make_app("escalation", settings).conf.web_application_options
    assert worker["client_max_size"] == http.BODY_MAX_BYTES
    assert worker["handler_args"]["keepalive_timeout"] == http.CLIENT_IDLE_S
    assert worker["middlewares"][0].__name__ == "send_in_time"
    page_app = operator.create_app(settings)
    assert page_app._client_max_size == http.BODY_MAX_BYTES
    assert page_app.middlewares[0].__name__ == "send_in_time"


class _served:
    """One handler on a real port with the servers' options, for the length of a ``with``."""

    runner = None

    def __init__(self, handler, method: str = "GET", middlewares=()) -> None:
        self.handler, self.method, self.middlewares = handler, method, list(middlewares)

    def __enter__(self) -> str:
        from aiohttp import web

        app = web.Application(middlewares=self.middlewares, **http.server_options())
        app.router.add_route(self.method, "/", self.handler)
        self.loop = asyncio.new_event_loop()
        type(self).runner = self.runner = web.AppRunner(app)
        self.loop.run_until_complete(self.runner.setup())
        port = free_port()
        self.loop.run_until_complete(web.TCPSite(self.runner, "127.0.0.1", port).start())
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        return f"http://127.0.0.1:{port}/"

    def __exit__(self, *exc) -> None:
        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


def test_compose_lists_each_worker_service_as_a_peer_on_its_own_port():
    """Scaled workers advertise their container's address; each service name stands for
    every replica's, so a view still goes to whichever replica owns its key."""
    import yaml

    from runtime.faust_runner.app import web_port
    from tests.conftest import REPO

    settings = Settings()
    for name in ("docker-compose.yml", "docker-compose.cluster.yml"):
        compose = yaml.safe_load((REPO / name).read_text())
        for service in ("scheduler", "findings", "escalation"):
            env = compose["services"][service]["environment"]
            peers = webauth.peer_urls(env["INSPECTIONS_WEB_PEERS"])
            assert f"http://{service}:{web_port(settings, service)}" in peers, (name, service)
            Settings(web_peers=env["INSPECTIONS_WEB_PEERS"])  # a valid setting
