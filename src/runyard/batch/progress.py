"""A tqdm bar over the tasks of the Spark jobs of one job group, polled from the status tracker."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from tqdm import tqdm

if TYPE_CHECKING:
    from pyspark import SparkContext


class SparkProgress:
    """Counts finished tasks over every stage of the jobs in ``group`` while a block runs.

    Spark does not know a stage's task count before the stage is planned, so the total grows as
    stages appear; for a scoring job that is one stage with one task per input split.
    """

    def __init__(self, sc: SparkContext, group: str, *, enabled: bool = True, interval: float = 0.25) -> None:
        self.sc = sc
        self.group = group
        self.interval = interval
        self.enabled = enabled
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._bar: tqdm | None = None

    def __enter__(self) -> SparkProgress:
        if self.enabled:
            self._bar = tqdm(total=0, unit="task", desc="scoring", dynamic_ncols=True)
            self._thread = threading.Thread(target=self._poll, name="runyard-progress", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if self._bar is not None:
            if exc[0] is None:
                self._update()
            self._bar.close()

    def _poll(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self._update()
            except Exception:  # the tracker can race a stopping context; the bar is only cosmetic
                return

    def _update(self) -> None:
        tracker = self.sc.statusTracker()
        total = done = 0
        for job_id in tracker.getJobIdsForGroup(self.group):
            job = tracker.getJobInfo(job_id)
            for stage_id in job.stageIds if job else ():
                stage = tracker.getStageInfo(stage_id)
                if stage is not None:
                    total += stage.numTasks
                    done += stage.numCompletedTasks
        bar = self._bar
        if bar is not None and (total != bar.total or done != bar.n):
            bar.total = max(total, done)
            bar.n = done
            bar.refresh()


__all__ = ["SparkProgress"]
