"""The workers' HTTP answers over their state, and what every HTTP server of the project
(the workers' and the operator page's, both aiohttp) holds a client to."""

from __future__ import annotations

import asyncio
from collections.abc import Callable


def json_or_404(web, value, what: str):
    """A view's answer: the value as JSON, or 404 saying what was not found."""
    if value is None:
        return web.json({"error": f"{what} not found"}, status=404)
    return web.json(value)


# -- what every server holds a client to ----------------------------------------------------

# No view takes a body: a request's body is read (and then refused) up to this only.
BODY_MAX_BYTES = 64 * 1024
# A connection that has not sent a whole request line and headers this long after it opened
# or after its last answer is closed: an idle keep-alive connection, and a client sending its
# headers a byte at a time (slowloris), both. aiohttp's own default is an hour.
CLIENT_IDLE_S = 15.0
# A request's body left unread after the answer is drained this long at most, then closed.
LINGER_S = 5.0
# An answer the client does not take within this (it reads too slowly, or not at all) is cut
# off: its connection closed, the memory the answer held freed.
SEND_S = 30.0
# A worker asking another for a page (a unit's owner, the group's others) waits this long at
# most: within the operator page's own wait for the first worker's answer.
ASK_S = 8.0


def server_options() -> dict:
    """The options of an ``aiohttp.web.Application`` (the workers' through faust's
    ``web_application_options``, the operator page's directly): the body cap, and the
    connection's timeouts (``handler_args`` reach each connection's protocol)."""
    return {"client_max_size": BODY_MAX_BYTES,
            "handler_args": {"keepalive_timeout": CLIENT_IDLE_S, "lingering_time": LINGER_S,
                             "max_line_size": 8190, "max_field_size": 8190,
                             "max_headers": 64}}


def sent_within(seconds: float = SEND_S) -> Callable:
    """An aiohttp middleware that writes each answer within ``seconds``, else closes the
    connection: aiohttp waits for a slow reader as long as it takes. The first (outermost)
    of a server's middlewares: the others finish the answer (its headers) before it goes."""
    from aiohttp import web

    @web.middleware
    async def send_in_time(request, handler):
        response = await handler(request)
        if not isinstance(response, web.Response) or response.prepared:
            return response
        try:
            async with asyncio.timeout(seconds):
                await response.prepare(request)
                await response.write_eof()
        except TimeoutError:
            if request.transport is not None:
                request.transport.abort()  # unsent bytes dropped: nothing waits for them
        return response  # sent; or aiohttp finds the connection closed and lets it go

    return send_in_time


def access_log(name: str):
    """An aiohttp access logger class: a JSON line a request (probes of ``/healthz`` aside),
    with the account that asked where the server knows it (``request["who"]``)."""
    from aiohttp.abc import AbstractAccessLogger

    from runtime.plumbing import logs

    log = logs.get(name)

    class Access(AbstractAccessLogger):
        def log(self, request, response, time):
            if request.path == "/healthz":
                return
            who = request.get("who")
            log.info("access", method=request.method, path=request.path[:200],
                     status=response.status, ms=round(time * 1000, 1),
                     account=getattr(who, "name", None), address=request.remote)

    return Access
