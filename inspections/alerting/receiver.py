"""A webhook receiver for Alertmanager, as an example of where alerts go: each alert of each
notification written as one JSON line (status, labels, annotations, receiver) to stdout, or
appended to ``--out FILE``. A city would put its SMS gateway or duty roster here.

    python -m inspections.alerting.receiver --token-file FILE [--host 127.0.0.1] [--port 5001]
        [--path /alerts] [--out FILE] [--max-body-bytes N] [--timeout-s S] [--threads N]

It takes notifications at one path only (``POST /alerts``) and only with ``Authorization:
Bearer <the token in --token-file>`` (Alertmanager's ``http_config: authorization:
credentials_file``); without a token file it refuses to start unless ``--allow-open`` says the
network in between is trusted. A body is read only up to ``--max-body-bytes`` (a larger one is
answered 413 unread), a connection that sends nothing for ``--timeout-s`` or takes more than
four times that for its whole request is closed, and at most ``--threads`` requests are served
at once (more are answered 503 at once: Alertmanager sends them again).
"""

from __future__ import annotations

import argparse
import hmac
import json
import socket
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

BUSY = (b"HTTP/1.0 503 Service Unavailable\r\nContent-Length: 0\r\nRetry-After: 5\r\n"
        b"Connection: close\r\n\r\n")


def lines(notification: dict) -> list[str]:
    """One line an alert: Alertmanager's webhook body holds them in ``alerts``."""
    alerts = notification.get("alerts", []) if isinstance(notification, dict) else None
    if not isinstance(alerts, list):
        raise ValueError("not an Alertmanager notification")
    return [json.dumps({"status": a.get("status"), "labels": a.get("labels", {}),
                        "annotations": a.get("annotations", {}),
                        "receiver": notification.get("receiver")}, ensure_ascii=False)
            for a in alerts if isinstance(a, dict)]


def read_token(path: str) -> bytes:
    """The bearer token in ``path`` (its first line); a SystemExit naming the file when it is
    missing or empty."""
    try:
        token = Path(path).read_bytes().strip()
    except OSError as exc:
        raise SystemExit(f"error: --token-file {path}: cannot be read ({exc.strerror})") \
            from None
    if not token:
        raise SystemExit(f"error: --token-file {path} is empty: put the secret Alertmanager "
                         "sends (its credentials_file) in it")
    return token


class Server(HTTPServer):
    """At most ``threads`` requests served at once, each connection closed after
    ``deadline_s`` in all: a half-open or slow connection holds a thread for that long at
    most, and never more threads than ``threads``."""

    daemon_threads = True

    def __init__(self, address, handler, threads: int, deadline_s: float) -> None:
        super().__init__(address, handler)
        self.pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="receiver")
        self.slots = threading.BoundedSemaphore(threads)
        self.deadline_s = deadline_s
        self.open: dict[socket.socket, float] = {}
        self.lock = threading.Lock()
        self.watchdog = threading.Thread(target=self._cut_overdue, daemon=True)
        self.watchdog.start()

    def process_request(self, request, client_address) -> None:
        if not self.slots.acquire(blocking=False):
            try:  # every thread busy: say so at once, read nothing
                request.settimeout(1)
                request.sendall(BUSY)
            except OSError:
                pass
            self.shutdown_request(request)
            return
        with self.lock:
            self.open[request] = time.monotonic() + self.deadline_s
        self.pool.submit(self._serve, request, client_address)

    def _serve(self, request, client_address) -> None:
        try:
            self.finish_request(request, client_address)
        except Exception:
            self.handle_error(request, client_address)
        finally:
            with self.lock:
                self.open.pop(request, None)
            self.shutdown_request(request)
            self.slots.release()

    def _cut_overdue(self) -> None:
        while True:
            time.sleep(0.5)
            now = time.monotonic()
            with self.lock:
                late = [s for s, until in self.open.items() if until <= now]
            for sock in late:
                try:  # the handler's next read or write fails: its thread is free again
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def handle_error(self, request, client_address) -> None:
        pass  # a connection cut or reset: nothing to tell anyone

    def server_close(self) -> None:
        super().server_close()
        self.pool.shutdown(wait=False, cancel_futures=True)


def handler_class(path: str, token: bytes | None, max_body: int, timeout_s: float,
                  out: str | None):
    written = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        timeout = timeout_s  # each read and write of the connection

        def _answer(self, code: int, **headers: str) -> None:
            self.send_response(code)
            for name, value in headers.items():
                self.send_header(name.replace("_", "-"), value)
            self.send_header("Content-Length", "0")
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True

        def do_POST(self) -> None:  # noqa: N802 (the http.server name)
            if self.path.split("?", 1)[0] != path:
                return self._answer(404)
            if token is not None:
                given = self.headers.get("Authorization", "").encode("utf-8", "replace")
                if not hmac.compare_digest(given, b"Bearer " + token):
                    return self._answer(401, WWW_Authenticate='Bearer realm="alerts"')
            length = self.headers.get("Content-Length")
            if length is None:
                return self._answer(411)
            if not length.isascii() or not length.strip().isdigit():
                return self._answer(400)
            if int(length) > max_body:
                return self._answer(413)  # and the body is never read
            body = self.rfile.read(int(length))
            try:
                text = "".join(line + "\n" for line in lines(json.loads(body)))
            except (ValueError, UnicodeDecodeError):
                return self._answer(400)
            with written:
                if out:
                    with open(out, "a", encoding="utf-8") as handle:
                        handle.write(text)
                else:
                    sys.stdout.write(text)
                    sys.stdout.flush()
            self._answer(200)

        def do_GET(self) -> None:  # noqa: N802
            self._answer(405, Allow="POST")

        do_PUT = do_DELETE = do_PATCH = do_HEAD = do_GET  # noqa: N815

        def log_message(self, *_) -> None:  # the alerts are the log
            pass

    return Handler


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5001)
    parser.add_argument("--path", default="/alerts",
                        help="the one path notifications are taken at (default /alerts)")
    parser.add_argument("--out", help="append here instead of stdout")
    parser.add_argument("--token-file", help="a file holding the bearer token Alertmanager "
                                             "sends (Authorization: Bearer ...)")
    parser.add_argument("--allow-open", action="store_true",
                        help="take notifications without a token (a network of your own)")
    parser.add_argument("--max-body-bytes", type=int, default=2**20,
                        help="a larger notification is answered 413 unread (default 1 MiB)")
    parser.add_argument("--timeout-s", type=float, default=10.0,
                        help="a connection silent this long is closed; one whose request "
                             "takes four times this in all too (default 10)")
    parser.add_argument("--threads", type=int, default=8,
                        help="requests served at once; more are answered 503 (default 8)")
    args = parser.parse_args(argv)
    if not args.path.startswith("/"):
        parser.error("--path must begin with /")
    if not (0 < args.max_body_bytes <= 2**30 and 0 < args.timeout_s <= 3600
            and 0 < args.threads <= 256):
        parser.error("--max-body-bytes (at most 1 GiB), --timeout-s (at most an hour) and "
                     "--threads (at most 256) must be above 0")
    if args.token_file:
        token = read_token(args.token_file)
    elif args.allow_open:
        token = None
    else:
        raise SystemExit("error: no --token-file: anyone who reaches the port could send "
                         "alerts. Give the token Alertmanager sends, or --allow-open on a "
                         "network of your own")
    server = Server((args.host, args.port),
                    handler_class(args.path, token, args.max_body_bytes, args.timeout_s,
                                  args.out),
                    threads=args.threads, deadline_s=4 * args.timeout_s)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
