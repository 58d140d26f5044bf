"""The mlflow auth plugin (``MLFLOW_TRACKING_AUTH=runyard``) and the token source behind it.

For every request mlflow sends, the plugin picks the first credential it finds:

1. ``RUNYARD_CLIENT_ID`` + ``RUNYARD_CLIENT_SECRET`` (a service principal): exchanged at
   ``<server>/api/2.0/runyard/oauth/token`` for a short-lived access token, cached per process
   and refreshed before it expires;
2. ``RUNYARD_TOKEN`` (a personal access token);
3. the credential cache written by ``runyard login`` (see ``credentials``).

It does not import mlflow: mlflow's registry only calls ``get_name`` and ``get_auth``, and
keeping this module light is what lets a Spark cluster install the plugin alone.
"""

from __future__ import annotations

import hashlib
import logging
import os
import random
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import requests
from requests.auth import AuthBase

from runyard.client import credentials

log = logging.getLogger("runyard.client")

TOKEN_PATH = "/api/2.0/runyard/oauth/token"
ENV_CLIENT_ID = "RUNYARD_CLIENT_ID"
ENV_CLIENT_SECRET = "RUNYARD_CLIENT_SECRET"
ENV_TOKEN = "RUNYARD_TOKEN"
# Refresh once less than this share of a token's lifetime is left, but never earlier than
# this many seconds before expiry: a one-hour token is renewed a minute early, a 5-second
# test token 1 s early (a flat 60 s would renew short tokens on every request).
REFRESH_SHARE = 0.2
REFRESH_MAX_AHEAD_S = 60.0
# Token endpoint answers worth waiting for (rate limit, restarts) and how long at most.
_RETRY_STATUS = frozenset({429, 502, 503, 504})
_MAX_ATTEMPTS = 6
_RATE_LIMIT_PATIENCE_S = 300.0


class RunyardAuthError(Exception):
    """No usable credential: the token endpoint refused the client id/secret, or is unreachable."""


@dataclass(frozen=True)
class _Token:
    value: str
    refresh_at: float  # monotonic: start renewing from here
    use_until: float  # monotonic: other threads may keep sending it while one renews, up to here
    expires_at: float  # monotonic, conservative (measured from before the request was sent)


class TokenSource:
    """Client-credentials tokens for one (server, client id), shared by every thread.

    The fast path is one attribute read and a clock call. In the refresh window a single
    thread fetches while the others keep sending the old token (still valid for at least
    half the window); past that, everyone waits for the fetch. A token is never handed out
    after ``expires_at``, which is counted from *before* the token request was sent.
    """

    def __init__(
        self,
        token_url: str,
        client_id: str,
        client_secret: str,
        *,
        timeout: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.token_url = token_url
        self.client_id = client_id
        self._secret = client_secret
        self._timeout = timeout
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._current: _Token | None = None
        self._session = requests.Session()
        self.fetches = 0  # token requests sent (attempts), for tests and debugging

    def __repr__(self) -> str:  # never show the secret
        return f"TokenSource({self.token_url!r}, client_id={self.client_id!r})"

    def token(self) -> str:
        cur = self._current
        now = self._clock()
        if cur is not None and now < cur.refresh_at:
            return cur.value
        if cur is not None and now < cur.use_until:
            # Someone renews; everyone else keeps going with a token that is still good.
            if self._lock.acquire(blocking=False):
                try:
                    if self._current is cur:
                        self._refresh(keep=cur)
                finally:
                    self._lock.release()
            latest = self._current
            if latest is not None and self._clock() < latest.use_until:
                return latest.value
        with self._lock:
            cur = self._current
            if cur is None or self._clock() >= cur.refresh_at:
                cur = self._refresh(keep=None)
            return cur.value

    def invalidate(self, value: str) -> None:
        """The server refused ``value`` (revoked, server restarted): fetch anew next time."""
        with self._lock:
            if self._current is not None and self._current.value == value:
                self._current = None

    def _refresh(self, keep: _Token | None) -> _Token:
        """Fetch a token (lock held). With ``keep``, a failed fetch keeps the old token."""
        try:
            new = self._fetch()
        except RunyardAuthError as exc:
            if keep is not None:
                log.warning("Runyard: could not renew the access token yet (%s); using the current one.", exc)
                return keep
            raise
        self._current = new
        return new

    def _fetch(self) -> _Token:
        form = {
            "grant_type": "client_credentials",
            "client_id": self.client_id,
            "client_secret": self._secret,
        }
        # Rate limiting (429) is expected when a whole cluster starts at once: wait it out, with
        # jitter so the executors spread out. Outages (no answer, 502-504) get a few tries.
        give_up_at = self._clock() + _RATE_LIMIT_PATIENCE_S
        delay, failures = 1.0, 0
        while True:
            started = self._clock()
            self.fetches += 1
            try:
                resp = self._session.post(self.token_url, data=form, timeout=self._timeout)
            except requests.RequestException as exc:
                failures += 1
                if failures >= _MAX_ATTEMPTS:
                    raise RunyardAuthError(
                        f"cannot reach the Runyard token endpoint {self.token_url}: {exc}"
                    ) from None
            else:
                if resp.status_code == 429 and self._clock() < give_up_at:
                    self._sleep(_retry_after(resp, delay * random.uniform(0.5, 1.5)))
                    delay = min(delay * 2, 30.0)
                    continue
                if resp.status_code not in _RETRY_STATUS:
                    return self._parse(resp, started)
                failures += 1
                if failures >= _MAX_ATTEMPTS or resp.status_code == 429:
                    return self._parse(resp, started)
            self._sleep(delay)
            delay = min(delay * 2, 30.0)

    def _parse(self, resp: requests.Response, started: float) -> _Token:
        try:
            body = resp.json()
        except ValueError:
            body = {}
        if resp.status_code != 200 or not isinstance(body, dict) or not body.get("access_token"):
            message = (body.get("message") if isinstance(body, dict) else None) or resp.text[:200]
            raise RunyardAuthError(
                f"the Runyard token endpoint {self.token_url} refused client id {self.client_id!r} "
                f"(HTTP {resp.status_code}): {message.rstrip('.')}. "
                f"Check {ENV_CLIENT_ID} and {ENV_CLIENT_SECRET}."
            )
        lifetime = float(body.get("expires_in") or 60.0)
        ahead = min(REFRESH_SHARE * lifetime, REFRESH_MAX_AHEAD_S)
        expires_at = started + lifetime
        return _Token(
            value=str(body["access_token"]),
            refresh_at=expires_at - ahead,
            use_until=expires_at - ahead / 2,
            expires_at=expires_at,
        )


def _retry_after(resp: requests.Response, default: float) -> float:
    try:
        return min(max(float(resp.headers.get("Retry-After", default)), 0.1), 60.0)
    except ValueError:
        return default


# -- one token source per (server, client id) per process ----------------------------------

_sources_lock = threading.Lock()
_sources: dict[tuple[str, str, str], TokenSource] = {}


def token_source(server: str, client_id: str, client_secret: str) -> TokenSource:
    """The process-wide token source for this server and service principal."""
    base = credentials.server_base(server)
    key = (base, client_id, hashlib.sha256(client_secret.encode()).hexdigest())
    src = _sources.get(key)
    if src is None:
        with _sources_lock:
            src = _sources.get(key)
            if src is None:
                src = _sources[key] = TokenSource(base + TOKEN_PATH, client_id, client_secret)
    return src


def _after_fork() -> None:
    # A lock held by another thread at fork() time would never be released in the child, and
    # pooled sockets would be shared with the parent (Spark's Python workers fork): give the
    # child fresh locks and connections, keep the cached tokens.
    global _sources_lock
    _sources_lock = threading.Lock()
    for src in _sources.values():
        src._lock = threading.Lock()
        src._session = requests.Session()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)


def bearer_token(server: str) -> str | None:
    """The credential to send to ``server`` (any URL of it), by the order in the module doc."""
    client_id = os.environ.get(ENV_CLIENT_ID)
    client_secret = os.environ.get(ENV_CLIENT_SECRET)
    if client_id or client_secret:
        if not (client_id and client_secret):
            missing = ENV_CLIENT_SECRET if client_id else ENV_CLIENT_ID
            raise RunyardAuthError(f"{missing} is not set; a service principal needs both id and secret.")
        return token_source(server, client_id, client_secret).token()
    token = os.environ.get(ENV_TOKEN)
    if token:
        return token
    try:
        cached = credentials.get(server)
    except credentials.CredentialsError as exc:
        log.warning("Runyard: %s", exc)
        return None
    if cached is None:
        return None
    if cached.expired():
        _warn_once(
            ("expired", cached.server),
            "Runyard: the cached login for %s expired on %s; run `runyard login --server %s`.",
            cached.server,
            credentials.format_time(cached.expires_at),
            cached.server,
        )
        return None
    return cached.token


_warned: set[tuple[str, str]] = set()


def _warn_once(key: tuple[str, str], message: str, *args: object) -> None:
    if key not in _warned:
        _warned.add(key)
        log.warning(message, *args)


class RunyardAuth(AuthBase):
    """``requests`` auth: sets ``Authorization: Bearer`` for the server each request goes to."""

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        base = credentials.server_base(r.url or "")
        token = bearer_token(base)
        if token is None:
            # Auth may be off (a one-person server on 127.0.0.1): send the request as it is.
            if "Authorization" not in r.headers:
                _warn_once(
                    ("none", base),
                    "Runyard: no credential for %s (set RUNYARD_CLIENT_ID and RUNYARD_CLIENT_SECRET, "
                    "or RUNYARD_TOKEN, or run `runyard login --server %s`).",
                    base,
                    base,
                )
            return r
        r.headers["Authorization"] = f"Bearer {token}"
        if os.environ.get(ENV_CLIENT_ID):
            r.register_hook("response", _forget_refused(base, token))
        return r


def _forget_refused(base: str, token: str) -> Callable[..., requests.Response]:
    def hook(resp: requests.Response, *_args: object, **_kwargs: object) -> requests.Response:
        if resp.status_code == 401:
            for (src_base, _, _), src in list(_sources.items()):
                if src_base == base:
                    src.invalidate(token)
        return resp

    return hook


class RunyardAuthProvider:
    """mlflow's ``RequestAuthProvider`` for Runyard (entry point ``mlflow.request_auth_provider``).

    mlflow makes one instance per process and calls ``get_auth()`` for every request; the
    auth object returned resolves the credential when the request is sent.
    """

    def __init__(self) -> None:
        self._auth = RunyardAuth()

    def get_name(self) -> str:
        return "runyard"

    def get_auth(self) -> RunyardAuth:
        return self._auth


def _register_with_mlflow() -> None:
    # Loaded through mlflow's registry, mlflow's base class is already imported: declare that we
    # implement it (isinstance checks pass) without importing mlflow ourselves.
    base = sys.modules.get("mlflow.tracking.request_auth.abstract_request_auth_provider")
    if base is not None:
        base.RequestAuthProvider.register(RunyardAuthProvider)


_register_with_mlflow()

__all__ = [
    "RunyardAuth",
    "RunyardAuthError",
    "RunyardAuthProvider",
    "TokenSource",
    "bearer_token",
    "token_source",
]
