"""SQLite's group commit (engine.py): many writers at once, each gets its own answer, nothing is lost."""

from __future__ import annotations

import threading
from pathlib import Path

from sqlalchemy import text

from runyard.store.sql.engine import Database


def _writer(tmp_path: Path) -> Database:
    db = Database(f"sqlite:///{tmp_path / 'w.db'}")
    create = "CREATE TABLE points (writer INTEGER, n INTEGER, UNIQUE (writer, n))"
    db.write(lambda conn: conn.execute(text(create)))
    return db


def test_64_writers_at_once_lose_nothing_and_each_hears_only_of_its_own_failures(tmp_path: Path) -> None:
    writer = _writer(tmp_path)
    answers: dict[tuple[int, int], object] = {}

    def insert(w: int, n: int):  # noqa: ANN202
        def fn(conn) -> int:  # noqa: ANN001
            conn.execute(text("INSERT INTO points VALUES (:w, :n)"), {"w": w, "n": n})
            if n % 10 == 9:  # every tenth write fails after writing
                raise ValueError(f"{w}/{n}")
            return w * 1000 + n

        return fn

    def run(w: int) -> None:
        for n in range(40):
            try:
                answers[(w, n)] = writer.write(insert(w, n))
            except ValueError as exc:
                answers[(w, n)] = str(exc)

    threads = [threading.Thread(target=run, args=(w,)) for w in range(64)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert answers == {
        (w, n): f"{w}/{n}" if n % 10 == 9 else w * 1000 + n for w in range(64) for n in range(40)
    }
    stored = writer.write(lambda conn: conn.execute(text("SELECT writer, n FROM points")).all())
    assert sorted(stored) == sorted((w, n) for w in range(64) for n in range(40) if n % 10 != 9)
    writer.close()
