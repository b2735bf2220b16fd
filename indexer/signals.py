"""How every command ends on a signal: SIGINT, SIGTERM and SIGHUP alike.

A supervisor, ``timeout``, ``docker stop`` or a closed terminal end a process with
SIGTERM or SIGHUP, not Ctrl-C. Left at their defaults, those kill the process on the spot:
the embedded Postgres and the anvil nodes it started keep running, unowned. So the CLI
turns both into KeyboardInterrupt, which unwinds every ``finally`` and context manager
(servers stopped, connections closed) exactly as Ctrl-C does. Commands with a graceful
stop of their own (``backfill``, ``run``) handle :data:`STOP_SIGNALS` in their event loop
while it runs, and these handlers are back in force once the loop has closed.
"""

from __future__ import annotations

import asyncio
import signal
import threading
from collections.abc import Coroutine
from types import FrameType
from typing import Any, TypeVar

T = TypeVar("T")

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def _interrupt(signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


def install() -> None:
    """SIGTERM and SIGHUP raise KeyboardInterrupt in the main thread, as SIGINT does.

    Only the main thread can set handlers; elsewhere (the CLI called from a thread, as
    tests do) the process's handlers are left as they are."""
    if threading.current_thread() is not threading.main_thread():
        return
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _interrupt)
    signal.signal(signal.SIGINT, signal.default_int_handler)


def run(main: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(main)``, then :func:`install` again: closing a loop that handled
    signals resets them to their defaults, which would leave clean-up unprotected."""
    try:
        return asyncio.run(main)
    finally:
        install()
