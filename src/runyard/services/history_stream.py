"""One page of a metric's history read chunk by chunk, so its size never shows in memory."""

from __future__ import annotations

from collections.abc import Iterator

from runyard.search import encode_page_token
from runyard.store.sql import metrics as metrics_sql
from runyard.store.sql.engine import Database

# Rows per fetch from the database cursor (and per chunk handed to the HTTP layer).
CHUNK = 10_000


class HistoryStream:
    """Iterate to get lists of (value, timestamp, step, is_nan) in MLflow's history order.

    ``next_page_token`` is known once iteration has finished: with ``max_results`` one extra
    row is read, and if it exists the page ends before it and the token points at it.
    """

    def __init__(
        self,
        db: Database,
        wid: int,
        run_id: str,
        key: str,
        offset: int,
        max_results: int | None,
        fingerprint: str,
    ) -> None:
        self.key = key
        self.next_page_token: str | None = None
        self._db, self._wid, self._run_id = db, wid, run_id
        self._offset, self._max, self._fingerprint = offset, max_results, fingerprint

    def __iter__(self) -> Iterator[list[tuple[float, int, int, bool]]]:
        limit = None if self._max is None else self._max + 1
        left = self._max
        with self._db.read() as conn:
            for chunk in metrics_sql.history_chunks(
                conn, self._wid, self._run_id, self.key, self._offset, limit, CHUNK
            ):
                if left is not None:
                    if len(chunk) > left:
                        chunk = chunk[:left]
                        self.next_page_token = encode_page_token(self._offset + self._max, self._fingerprint)
                    left -= len(chunk)
                if chunk:
                    yield chunk
