"""The example webhook receiver, run as it is deployed (its own process, a real socket): it
takes notifications at its one path with its bearer token only, refuses a body above its cap
without reading it, closes connections that hold it, and serves a bounded number at once."""

from __future__ import annotations

import http.client
import json
import socket
import subprocess
import sys

import pytest

from tests.conftest import REPO, free_port
from tests.integration.kafka_io import wait_for

TOKEN = "s3cret-t0ken"
NOTIFICATION = {"receiver": "breaches", "status": "firing", "alerts": [
    {"status": "firing", "labels": {"alertname": "DeadlineBreached", "unit": "changtai"},
     "annotations": {"summary": "evidence_or_advice_missing at changtai"}}]}


def _start(tmp_path, *extra: str) -> tuple[subprocess.Popen, int]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "inspections.alerting.receiver",
                             "--port", str(port), "--out", str(tmp_path / "out.jsonl"), *extra],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def listening() -> bool:
        assert proc.poll() is None, proc.communicate()
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            return False

    wait_for(listening, "the receiver listening", 60)
    return proc, port


@pytest.fixture
def receiver(tmp_path):
    (tmp_path / "token").write_text(TOKEN + "\n")
    started: list[subprocess.Popen] = []

    def start(*extra: str) -> int:
        proc, port = _start(tmp_path, "--token-file", str(tmp_path / "token"), *extra)
        started.append(proc)
        return port

    yield start
    for proc in started:
        proc.terminate()
        proc.wait(timeout=30)


def _post(port: int, body: bytes, path: str = "/alerts", token: str | None = TOKEN,
          **headers: str) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        sent = {"Content-Type": "application/json", **headers}
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        connection.request("POST", path, body=body, headers=sent)
        return connection.getresponse().status
    finally:
        connection.close()


def _written(tmp_path) -> list[dict]:
    out = tmp_path / "out.jsonl"
    return [json.loads(line) for line in out.read_text().splitlines()] if out.exists() else []


def test_it_refuses_to_start_without_a_token_unless_told_the_network_is_trusted(tmp_path):
    for args, says in (([], "no --token-file"),
                       (["--token-file", str(tmp_path / "none")], "cannot be read")):
        done = subprocess.run([sys.executable, "-m", "inspections.alerting.receiver",
                               "--port", str(free_port()), *args], cwd=REPO,
                              capture_output=True, text=True, timeout=60)
        assert done.returncode != 0 and says in done.stderr, done.stderr
    (tmp_path / "empty").write_text("\n")
    done = subprocess.run([sys.executable, "-m", "inspections.alerting.receiver",
                           "--port", str(free_port()), "--token-file", str(tmp_path / "empty")],
                          cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and "is empty" in done.stderr
    proc, port = _start(tmp_path, "--allow-open")  # said in so many words: it serves open
    try:
        assert _post(port, json.dumps(NOTIFICATION).encode(), token=None) == 200
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_only_its_path_with_its_token_is_taken(receiver, tmp_path):
    port = receiver()
    body = json.dumps(NOTIFICATION).encode()
    assert _post(port, body, token=None) == 401
    assert _post(port, body, token="s3cret-t0keN") == 401
    assert _post(port, body, token=TOKEN + "x") == 401
    assert _post(port, body, path="/") == 404
    assert _post(port, body, path="/alerts/../metrics") == 404
    assert _written(tmp_path) == []
    assert _post(port, body) == 200
    [line] = _written(tmp_path)
    assert (line["status"], line["receiver"], line["labels"]["unit"]) == (
        "firing", "breaches", "changtai")
    assert _post(port, b"[1, 2]") == 400 and _post(port, b"\xff{") == 400
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("GET", "/alerts")
    assert connection.getresponse().status == 405
    connection.close()


def test_a_body_above_the_cap_is_refused_unread_and_the_receiver_carries_on(receiver, tmp_path):
    port = receiver("--max-body-bytes", "4096")
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        # A length that would have been read into memory at once (MemoryError), and no body.
        s.sendall(b"POST /alerts HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + TOKEN.encode()
                  + b"\r\nContent-Length: 1000000000000\r\n\r\n")
        answer = s.recv(4096)
    assert answer.startswith(b"HTTP/1.0 413"), answer
    big = json.dumps({**NOTIFICATION, "pad": "x" * 5000}).encode()
    assert _post(port, big) == 413
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(b"POST /alerts HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + TOKEN.encode()
                  + b"\r\nContent-Length: -5\r\n\r\n")
        assert s.recv(4096).startswith(b"HTTP/1.0 400")
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(b"POST /alerts HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + TOKEN.encode()
                  + b"\r\nTransfer-Encoding: chunked\r\n\r\n")
        assert s.recv(4096).startswith(b"HTTP/1.0 411")
    assert _post(port, json.dumps(NOTIFICATION).encode()) == 200
    assert len(_written(tmp_path)) == 1


def _closed_by_server(s: socket.socket) -> bool:
    """The receiver ended the connection (end of stream or reset), without an answer."""
    s.settimeout(0.3)
    try:
        got = s.recv(4096)
    except TimeoutError:
        return False
    except OSError:
        return True  # reset
    assert got == b"", got  # closed, not answered (an answer would be another limit's)
    return True


def _holding(port: int, threads: int) -> list[socket.socket]:
    """Connections that send nothing, one holding each of the receiver's threads. The probe
    that saw it listening may still hold a thread a moment: a connection answered busy
    meanwhile is opened again."""
    held: list[socket.socket] = []

    def one_more() -> bool:
        s = socket.create_connection(("127.0.0.1", port), timeout=30)
        s.settimeout(0.5)
        try:
            s.recv(4096)  # answered (busy) or closed: not holding a thread
        except TimeoutError:
            held.append(s)
            return len(held) == threads
        s.close()
        return False

    wait_for(one_more, f"{threads} connections holding the receiver's threads", 60)
    for s in held:
        s.settimeout(30)
    return held


def test_half_open_connections_are_closed_and_never_take_more_than_its_threads(receiver):
    # Both threads held by connections that send nothing (a timeout far longer than the
    # test): a third is told so at once (and Alertmanager sends again), instead of a thread
    # of its own; once they go, it serves again.
    port = receiver("--threads", "2", "--timeout-s", "60")
    idle = _holding(port, 2)
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=30) as third:
            third.sendall(b"POST /alerts HTTP/1.0\r\n")
            assert third.recv(4096).startswith(b"HTTP/1.0 503")
    finally:
        for s in idle:
            s.close()
    wait_for(lambda: _post(port, json.dumps(NOTIFICATION).encode()) == 200,
             "the receiver serving again", 60)
    # With a short timeout: each idle connection closed by the receiver after it, not held
    # forever; and one that sends a header now and then, each within the timeout, still cut
    # at its request's deadline (four timeouts).
    port = receiver("--threads", "2", "--timeout-s", "2")
    idle = [socket.create_connection(("127.0.0.1", port), timeout=30) for _ in range(2)]
    try:
        for s in idle:
            wait_for(lambda s=s: _closed_by_server(s), "an idle connection closed", 120)
        with socket.create_connection(("127.0.0.1", port), timeout=30) as slow:
            slow.sendall(b"POST /alerts HTTP/1.1\r\n")

            def cut() -> bool:
                try:
                    slow.sendall(b"X-Pad: y\r\n")
                except OSError:
                    return True
                return _closed_by_server(slow)

            wait_for(cut, "a slow connection cut at its deadline", 120)
        wait_for(lambda: _post(port, json.dumps(NOTIFICATION).encode()) == 200,
                 "the receiver serving again", 60)
    finally:
        for s in idle:
            s.close()
