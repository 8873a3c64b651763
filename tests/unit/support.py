"""Helpers shared by the unit tests (and the integration tests): Table, dribbled_until_closed."""

from __future__ import annotations

import socket
import time


class Table(dict):
    """A faust table as the batch sees it: each write notes the current event's partition
    (faust files a write under it)."""

    def __init__(self):
        super().__init__()
        self.writes: list[tuple[bytes, int]] = []

    def __setitem__(self, key, value):
        from faust.streams import current_event

        self.writes.append((key, current_event().message.partition))
        super().__setitem__(key, value)


def dribbled_until_closed(host: str, port: int, deadline_s: float) -> bool:
    """Send a request's first line and headers a byte a second, never ending them; True when
    the server closes the connection before ``deadline_s``."""
    request = b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"X-Slow: " + b"a" * 10_000
    with socket.create_connection((host, port), timeout=5) as sock:
        sock.settimeout(1)
        deadline = time.monotonic() + deadline_s
        for byte in request:
            if time.monotonic() > deadline:
                return False
            try:
                sock.sendall(bytes([byte]))
                if sock.recv(1024) == b"":
                    return True  # closed by the server
            except socket.timeout:
                continue  # nothing to read: still open
            except (ConnectionResetError, BrokenPipeError):
                return True
    return False


def serving(app):
    """An aiohttp application on a port of its own, in a thread of its own, as a context
    manager giving its base URL and port; cleaned up (its on_cleanup run) when it ends."""
    import asyncio
    import contextlib
    import threading

    from aiohttp import web

    from tests.conftest import free_port

    @contextlib.contextmanager
    def running():
        port = free_port()
        loop = asyncio.new_event_loop()
        runner = web.AppRunner(app)
        loop.run_until_complete(runner.setup())
        loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", port).start())
        thread = threading.Thread(target=loop.run_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{port}", port
        finally:
            asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(30)
            loop.call_soon_threadsafe(loop.stop)
            thread.join(10)

    return running()
