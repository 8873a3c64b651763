"""`inspections notify`'s pure parts: which records are breaches (every breach the seed
campaign derives is; nothing else is), the alert of each, and the register's answers that
must not make it wait forever."""

from __future__ import annotations

import json
import threading
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from inspections.alerting import notify
from runtime.config.settings import Settings
from tests.integration.support import MALFORMED, findings_breach, with_data


def test_every_breach_the_seed_derives_is_taken_and_gives_its_alert():
    from tests.unit import seeded

    derived = seeded.pipeline().derived_by_topic()["inspections.breaches"]
    assert derived
    for event in derived:
        breach, why = notify.breach_of(json.dumps(event).encode())
        assert breach == event, why
        made = notify.alert(breach, None, 60, datetime.now(timezone.utc))
        assert made["labels"]["breach_id"] == event["id"]


@pytest.mark.parametrize("raw", MALFORMED, ids=range(len(MALFORMED)))
def test_a_record_that_is_no_breach_is_refused_saying_why(raw):
    breach, why = notify.breach_of(raw)
    assert breach is None and why


def test_an_odd_deadline_id_is_no_escalations_and_does_not_raise():
    for deadline_id in ("F2:L²", "F2:L", "F2:L-1", "F2:L1x", ":L1"):
        assert notify.level_of(deadline_id) is None
    assert notify.level_of("F1:issue_enforcement_document:L2") == 2
    breach, _ = notify.breach_of(with_data(findings_breach(2), deadline_id="F2:L²"))
    made = notify.alert(breach, None, 60, datetime.now(timezone.utc))
    assert "escalation_id" not in made["labels"]


class _Register(BaseHTTPRequestHandler):
    answers: dict[str, tuple[int, bytes]] = {}
    asked: list[str] = []

    def do_GET(self):  # noqa: N802
        self.asked.append(self.path)
        code, body = self.answers.get(self.path, (404, b"{}"))
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_):
        pass


@pytest.fixture
def register():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Register)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _Register.answers, _Register.asked = {}, []
    yield Settings(escalation_url=f"http://127.0.0.1:{server.server_port}")
    server.shutdown()
    server.server_close()


def test_the_register_is_asked_with_the_id_as_one_segment_and_its_refusals_end_there(
        register):
    good = {"history": [{"level": 1, "authority": "local_regulator"},
                        {"level": 2, "authority": "city_safety_committee"}]}
    _Register.answers["/escalations/F1%3Aact"] = (200, json.dumps(good).encode())
    assert notify.authority_of(register, "F1:act:L2") == "city_safety_committee"
    assert notify.authority_of(register, "../metrics:L1") is None  # 404: no such one
    assert _Register.asked[-1] == "/escalations/..%2Fmetrics"
    # Answers that asking again would not change: no authority, and no waiting.
    for path, answer in {"/escalations/bad": (500, b"boom"), "/escalations/text": (
            200, b"<html>"), "/escalations/odd": (200, b'{"history": [{"level": 1, '
                                                     b'"authority": "mayor"}, 5]}'),
                         "/escalations/list": (200, b"[1]"),
                         "/escalations/refused": (400, b"{}")}.items():
        _Register.answers[path] = answer
        assert notify.authority_of(register, f"{path.rsplit('/', 1)[1]}:L1") is None, path
    # Not ready, or away: wait and ask again.
    _Register.answers["/escalations/busy"] = (503, b"{}")
    with pytest.raises(notify.Unavailable):
        notify.authority_of(register, "busy:L1")
    away = Settings(escalation_url="http://127.0.0.1:9")
    with pytest.raises(notify.Unavailable):
        notify.authority_of(away, "F1:act:L1")
