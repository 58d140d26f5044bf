"""Writes of one kind that arrive together, sent to PostgreSQL as one statement.

Sixteen threads each logging a batch of metrics made sixteen autocommit statements, each a
transaction of its own with its commit; PostgreSQL spent about as much CPU on every one of
them as the server did. Here the first caller becomes the leader and runs, in one
statement, its own item and every item of the same kind queued so far; callers arriving
meanwhile wait for the group they join (group_queue.py, as SQLite's group commit). A lone
writer so pays nothing, and a burst costs one statement per group.

If a group's statement fails, every item of it is run again on its own, so each caller
gets its own result or its own error. Callers learn their result only after the commit.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Connection

from runyard.store.sql.group_queue import Group, GroupQueue

I = TypeVar("I")  # noqa: E741 - an item
R = TypeVar("R")  # its result
T = TypeVar("T")

# The most items one statement takes: enough for a burst, few enough that one statement's
# arrays stay small (a log-batch carries at most 1,000 metrics).
MAX_ITEMS = 64


@dataclass(frozen=True, eq=False)
class GroupedWrite(Generic[I, R]):
    """One kind of write: ``run(conn, items)`` writes every item in one statement and
    returns their results, in order. It must be a single statement (it runs in
    autocommit mode) and safe to run again on its own for any one item."""

    name: str
    run: Callable[[Connection, Sequence[I]], list[R]]


class Groups:
    """One :class:`~runyard.store.sql.group_queue.GroupQueue` per :class:`GroupedWrite`;
    ``execute(fn)`` runs ``fn(conn)`` as one autocommit statement (with the database's
    retries)."""

    def __init__(self, execute: Callable[[Callable[[Connection], Any]], Any]) -> None:
        self._execute = execute
        self._queues: dict[GroupedWrite, GroupQueue] = {}
        self._lock = threading.Lock()

    def submit(self, kind: GroupedWrite[I, R], item: I) -> R:
        queue = self._queues.get(kind)
        if queue is None:
            with self._lock:
                queue = self._queues.get(kind)
                if queue is None:
                    queue = self._queues[kind] = GroupQueue(
                        lambda batch: self._run_group(kind, batch), MAX_ITEMS
                    )
        return queue.submit(item)

    def _run_group(self, kind: GroupedWrite, batch: Group[Any]) -> None:
        items = [item for item, _fut in batch]
        try:
            results = self._execute(lambda conn: kind.run(conn, items))
        except BaseException as exc:  # noqa: BLE001 - each item is tried again alone
            if len(batch) == 1:
                batch[0][1].set_exception(exc)
                return
            for item, fut in batch:
                self._run_alone(kind, item, fut)
            return
        for (_item, fut), result in zip(batch, results, strict=True):
            fut.set_result(result)

    def _run_alone(self, kind: GroupedWrite, item: Any, fut: Future) -> None:
        try:
            fut.set_result(self._execute(lambda conn: kind.run(conn, [item]))[0])
        except BaseException as exc:  # noqa: BLE001 - handed to its caller
            fut.set_exception(exc)


__all__ = ["MAX_ITEMS", "GroupedWrite", "Groups"]
