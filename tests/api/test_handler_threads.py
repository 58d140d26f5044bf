"""The handler threads: results, errors and context variables cross back to the request."""

from __future__ import annotations

import asyncio
import contextvars
import threading
import time

import pytest

from runyard.api.handler_threads import HandlerThreads

actor: contextvars.ContextVar[str] = contextvars.ContextVar("actor", default="nobody")


def test_a_handler_runs_in_another_thread_and_its_result_comes_back() -> None:
    threads = HandlerThreads(4, "test")

    async def request() -> tuple[str, str]:
        actor.set("alice")  # e.g. the audit actor, set before the handler runs
        return await threads.run(lambda x: (f"{x} by {actor.get()}", threading.current_thread().name), "done")

    result, thread = asyncio.run(request())
    assert result == "done by alice"
    assert thread.startswith("test_")
    threads.close()


def test_a_handler_error_is_raised_in_the_request() -> None:
    threads = HandlerThreads(2, "test")

    def fail() -> None:
        raise LookupError("no such run")

    async def request() -> None:
        await threads.run(fail)

    with pytest.raises(LookupError, match="no such run"):
        asyncio.run(request())
    threads.close()


def test_no_more_threads_than_the_size_however_many_requests_wait() -> None:
    threads = HandlerThreads(3, "test")
    running, peak, lock = 0, 0, threading.Lock()

    def work(i: int) -> int:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        time.sleep(0.02)
        with lock:
            running -= 1
        return i

    async def burst() -> list[int]:
        return await asyncio.gather(*(threads.run(work, i) for i in range(20)))

    assert asyncio.run(burst()) == list(range(20))
    assert peak == 3
    threads.close()


def test_after_close_no_new_work_is_taken() -> None:
    threads = HandlerThreads(1, "test")
    threads.close()

    async def request() -> None:
        await threads.run(lambda: None)

    with pytest.raises(RuntimeError, match="shutting down"):
        asyncio.run(request())
