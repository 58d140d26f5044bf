"""A thin MLflow REST client over plain HTTP that counts every failure.

All three servers are driven by this same code, so they are measured
identically. Every non-2xx answer, transport error or undecodable body is
counted in the current :class:`Stats`; callers get ``None`` back instead of
an exception so timed loops keep going.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

import requests

API_PREFIX = "/api/2.0/mlflow/"
MAX_ERROR_SAMPLES = 8
Json = dict[str, Any]


@dataclass
class Stats:
    """Thread-safe counters for one workload on one server."""

    requests: int = 0
    http_errors: int = 0
    transport_errors: int = 0
    check_failures: int = 0
    cut_off: int = 0  # calls not sent because the time limit was reached
    error_samples: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def count_request(self) -> None:
        with self._lock:
            self.requests += 1

    def _sample(self, message: str) -> None:
        if len(self.error_samples) < MAX_ERROR_SAMPLES:
            self.error_samples.append(message[:300])

    def http_error(self, message: str) -> None:
        with self._lock:
            self.http_errors += 1
            self._sample(message)

    def transport_error(self, message: str) -> None:
        with self._lock:
            self.transport_errors += 1
            self._sample(message)

    def count_cut_off(self) -> None:
        with self._lock:
            self.cut_off += 1

    def check(self, ok: bool, message: str) -> bool:
        """Record a failed correctness check when ``ok`` is false."""
        if not ok:
            with self._lock:
                self.check_failures += 1
                self._sample(f"check failed: {message}")
        return ok

    @property
    def errors(self) -> int:
        return self.http_errors + self.transport_errors


class Api:
    """MLflow REST API calls with one ``requests.Session`` per thread."""

    def __init__(self, base_url: str, timeout: float = 120.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.stats = Stats()
        self.deadline: float | None = None  # time.monotonic() after which nothing is sent
        self._local = threading.local()

    def _session(self) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            # Loopback only: never route through a proxy from the environment (nor spend a
            # look-up of the environment's proxy settings on every request).
            session.trust_env = False
            self._local.session = session
        return session

    def close_thread_session(self) -> None:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is not None:
            session.close()
            self._local.session = None

    def post(self, endpoint: str, body: Json) -> Json | None:
        return self._call("POST", endpoint, body=body)

    def get(self, endpoint: str, params: Json) -> Json | None:
        return self._call("GET", endpoint, params=params)

    def _call(
        self,
        method: str,
        endpoint: str,
        body: Json | None = None,
        params: Json | None = None,
    ) -> Json | None:
        stats = self.stats
        timeout = self.timeout
        if self.deadline is not None:
            left = self.deadline - time.monotonic()
            if left <= 0:
                stats.count_cut_off()
                return None
            timeout = max(1.0, min(timeout, left))
        stats.count_request()
        url = self.base_url + API_PREFIX + endpoint
        try:
            resp = self._session().request(method, url, json=body, params=params, timeout=timeout)
        except requests.RequestException as exc:
            stats.transport_error(f"{method} {endpoint}: {type(exc).__name__}: {exc}")
            return None
        if not 200 <= resp.status_code < 300:
            stats.http_error(f"{method} {endpoint}: HTTP {resp.status_code}: {resp.text}")
            return None
        if not resp.content:
            return {}
        try:
            decoded = resp.json()
        except ValueError:
            stats.http_error(f"{method} {endpoint}: undecodable body: {resp.text}")
            return None
        if not isinstance(decoded, dict):
            stats.http_error(f"{method} {endpoint}: body is not an object")
            return None
        return decoded
