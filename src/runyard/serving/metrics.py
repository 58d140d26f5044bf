"""Per-deployment request counts and latencies, for the API (``snapshot``) and Prometheus (``/metrics``).

In-process counters of this replica only, as Prometheus expects: a scraper sums over replicas.
"""

from __future__ import annotations

import bisect
import math
import threading
from dataclasses import dataclass, field
from typing import NamedTuple

# Seconds. Fine at the low end, where a router adds its overhead, coarse where models take time.
BUCKETS: tuple[float, ...] = (
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
)
STATUS_CLASSES = ("2xx", "3xx", "4xx", "5xx")

REQUESTS = "runyard_endpoint_requests_total"
DURATION = "runyard_endpoint_request_duration_seconds"


class SeriesKey(NamedTuple):  # a tuple: built and hashed on every request, so it must be cheap
    workspace: str
    endpoint: str
    deployment: str  # "" for requests answered by the router itself (413, 503 with nothing ready)
    mirror: bool


@dataclass
class _Series:
    by_class: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STATUS_CLASSES, 0))
    buckets: list[int] = field(default_factory=lambda: [0] * (len(BUCKETS) + 1))  # last = +Inf
    latency_sum: float = 0.0
    count: int = 0


def status_class(status: int) -> str:
    return f"{min(max(status // 100, 2), 5)}xx"


class ServingMetrics:
    """Thread-safe counters keyed by (workspace, endpoint, deployment, mirror)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._series: dict[SeriesKey, _Series] = {}

    def record(
        self,
        endpoint: str,
        deployment: str | None,
        status: int,
        latency_s: float,
        *,
        workspace: str | None = None,
        mirror: bool = False,
    ) -> None:
        key = SeriesKey(workspace or "", endpoint, deployment or "", mirror)
        slot = bisect.bisect_left(BUCKETS, latency_s)
        with self._lock:
            series = self._series.get(key)
            if series is None:
                series = self._series[key] = _Series()
            series.by_class[status_class(status)] += 1
            series.buckets[slot] += 1
            series.latency_sum += latency_s
            series.count += 1

    def forget(self, *, workspace: str | None = None, endpoint: str, deployment: str | None = None) -> None:
        """Drop the series of a deleted endpoint (or one of its deployments)."""
        with self._lock:
            for key in list(self._series):
                same_endpoint = key.endpoint == endpoint and key.workspace == (workspace or "")
                if same_endpoint and (deployment is None or key.deployment == deployment):
                    del self._series[key]

    def snapshot(self, *, workspace: str | None = None, endpoint: str | None = None) -> dict[str, list[dict]]:
        """``{"deployments": [...]}``: counts by status class and latency figures per series."""
        with self._lock:
            items = [
                (k, _Series(dict(s.by_class), list(s.buckets), s.latency_sum, s.count))
                for k, s in sorted(self._series.items())
                if (workspace is None or k.workspace == workspace)
                and (endpoint is None or k.endpoint == endpoint)
            ]
        out = []
        for key, s in items:
            out.append(
                {
                    "workspace": key.workspace,
                    "endpoint": key.endpoint,
                    "deployment": key.deployment,
                    "mirror": key.mirror,
                    "request_count": s.count,
                    "requests_by_status": s.by_class,
                    "latency_ms_mean": round(1000 * s.latency_sum / s.count, 3) if s.count else None,
                    "latency_ms_p50": _quantile_ms(s.buckets, s.count, 0.50),
                    "latency_ms_p99": _quantile_ms(s.buckets, s.count, 0.99),
                }
            )
        return {"deployments": out}

    def render_prometheus(self) -> str:
        """Prometheus text exposition format 0.0.4 (``Content-Type: text/plain; version=0.0.4``)."""
        with self._lock:
            items = [
                (k, _Series(dict(s.by_class), list(s.buckets), s.latency_sum, s.count))
                for k, s in sorted(self._series.items())
            ]
        lines = [
            f"# HELP {REQUESTS} Requests to online endpoints, by deployment and HTTP status class.",
            f"# TYPE {REQUESTS} counter",
        ]
        for key, s in items:
            for cls in STATUS_CLASSES:
                if s.by_class[cls]:
                    lines.append(f"{REQUESTS}{{{_labels(key, code=cls)}}} {s.by_class[cls]}")
        lines += [
            f"# HELP {DURATION} Time from routing a request to its answer, by deployment.",
            f"# TYPE {DURATION} histogram",
        ]
        for key, s in items:
            cumulative = 0
            for bound, n in zip((*BUCKETS, math.inf), s.buckets, strict=True):
                cumulative += n
                le = "+Inf" if bound == math.inf else repr(bound)
                lines.append(f"{DURATION}_bucket{{{_labels(key, le=le)}}} {cumulative}")
            lines.append(f"{DURATION}_sum{{{_labels(key)}}} {s.latency_sum!r}")
            lines.append(f"{DURATION}_count{{{_labels(key)}}} {s.count}")
        return "\n".join(lines) + "\n"


def _labels(key: SeriesKey, **extra: str) -> str:
    pairs = {
        "workspace": key.workspace,
        "endpoint": key.endpoint,
        "deployment": key.deployment,
        "mirror": "true" if key.mirror else "false",
        **extra,
    }
    return ",".join(f'{name}="{_escape(value)}"' for name, value in pairs.items())


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _quantile_ms(buckets: list[int], count: int, q: float) -> float | None:
    """Upper bound of the bucket holding the q-quantile (the last finite bound if beyond it)."""
    if not count:
        return None
    rank = q * count
    cumulative = 0
    for bound, n in zip(BUCKETS, buckets, strict=False):
        cumulative += n
        if cumulative >= rank:
            return bound * 1000
    return BUCKETS[-1] * 1000
