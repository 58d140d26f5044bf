"""A tqdm bar over the tasks of the Spark jobs of one job group, polled from the status tracker."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from tqdm import tqdm

if TYPE_CHECKING:
    from pyspark import SparkContext


class SparkProgress:
    """Counts finished tasks over every stage of the jobs in ``group`` while a block runs.

    Spark does not know a stage's task count before the stage is planned, so the total grows as
    stages appear; for a scoring job that is one stage with one task per input split.
    """

    def __init__(
        self,
        sc: SparkContext,
        group: str,
        *,
        enabled: bool = True,
        interval: float = 0.25,
        on_progress: Callable[[int, int], None] | None = None,
    ) -> None:
        self.sc = sc
        # Called with (tasks done, tasks known) when they change, e.g. by a batch job's child
        # process to report progress to the server; works with or without the bar.
        self.on_progress = on_progress
        self._last = (-1, -1)
        self.group = group
        self.interval = interval
        self.enabled = enabled
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._bar: tqdm | None = None

    def __enter__(self) -> SparkProgress:
        if self.enabled:
            self._bar = tqdm(total=0, unit="task", desc="scoring", dynamic_ncols=True)
        if self.enabled or self.on_progress is not None:
            self._thread = threading.Thread(target=self._poll, name="runyard-progress", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if exc[0] is None and (self._bar is not None or self.on_progress is not None):
            self._update()
        if self._bar is not None:
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
        if self.on_progress is not None and (done, total) != self._last:
            self._last = (done, total)
            self.on_progress(done, max(total, done))
        bar = self._bar
        if bar is not None and (total != bar.total or done != bar.n):
            bar.total = max(total, done)
            bar.n = done
            bar.refresh()


__all__ = ["SparkProgress"]
