"""The process a batch job runs in: ``python -m runyard.batch.child``, started by the server's runner.

It reads one JSON line (the job) on stdin, runs the same Spark scoring as ``runyard batch score``
and reports on stdout in lines starting with ``@runyard `` (progress, then the result or the
error); anything else Spark prints is not part of the protocol. Stdin stays open: when it closes
(the server died), the process exits rather than scoring for nobody.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from typing import Any

PREFIX = "@runyard "
_lock = threading.Lock()


def emit(event: dict[str, Any]) -> None:
    with _lock:
        sys.stdout.write(PREFIX + json.dumps(event) + "\n")
        sys.stdout.flush()


def _exit_when_orphaned() -> None:
    sys.stdin.read()  # returns at EOF: the runner closed the pipe or its process is gone
    os._exit(3)


def main() -> int:
    spec = json.loads(sys.stdin.readline())
    threading.Thread(target=_exit_when_orphaned, name="runyard-orphan-watch", daemon=True).start()

    from runyard.batch import BatchError, score
    from runyard.cli.batch import spark_session

    emit({"event": "starting"})
    spark = spark_session(spec["master"])
    spark.sparkContext.setLogLevel("WARN")
    try:
        result = score(
            spark,
            spec["model_uri"],
            spec["input"],
            spec["output"],
            input_format=spec["input_format"],
            output_format=spec["output_format"],
            result_column=spec["result_column"],
            progress=False,
            on_progress=lambda done, total: emit({"event": "progress", "done": done, "total": total}),
        )
    except BatchError as exc:
        emit({"event": "error", "message": str(exc)})
        return 1
    finally:
        spark.stop()
    emit({"event": "done", "rows": result.rows, "seconds": result.seconds})
    return 0


if __name__ == "__main__":
    sys.exit(main())
