"""A worker stops when asked, whatever its agents are doing.

SIGTERM (or SIGINT) starts faust's graceful stop: the batch in hand finishes, what is done is
committed, the group is left, the tables closed. That stop can wait for ever: for an agent
that never acknowledges its records (stuck in a handler, awaiting something that never comes,
restarting on a record it cannot take), for a broker that is away. So the same signal arms a
``Watchdog``: a thread that, once ``timeout_s`` has passed since the first signal and the
process is still there, logs what the worker was still waiting for and ends the process with
``EXIT_CODE``, whatever the event loop is doing (a handler blocking the loop too).

It never ends it in the middle of a batch's state writes: ``Batch.commit`` holds ``critical``
around the loop that writes a batch's staged keys (and queues their changelog records), and
the watchdog takes ``critical`` before it exits, and keeps it. A batch cut short before that
loop is redelivered and derives the same ids again (at-least-once, as after a kill -9); one
whose keys were all written is whole.
"""

from __future__ import annotations

import asyncio
import gc
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import AsyncGeneratorType, CoroutineType, FrameType, GeneratorType
from typing import Any

# Held around a batch's state writes (``runtime.faust_runner.batching.Batch.commit``); taken, and
# kept, by the watchdog before it ends the process.
critical = threading.Lock()

EXIT_CODE = 70  # EX_SOFTWARE: stopped by the watchdog, not by the graceful stop

_PROJECT = Path(__file__).resolve().parents[1]
_SITE = os.sep + "site-packages" + os.sep


class Watchdog:
    """Ends the process ``timeout_s`` after the first SIGTERM/SIGINT unless it has ended.

    ``attach(worker)`` before ``worker.execute_from_commandline()``: the signal still goes to
    faust's own handler (its graceful stop) through the event loop; the watchdog hears it in
    Python's signal handler, which runs even while a handler blocks the loop."""

    def __init__(self, timeout_s: float, log, exit: Callable[[int], Any] = os._exit) -> None:
        self.timeout_s = timeout_s
        self.log = log
        self._exit = exit
        self._asked = threading.Event()
        self._signal: str | None = None
        self._at = 0.0
        self.loop: asyncio.AbstractEventLoop | None = None
        self._thread = threading.Thread(target=self._watch, name="stop-watchdog", daemon=True)

    # -- arming ---------------------------------------------------------------------------
    def attach(self, worker) -> None:
        """Arm on the signals that stop ``worker`` (a faust/mode Worker): its signal handlers
        are installed when it starts, and ours is chained after them."""
        install = worker.install_signal_handlers

        def install_then_watch() -> None:
            install()
            self.loop = worker.loop
            self.listen()

        worker.install_signal_handlers = install_then_watch
        self.start()

    def start(self) -> None:
        """Start the watchdog's thread (it waits for the first signal)."""
        self._thread.start()

    def listen(self, signals=(signal.SIGTERM, signal.SIGINT)) -> None:
        """Hear ``signals`` in Python's handler. asyncio's ``add_signal_handler`` wakes the
        loop through its wakeup fd, written by the C-level handler whatever the Python-level
        one is: replacing asyncio's no-op with ours keeps faust's handling as it is."""
        for sig in signals:
            previous = signal.getsignal(sig)

            def heard(signum, frame, previous=previous) -> None:
                self.arm(signal.Signals(signum).name)
                if callable(previous):
                    previous(signum, frame)

            signal.signal(sig, heard)

    def arm(self, why: str) -> None:
        """Start counting (the first time only). Safe in a signal handler: no lock, no I/O."""
        if not self._asked.is_set():
            self._signal, self._at = why, time.monotonic()
            self._asked.set()

    # -- the watch ------------------------------------------------------------------------
    def _watch(self) -> None:
        self._asked.wait()
        left = self._at + self.timeout_s - time.monotonic()
        if left > 0:
            time.sleep(left)
        waited = time.monotonic()
        critical.acquire()  # never in the middle of a batch's state writes; kept
        held_back = time.monotonic() - waited
        # Said from a thread of its own, given a few seconds: a log stream that blocks (a
        # reader gone) must not keep the process alive.
        saying = threading.Thread(target=self._say, args=(held_back,), daemon=True)
        saying.start()
        saying.join(self.SAY_WITHIN_S)
        self._exit(EXIT_CODE)

    SAY_WITHIN_S = 5.0

    def _say(self, held_back: float) -> None:
        try:
            seen = waiting_for(self.loop)
        except Exception as exc:  # noqa: BLE001 - what it can, and exit anyway
            seen = {"unknown": repr(exc)}
        self.log.critical(
            "the worker did not stop within its shutdown timeout: ending it",
            signal=self._signal, timeout_s=self.timeout_s, exit_code=EXIT_CODE,
            state_writes_waited_s=round(held_back, 3), waiting_for=seen)
        _flush()


def waiting_for(loop: asyncio.AbstractEventLoop | None) -> dict[str, Any]:
    """What a stopping worker still waits for, as seen from another thread: whether the event
    loop still runs, where the main thread is, and where each task that is part of the stop
    or runs the project's code is suspended (innermost frames last)."""
    found: dict[str, Any] = {"loop": _loop_state(loop)}
    main = sys._current_frames().get(threading.main_thread().ident)
    if main is not None:
        found["main_thread"] = [_where(f) for f in _outward(main)][-8:]
    tasks, others = [], 0
    if loop is not None:
        try:
            pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
        except RuntimeError:  # the loop's task set changed under us: once more
            pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
        for task in pending:
            frames = _awaiting(task.get_coro())
            if any(_telling(f) for f in frames):
                tasks.append(f"{task.get_name()}: "
                             + " > ".join(_where(f) for f in frames[-4:]))
            else:
                others += 1
    found["tasks"] = sorted(tasks)
    found["other_tasks"] = others
    others_threads = [t.name for t in threading.enumerate()
                      if t is not threading.current_thread() and t is not threading.main_thread()]
    found["threads"] = others_threads
    return found


def _loop_state(loop: asyncio.AbstractEventLoop | None, within_s: float = 1.0) -> str:
    if loop is None:
        return "not started"
    if loop.is_closed():
        return "closed"
    ran = threading.Event()
    try:
        loop.call_soon_threadsafe(ran.set)
    except RuntimeError:
        return "closed"
    if ran.wait(within_s):
        return "running"
    return f"blocked (did not run a callback within {within_s:.0f} s): see main_thread"


def _outward(frame: FrameType | None) -> list[FrameType]:
    """A thread's frames, outermost first."""
    frames = []
    while frame is not None:
        frames.append(frame)
        frame = frame.f_back
    return frames[::-1]


def _awaiting(awaitable) -> list[FrameType]:
    """The frames of a suspended coroutine and of what it awaits, in turn (outermost
    first): each ``await`` of a coroutine or generator followed down."""
    frames: list[FrameType] = []
    seen = 0
    while awaitable is not None and seen < 64:
        seen += 1
        if isinstance(awaitable, (CoroutineType, GeneratorType, AsyncGeneratorType)):
            frame = (getattr(awaitable, "cr_frame", None) or getattr(awaitable, "gi_frame", None)
                     or getattr(awaitable, "ag_frame", None))
            if frame is not None:
                frames.append(frame)
            awaitable = (getattr(awaitable, "cr_await", None)
                         or getattr(awaitable, "gi_yieldfrom", None)
                         or getattr(awaitable, "ag_await", None))
        elif isinstance(awaitable, asyncio.Future):
            break  # a future: what sets it is elsewhere
        else:  # a wrapper (``coroutine.__await__()``, an async generator's ``asend``)
            awaitable = next((r for r in gc.get_referents(awaitable) if isinstance(
                r, (CoroutineType, GeneratorType, AsyncGeneratorType))), None)
    return frames


def _telling(frame: FrameType) -> bool:
    """A frame worth naming: the project's code, or a step of stopping."""
    name = frame.f_code.co_filename
    if name.startswith(str(_PROJECT)) and _SITE not in name:
        return True
    code = frame.f_code.co_name.lstrip("_")
    return code.startswith(("stop", "on_stop", "default_stop", "shutdown", "on_shutdown",
                            "wait_empty"))


def _where(frame: FrameType) -> str:
    name = frame.f_code.co_filename
    if _SITE in name:
        name = name.split(_SITE, 1)[1]
    elif name.startswith(str(_PROJECT)):
        name = os.path.relpath(name, _PROJECT)
    return f"{name}:{frame.f_lineno} {frame.f_code.co_name}"


def _flush() -> None:
    import logging

    for handler in logging.getLogger().handlers:
        try:
            handler.flush()
        except Exception:  # noqa: BLE001 - exiting anyway
            pass
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # noqa: BLE001
            pass
