"""Leader/follower grouping without a thread of its own: SQLite's group commit (engine.py)
and PostgreSQL's grouped writes (grouped.py) both run on it.

A caller queues its item; if nobody is leading, it becomes the leader and runs everything
queued (its own item included) in groups, in its own thread, until its own item is done.
Callers arriving meanwhile wait for the leader to finish, then either find their item done
or lead the next group. A lone caller so pays no thread hand-off, and a burst costs one
run per group.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, Generic, TypeVar

I = TypeVar("I")  # noqa: E741 - an item

# A group: each item with the future its caller waits on; the runner must settle every one.
Group = list[tuple[I, Future]]


class GroupQueue(Generic[I]):
    """Items from many threads, run ``max_group`` at a time by ``run_group``."""

    def __init__(self, run_group: Callable[[Group[I]], None], max_group: int) -> None:
        self._run_group = run_group
        self._max_group = max_group
        self._pending: deque[tuple[I, Future]] = deque()
        self._cond = threading.Condition()
        self._leading = False
        self._closed = False

    def submit(self, item: I) -> Any:
        """Queue ``item`` and return its result (or raise its error) once its group ran."""
        fut: Future = Future()
        with self._cond:
            if self._closed:
                raise RuntimeError("the database is closed")
            self._pending.append((item, fut))
            while self._leading and not fut.done():
                self._cond.wait()
            if fut.done():
                return fut.result()
            self._leading = True
        try:
            while not fut.done():
                with self._cond:
                    count = min(len(self._pending), self._max_group)
                    group = [self._pending.popleft() for _ in range(count)]
                try:
                    self._run_group(group)
                except BaseException as exc:  # noqa: BLE001 - each caller hears of it
                    for _item, waiting in group:
                        if not waiting.done():
                            waiting.set_exception(exc)
        finally:
            with self._cond:
                self._leading = False
                self._cond.notify_all()
        return fut.result()

    def close(self) -> None:
        """Refuse new items and wait for the group being run, if any."""
        with self._cond:
            self._closed = True
            while self._leading:
                self._cond.wait(timeout=10)


__all__ = ["Group", "GroupQueue"]
