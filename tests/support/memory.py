"""The peak resident memory of a process tree while something runs (for "memory stays flat" checks)."""

from __future__ import annotations

import contextlib
import threading

import psutil


class PeakRss(threading.Thread):
    """Samples the RSS of a process and its children every 20 ms until the ``with`` block ends."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.proc = psutil.Process(pid)
        self.baseline = self.peak = self.sample()
        self._done = threading.Event()

    def sample(self) -> int:
        total = 0
        for p in [self.proc, *self.proc.children(recursive=True)]:
            with contextlib.suppress(psutil.NoSuchProcess):
                total += p.memory_info().rss
        return total

    def run(self) -> None:
        while not self._done.wait(0.02):
            self.peak = max(self.peak, self.sample())

    @property
    def growth(self) -> int:
        return self.peak - self.baseline

    def __enter__(self) -> PeakRss:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._done.set()
        self.join()


__all__ = ["PeakRss"]
