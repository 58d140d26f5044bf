"""SQLite's write-ahead log, checkpointed in the background instead of by a request.

By default the connection whose commit takes the WAL past 1,000 pages copies the log back
into the database file then and there, and syncs it: that request waits tens of
milliseconds (29 ms measured on this 2-core machine, against 0.1 ms for a plain commit).
Runyard's writer connection turns that off (``wal_autocheckpoint=0``) and this thread runs a
PASSIVE checkpoint every ``interval_s`` instead: it never waits for readers or the writer,
copies what it can, and does its sync outside every request. Closing runs a last TRUNCATE
checkpoint, so a stopped server leaves an empty log behind.

Commits stay as durable as before (WAL with ``synchronous=NORMAL``: a process crash loses
nothing committed); only who pays for the checkpoint changes. Several processes on one file
(``--workers``) each run one of these; SQLite lets one checkpoint run at a time and the
others find it busy and try again on their next tick.
"""

from __future__ import annotations

import logging
import sqlite3
import threading

log = logging.getLogger("runyard.store")

INTERVAL_S = 1.0


class Checkpointer:
    """A daemon thread checkpointing the WAL of the SQLite file at ``path``."""

    def __init__(self, path: str, interval_s: float = INTERVAL_S) -> None:
        self.path = path
        self.interval_s = interval_s
        # (busy, frames in the log, frames checkpointed) of the last checkpoint, as SQLite
        # reports them; None before the first.
        self.last: tuple[int, int, int] | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._loop, name="runyard-checkpoint", daemon=True)
            self._thread.start()

    def _checkpoint(self, conn: sqlite3.Connection, mode: str) -> None:
        row = conn.execute(f"PRAGMA wal_checkpoint({mode})").fetchone()
        self.last = (int(row[0]), int(row[1]), int(row[2]))

    def _loop(self) -> None:
        conn = sqlite3.connect(self.path, timeout=0, check_same_thread=False)
        try:
            while not self._stop.wait(self.interval_s):
                try:
                    self._checkpoint(conn, "PASSIVE")
                except sqlite3.Error as exc:  # e.g. another process is checkpointing
                    log.debug("WAL checkpoint skipped: %s", exc)
        finally:
            conn.close()

    def close(self) -> None:
        """Stop the thread, then truncate the log if nobody else is using the file (another
        process still reading or writing it keeps its log, and checkpoints it itself)."""
        if self._thread is not None:
            self._stop.set()
            self._thread.join(timeout=10)
            self._thread = None
        try:
            conn = sqlite3.connect(self.path, timeout=1)
            try:
                self._checkpoint(conn, "TRUNCATE")
            finally:
                conn.close()
        except sqlite3.Error as exc:
            log.debug("final WAL checkpoint of %s skipped: %s", self.path, exc)


__all__ = ["INTERVAL_S", "Checkpointer"]
