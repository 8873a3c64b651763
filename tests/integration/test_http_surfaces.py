"""The HTTP surfaces on the real broker: every list of the workers and the operator page in
pages that, walked, hold the whole list; bad query values a 400 (never a 500); a client
sending its headers a byte at a time cut off by a worker; a worker that the group's metadata
places at an address outside the deployment is not asked, and the caller's token does not
go there; a request one worker passed on is not passed on again."""

from __future__ import annotations

import json
import secrets
import threading
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import yaml

from tests.conftest import free_port
from tests.integration.kafka_io import produce, wait_for
from tests.integration.support import SCENARIO
from tests.unit.support import dribbled_until_closed


def _get(url: str, token: str | None = None, **headers: str):
    if token:
        headers["Authorization"] = f"Bearer {token}"
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers),
                                    timeout=30) as answer:
            return answer.status, answer.headers, answer.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read().decode()
    except OSError as exc:
        return None, {}, str(exc)


def _json(url: str, token: str | None = None):
    status, _, text = _get(url, token)
    assert status == 200, (url, status, text[:500])
    return json.loads(text)


def _walk(url: str, field: str, limit: int = 1) -> tuple[list, int]:
    """Every item of a paged list, asked ``limit`` at a time; and how many pages it took."""
    items, cursor, pages = [], None, 0
    while True:
        query = {"limit": str(limit), **({"cursor": cursor} if cursor else {})}
        sep = "&" if "?" in url else "?"
        answer = _json(f"{url}{sep}{urllib.parse.urlencode(query)}")
        items += answer[field]
        pages += 1
        cursor = answer.get("next_cursor")
        if not cursor:
            return items, pages


def test_every_list_in_pages_bad_values_refused_and_slow_clients_cut_off(
        deployment, kafka, tmp_path):
    from inspections.page.server import SECURITY_HEADERS
    from inspections.simulation.demo import caught_up
    from kernel.paging import due_order
    from runtime.config.settings import Settings
    from runtime.plumbing.http import CLIENT_IDLE_S
    from schemas.envelope import rejection_event

    for service in ("scheduler", "findings", "escalation"):
        deployment.start(service)
    page = kafka.spawn("operator", log=tmp_path / "operator.log")
    deployment.workers.append(page)
    for service in ("scheduler", "findings", "escalation"):
        kafka.cli("ready", service, "--wait", "120")
    scenario = tmp_path / "short.yaml"
    # Stopped while both visits are on site: obligations open for each.
    scenario.write_text(yaml.safe_dump({**SCENARIO, "until": "2026-04-23T00:00:00+08:00"},
                                       allow_unicode=True))
    kafka.cli("simulate", str(scenario), "--speed", "0")
    settings = Settings(bootstrap_servers=kafka.bootstrap, topic_prefix=deployment.prefix)
    wait_for(lambda: caught_up(settings), "the services to catch up")
    # Three rejected records on the rejected topic, as a worker writes them.
    rejected = [rejection_event(service="scheduler", topic=deployment.topic("events"),
                                partition=0, offset=900 + i, timestamp_ms=1_777_000_000_000 + i,
                                key=b"changtai", value=b'{"broken": <b>' + bytes([65 + i]),
                                reason="not JSON", cause="not_json") for i in range(3)]
    produce(kafka.bootstrap, deployment.topic("rejected"),
            [(b"changtai", json.dumps(r).encode()) for r in rejected])

    base = int(kafka.vars["INSPECTIONS_WEB_PORT_BASE"])
    scheduler, findings, escalation, operator = (f"http://127.0.0.1:{base + i}"
                                                 for i in range(4))

    # The workers' lists, walked a row at a time: the whole list, each row once, in order;
    # a whole answer is what it was (no next_cursor on a list that fits one page).
    for url, field in ((f"{scheduler}/campaigns/test-2026", "units"),
                       (f"{findings}/assessments/2026", "units"),
                       (f"{escalation}/units/changtai/escalations", "escalations"),
                       (f"{scheduler}/due", "due"), (f"{escalation}/due", "due"),
                       (f"{escalation}/escalations", "escalations")):
        whole = _json(url)
        assert whole.get("next_cursor") is None, url
        walked, pages = _walk(url, field)
        if field == "due":  # pages in the one order: a campaign's coverage per unit, by unit
            whole[field] = sorted(whole[field], key=due_order)
        assert walked == whole[field] and pages == max(1, len(walked)), url
    assert len(_json(f"{scheduler}/campaigns/test-2026?limit=1")["units"]) == 1
    assert _json(f"{scheduler}/campaigns/test-2026?limit=1")["next_cursor"] == "changtai"

    # Bad values: 400 naming what is wrong, as JSON (the 500s of before: "²" is a digit to
    # str.isdigit, and a span of 99999999999 weeks overflowed).
    for url, says in ((f"{findings}/assessments/²", "year must be a year"),
                      (f"{findings}/assessments/0000", "year must be a year"),
                      (f"{findings}/assessments/2026?limit=²", "limit must be"),
                      (f"{escalation}/escalations?level=²", "level must be a number"),
                      (f"{escalation}/escalations?level=" + "9" * 5000, "level must be"),
                      (f"{escalation}/due?due_within=99999999999w", "due_within must be"),
                      (f"{scheduler}/due?due_within=5000000w", "at most 100 years"),
                      (f"{scheduler}/due?cursor=nope", "not one a due list gave"),
                      (f"{scheduler}/campaigns/test-2026?cursor=nope", "not in the list"),
                      (f"{escalation}/units/changtai/escalations?limit=0", "limit must be")):
        status, _, text = _get(urllib.parse.quote(url, safe=":/?=&"))
        assert status == 400 and says in json.loads(text)["error"], (url, status, text[:300])

    # The operator page: the same lists in pages; what it keeps, in pages too.
    whole = _json(f"{operator}/due.json")
    assert "next_cursor" not in whole and len(whole["due"]) >= 2, whole
    walked, pages = _walk(f"{operator}/due.json", "due")
    assert walked == sorted(whole["due"], key=due_order) and pages == len(walked)
    wait_for(lambda: len(_json(f"{operator}/rejected.json")["rejected"]) == 3,
             "the rejected records on the page")
    walked, pages = _walk(f"{operator}/rejected.json", "rejected")
    assert [r["id"] for r in walked] == [r["id"] for r in rejected] and pages == 3
    assert all("value_base64" not in r for r in walked)  # summaries: no bytes kept
    # One record's bytes, read again from the topic when its page is asked for.
    one = _json(f"{operator}/rejected/{urllib.parse.quote(rejected[1]['id'], safe='')}.json")
    assert one["value_text"] == '{"broken": <b>B'
    status, _, html = _get(f"{operator}/rejected/{urllib.parse.quote(rejected[1]['id'], safe='')}")
    assert status == 200 and "&lt;b&gt;B" in html and "<b>B" not in html
    for path, marker in (("/due?limit=1", 'data-subject="'), ("/rejected?limit=1",
                                                                "data-rejection="),
                         ("/assessments/2026?limit=1", 'data-unit="')):
        status, _, html = _get(operator + path)
        assert status == 200 and html.count(marker) == 1 and 'rel="next"' in html, path
        follow = html.split('rel="next" href="')[1].split('"')[0].replace("&amp;", "&")
        assert "cursor=" in follow and "limit=1" in follow
        status, _, second = _get(operator + follow)
        assert status == 200 and second.count(marker) == 1 and second != html, follow

    # Errors on the page: 4xx with the security headers, the services not asked.
    for path, status_wanted in (("/assessments/²", 400), ("/due?due_within=99999999999w", 400),
                                ("/due.json?due_within=99999999999w", 400),
                                ("/due.json?cursor=x", 400), ("/rejected.json?limit=²", 400),
                                ("/nothing-here", 404), ("/rejected/nope", 404)):
        status, headers, text = _get(operator + urllib.parse.quote(path, safe="/?=&."))
        assert status == status_wanted, (path, status, text[:300])
        for name, value in SECURITY_HEADERS.items():
            assert headers[name] == value, (path, name)

    # A client sending its headers a byte a second: each worker and the page close it (the
    # three at once: each takes the idle timeout).
    from concurrent.futures import ThreadPoolExecutor

    ports = (base, base + 2, base + 3)
    with ThreadPoolExecutor(len(ports)) as pool:
        closed = list(pool.map(lambda port: dribbled_until_closed(
            "127.0.0.1", port, deadline_s=CLIENT_IDLE_S + 60), ports))
    assert closed == [True] * len(ports), dict(zip(ports, closed))
    assert _get(f"{escalation}/healthz")[0] == 200  # and answer the next one


class _Trap(BaseHTTPRequestHandler):
    """Where a worker that joined the group says it is: it notes whatever reaches it."""

    seen: list[dict] = []

    def do_GET(self):  # noqa: N802 (http.server's name)
        type(self).seen.append({"path": self.path, **dict(self.headers)})
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"local": []}')

    def log_message(self, *args):
        pass


def test_a_worker_advertised_outside_the_deployment_is_not_asked_nor_given_the_token(
        deployment, kafka, tmp_path):
    """Two escalation workers: one (A) told its deployment is itself alone; the other (B)
    advertising an address where something else listens (the trap). A asks nobody outside,
    whatever the group's metadata says: its answer names the worker it refused, its log too,
    and the trap never sees a request or the token. B (loopback peers, the default) asks A;
    a request B gets passed on from another worker is not passed on again."""
    token = secrets.token_urlsafe(16)
    trap = ThreadingHTTPServer(("127.0.0.1", 0), _Trap)
    threading.Thread(target=trap.serve_forever, daemon=True).start()
    trap_url = f"http://127.0.0.1:{trap.server_port}"
    port_a, port_b = free_port(), free_port()
    logs = {}
    try:
        for name, port, extra in (
                ("a", port_a, {"INSPECTIONS_WEB_PEERS": f"http://127.0.0.1:{port_a}"}),
                ("b", port_b, {"INSPECTIONS_WEB_ADVERTISED_URL": trap_url})):
            env = dict(kafka.vars, INSPECTIONS_WEB_PORT=str(port_a if name == "a" else port_b),
                       INSPECTIONS_HTTP_TOKEN=token, **extra)
            logs[name] = tmp_path / f"escalation-{name}.log"
            deployment.workers.append(_spawn(env, logs[name]))
        a, b = f"http://127.0.0.1:{port_a}", f"http://127.0.0.1:{port_b}"

        # Once the group holds both, A's gather would ask the trap: it refuses, saying so.
        def refused_by_a() -> bool:
            status, _, text = _get(f"{a}/escalations", token)
            return status == 503 and trap_url in text
        wait_for(refused_by_a, "A to see B in the group", timeout=240)
        status, _, text = _get(f"{a}/escalations", token)
        assert "not a member of this deployment" in json.loads(text)["error"]
        wait_for(lambda: "not a member of this deployment" in logs["a"].read_text(),
                 "A to log the worker it refused")

        # By unit: A refuses the units B owns, answers its own; B passes a unit A owns to
        # A (loopback, a member), but not one that was passed to it already.
        units = [f"unit-{i}" for i in range(24)]
        by_a = {u: _get(f"{a}/units/{u}/escalations", token) for u in units}
        refused = [u for u, (status, _, text) in by_a.items()
                   if status == 503 and trap_url in text]
        own_a = [u for u, (status, _, _) in by_a.items() if status == 404]
        assert refused and own_a and len(refused) + len(own_a) == len(units), \
            {u: s for u, (s, _, _) in by_a.items()}
        for u in own_a:
            assert _get(f"{b}/units/{u}/escalations", token)[0] == 404  # asked of A
            status, _, text = _get(f"{b}/units/{u}/escalations", token,
                                   **{"Inspections-Routed": "1"})
            assert status == 503 and "moving" in text
        assert _get(f"{b}/units/{u}/escalations")[0] == 401  # the token is still wanted
        assert _Trap.seen == [], _Trap.seen  # nothing reached the trap: no token either
    finally:
        trap.shutdown()


def _spawn(env: dict, log):
    import subprocess

    from tests.conftest import CLI, REPO

    return subprocess.Popen([*CLI, "run", "escalation"], env=env, cwd=REPO,
                            stdout=open(log, "ab"), stderr=subprocess.STDOUT)
