"""The credential cache: ``~/.runyard/credentials.json`` (``RUNYARD_HOME`` honoured), one entry
per server.

``runyard login`` writes it; the mlflow plugin and the CLI read it. It is replaced atomically
(a 0600 temp file in the same 0700 directory, fsync, rename), so a crash never leaves half a
file and no other local user can read a token. Entries are keyed by the server's base URL
(see ``server_base``), so ``http://host:5000/w/team-a`` and ``http://host:5000`` share one.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import stat
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

log = logging.getLogger("runyard.client")

FILE_NAME = "credentials.json"
# Path segments where Runyard's own paths start; anything before them is a proxy prefix.
_ROUTE_SEGMENTS = frozenset({"w", "api", "ajax-api", "device", "health", "version"})
_DEFAULT_PORTS = {"http": 80, "https": 443}


class CredentialsError(Exception):
    """The cache file exists but cannot be read (bad JSON, not a file, no permission)."""


@dataclass(frozen=True)
class Credential:
    server: str
    token: str
    principal: str | None = None
    expires_at: float | None = None  # unix seconds; None = no known expiry
    token_id: str | None = None

    def expired(self, now: float | None = None) -> bool:
        return self.expires_at is not None and (time.time() if now is None else now) >= self.expires_at


def runyard_home(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    return Path(env.get("RUNYARD_HOME") or "~/.runyard").expanduser()


def credentials_path(env: Mapping[str, str] | None = None) -> Path:
    return runyard_home(env) / FILE_NAME


def server_base(url: str) -> str:
    """``https://Host:443/w/team-a/api/2.0/x`` → ``https://host``: the key of a server.

    Keeps a reverse-proxy path prefix (``https://host/mlflow/api/...`` → ``https://host/mlflow``).
    """
    text = url.strip()
    if "://" not in text:
        text = "http://" + text
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"Invalid port in server URL {url!r}.") from None
    netloc = host if port is None or port == _DEFAULT_PORTS.get(scheme) else f"{host}:{port}"
    prefix: list[str] = []
    for segment in parts.path.split("/"):
        if segment in _ROUTE_SEGMENTS:
            break
        if segment:
            prefix.append(segment)
    path = "/" + "/".join(prefix) if prefix else ""
    return f"{scheme}://{netloc}{path}"


def parse_time(value: Any) -> float | None:
    """Unix seconds from what servers send: epoch seconds or milliseconds, or ISO 8601."""
    if value is None or value == "":
        return None
    if isinstance(value, str) and not value.strip().lstrip("-").replace(".", "", 1).isdigit():
        text = value.strip().replace("Z", "+00:00")
        moment = datetime.fromisoformat(text)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)
        return moment.timestamp()
    number = float(value)
    return number / 1000.0 if number > 1e11 else number


def format_time(epoch: float | None) -> str:
    if epoch is None:
        return "never"
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


# -- reading -------------------------------------------------------------------------------

_memo_lock = threading.Lock()
_memo: dict[Path, tuple[tuple[int, int, int], dict[str, Any]]] = {}


def load(path: Path | None = None) -> dict[str, Any]:
    """The whole file as a dict (``{}`` when there is none).

    Memoised on (inode, size, mtime): the mlflow plugin calls this on every request.
    """
    path = path or credentials_path()
    try:
        st = path.stat()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise CredentialsError(f"Cannot read the Runyard credential cache {path}: {exc}") from None
    key = (st.st_ino, st.st_size, st.st_mtime_ns)
    with _memo_lock:
        hit = _memo.get(path)
        if hit is not None and hit[0] == key:
            return hit[1]
    if os.name == "posix" and st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        log.warning("%s is readable by other users; run `chmod 600 %s`.", path, path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CredentialsError(
            f"Cannot read the Runyard credential cache {path}: {exc}. "
            "Delete it and run `runyard login` again."
        ) from None
    if not isinstance(data, dict):
        raise CredentialsError(f"{path} is not a Runyard credential cache (expected a JSON object).")
    with _memo_lock:
        _memo[path] = (key, data)
    return data


def get(server: str, path: Path | None = None) -> Credential | None:
    """The cached credential for ``server`` (any URL of it), or None."""
    base = server_base(server)
    entry = load(path).get("servers", {}).get(base)
    if not isinstance(entry, dict) or not entry.get("token"):
        return None
    return Credential(
        server=base,
        token=str(entry["token"]),
        principal=entry.get("principal"),
        expires_at=parse_time(entry.get("expires_at")),
        token_id=entry.get("token_id"),
    )


def default_server(path: Path | None = None) -> str | None:
    """The server of the last ``runyard login``."""
    value = load(path).get("default_server")
    return value if isinstance(value, str) and value else None


# -- writing -------------------------------------------------------------------------------


def save(cred: Credential, *, make_default: bool = True, path: Path | None = None) -> Path:
    """Add or replace the entry for ``cred.server``; returns the file written."""
    path = path or credentials_path()
    base = server_base(cred.server)
    entry = {k: v for k, v in asdict(cred).items() if v is not None and k != "server"}
    if cred.expires_at is not None:
        entry["expires_at"] = datetime.fromtimestamp(cred.expires_at, timezone.utc).isoformat()
    with _locked(path):
        data = _load_for_update(path)
        data.setdefault("servers", {})[base] = entry
        if make_default:
            data["default_server"] = base
        _write_atomic(path, data)
    return path


def remove(server: str, path: Path | None = None) -> bool:
    """Forget ``server``'s credential; True if there was one."""
    path = path or credentials_path()
    base = server_base(server)
    with _locked(path):
        data = _load_for_update(path)
        found = data.get("servers", {}).pop(base, None) is not None
        if data.get("default_server") == base:
            data.pop("default_server")
        if found:
            _write_atomic(path, data)
    return found


def _load_for_update(path: Path) -> dict[str, Any]:
    try:
        data = load(path)
    except CredentialsError:
        log.warning("Replacing the unreadable credential cache %s.", path)
        data = {}
    # Copy: ``load`` memoises the dict it returns.
    return json.loads(json.dumps(data)) if data else {}


def _write_atomic(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    # mkstemp creates the file with mode 0600 from the start: the token is never world-readable.
    fd, tmp = tempfile.mkstemp(prefix=".credentials-", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=2, sort_keys=True)
            fh.write("\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):  # make the rename durable; not possible everywhere
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Serialise read-modify-write between processes (two logins at once) where flock exists."""
    try:
        import fcntl
    except ImportError:  # Windows: the rename is still atomic, a concurrent update may be lost
        yield
        return
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path.parent / (path.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


__all__ = [
    "Credential",
    "CredentialsError",
    "credentials_path",
    "default_server",
    "format_time",
    "get",
    "load",
    "parse_time",
    "remove",
    "runyard_home",
    "save",
    "server_base",
]
