"""A small pooled keep-alive HTTP/1.1 client over asyncio streams, for the router's hop to scoring processes.

Only what that hop needs: ``POST`` with a Content-Length body to our own processes on loopback,
answers with Content-Length, chunked or close-delimited bodies. A general client (httpx) spent
~1.2 ms of CPU per request here; this one spends a tenth of that.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from dataclasses import dataclass
from urllib.parse import urlsplit

MAX_HEAD_BYTES = 64 * 1024  # status line + headers of an answer
IDLE_S = 20.0  # a pooled connection idle longer is closed (scoring processes keep 75 s)
_TOKEN_OK = frozenset(range(0x20, 0x7F)) | {0x09}


class UpstreamError(Exception):
    """The upstream did not give a complete answer."""


class ConnectFailed(UpstreamError):
    """No connection could be opened: nothing was sent, so another upstream may take the request."""


class UpstreamTimeout(UpstreamError):
    """No complete answer within the timeout."""


class ConnectionLost(UpstreamError):
    """The connection broke or the answer was not valid HTTP/1.1 after (part of) the request was sent."""


@dataclass(frozen=True)
class UpstreamResponse:
    status: int
    headers: dict[str, str]  # lower-case names; repeated headers joined with ", "
    body: bytes


class _Conn:
    __slots__ = ("idle_since", "reader", "writer")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.idle_since = 0.0

    def usable(self, now: float) -> bool:
        """Still open as far as the loop knows, and not idle for so long the peer may drop it."""
        return not self.writer.is_closing() and not self.reader.at_eof() and now - self.idle_since < IDLE_S

    def close(self) -> None:
        self.writer.close()  # no wait: the transport finishes closing in the background


class _HostPool:
    """Connections to one host:port; at most ``limit`` open, the idle ones reused newest first."""

    def __init__(self, host: str, port: int, limit: int) -> None:
        self.host, self.port = host, port
        self.host_header = f"{host}:{port}".encode("ascii")
        self.idle: deque[_Conn] = deque()
        self.slots = asyncio.Semaphore(limit)

    def take_idle(self) -> _Conn | None:
        now = time.monotonic()
        while self.idle:
            conn = self.idle.pop()
            if conn.usable(now):
                return conn
            conn.close()
        return None

    def close_idle(self) -> None:
        while self.idle:
            self.idle.pop().close()


class UpstreamPool:
    """Keep-alive connections per upstream (``http://host:port``), bound to the loop that opened them."""

    def __init__(
        self,
        *,
        timeout_s: float,
        connect_timeout_s: float = 5.0,
        max_connections_per_host: int = 256,
        max_response_bytes: int = 256 * 1024 * 1024,
    ) -> None:
        self.timeout_s = timeout_s
        self.connect_timeout_s = min(connect_timeout_s, timeout_s)
        self.max_connections_per_host = max_connections_per_host
        self.max_response_bytes = max_response_bytes
        self._hosts: dict[str, _HostPool] = {}
        self._closed = False

    def _pool(self, base_url: str) -> _HostPool:
        pool = self._hosts.get(base_url)
        if pool is None:
            parts = urlsplit(base_url)
            if parts.scheme != "http" or not parts.hostname or parts.port is None:
                raise ValueError(f"upstream URL must be http://host:port, got {base_url!r}")
            pool = self._hosts[base_url] = _HostPool(
                parts.hostname, parts.port, self.max_connections_per_host
            )
        return pool

    async def post(self, base_url: str, path: str, body: bytes, content_type: str) -> UpstreamResponse:
        """POST ``body``; one answer or an UpstreamError subclass (never a partial answer)."""
        if self._closed:
            raise ConnectFailed("the upstream pool is closed")
        pool = self._pool(base_url)
        head = _request_head(pool.host_header, path, content_type, len(body))
        try:
            async with asyncio.timeout(self.timeout_s):
                async with pool.slots:
                    # A pooled connection the loop has seen closed (the process restarted, shut
                    # down) is dropped before a byte goes out, and a new one opened: that is the
                    # only retry. Once the request was written, a broken connection is an error:
                    # the model may have run.
                    return await self._exchange(pool, pool.take_idle(), head, body)
        except TimeoutError:
            raise UpstreamTimeout(f"no answer within {self.timeout_s:g} s") from None

    async def _exchange(
        self, pool: _HostPool, conn: _Conn | None, head: bytes, body: bytes
    ) -> UpstreamResponse:
        if conn is None:
            conn = await self._connect(pool)
        done = False
        try:
            # One write for small bodies: head and body leave in one segment.
            if len(body) < 65536:
                conn.writer.write(head + body)
            else:
                conn.writer.write(head)
                conn.writer.write(body)
            try:
                await conn.writer.drain()
                response, keep = await self._read_response(conn.reader)
            except (ConnectionError, OSError, asyncio.IncompleteReadError) as exc:
                raise ConnectionLost(f"connection lost: {type(exc).__name__}") from None
            except (asyncio.LimitOverrunError, ValueError) as exc:
                raise ConnectionLost(f"invalid answer: {exc}") from None
            done = keep and not self._closed
            return response
        finally:
            if done:
                conn.idle_since = time.monotonic()
                pool.idle.append(conn)
            else:  # failed, cancelled (timeout, client gone) or told to close: its state is unknown
                conn.close()

    async def _connect(self, pool: _HostPool) -> _Conn:
        try:
            async with asyncio.timeout(self.connect_timeout_s):
                reader, writer = await asyncio.open_connection(pool.host, pool.port, limit=MAX_HEAD_BYTES)
        except TimeoutError:
            raise UpstreamTimeout(f"no connection within {self.connect_timeout_s:g} s") from None
        except OSError as exc:
            raise ConnectFailed(
                f"cannot connect to {pool.host}:{pool.port}: {exc.strerror or exc!r}"
            ) from None
        return _Conn(reader, writer)

    async def _read_response(self, reader: asyncio.StreamReader) -> tuple[UpstreamResponse, bool]:
        while True:
            raw = await reader.readuntil(b"\r\n\r\n")
            version, status, headers = _parse_head(raw)
            if not 100 <= status < 200:  # 1xx interim answers (never asked for) are skipped
                break
        keep = version == "HTTP/1.1" and "close" not in headers.get("connection", "").lower()
        encoding = headers.get("transfer-encoding", "").lower()
        if encoding:
            if encoding != "chunked":
                raise ValueError(f"unsupported Transfer-Encoding {encoding!r}")
            body = await self._read_chunked(reader)
        elif "content-length" in headers:
            length = _content_length(headers["content-length"])
            if length > self.max_response_bytes:
                raise ValueError(f"answer of {length} bytes exceeds {self.max_response_bytes}")
            body = await reader.readexactly(length) if length else b""
        elif status in (204, 304):
            body = b""
        else:  # delimited by the end of the connection
            body = await self._read_to_eof(reader)
            keep = False
        return UpstreamResponse(status, headers, body), keep

    async def _read_chunked(self, reader: asyncio.StreamReader) -> bytes:
        parts: list[bytes] = []
        size = 0
        while True:
            line = await reader.readuntil(b"\r\n")
            chunk = int(line.split(b";", 1)[0].strip() or b"x", 16)  # ValueError on garbage
            if chunk == 0:
                while await reader.readuntil(b"\r\n") != b"\r\n":  # trailers, ignored
                    pass
                return b"".join(parts)
            size += chunk
            if size > self.max_response_bytes:
                raise ValueError(f"chunked answer exceeds {self.max_response_bytes} bytes")
            parts.append(await reader.readexactly(chunk))
            if await reader.readexactly(2) != b"\r\n":
                raise ValueError("chunk not followed by CRLF")

    async def _read_to_eof(self, reader: asyncio.StreamReader) -> bytes:
        parts: list[bytes] = []
        size = 0
        while chunk := await reader.read(65536):
            size += len(chunk)
            if size > self.max_response_bytes:
                raise ValueError(f"answer exceeds {self.max_response_bytes} bytes")
            parts.append(chunk)
        return b"".join(parts)

    async def aclose(self) -> None:
        """Close idle connections; those in use close when their request ends."""
        self._closed = True
        for pool in self._hosts.values():
            pool.close_idle()
        self._hosts.clear()


def _request_head(host: bytes, path: str, content_type: str, length: int) -> bytes:
    ctype = content_type.encode("latin-1", "replace")
    if not all(c in _TOKEN_OK for c in ctype):  # never let a header value smuggle a line break
        ctype = b"application/octet-stream"
    return b"".join(
        (
            b"POST ",
            path.encode("ascii"),
            b" HTTP/1.1\r\nHost: ",
            host,
            b"\r\nContent-Type: ",
            ctype,
            b"\r\nContent-Length: ",
            str(length).encode(),
            b"\r\n\r\n",
        )
    )


def _parse_head(raw: bytes) -> tuple[str, int, dict[str, str]]:
    lines = raw[:-4].decode("latin-1").split("\r\n")
    version, _, rest = lines[0].partition(" ")
    code = rest[:3]
    if version not in ("HTTP/1.1", "HTTP/1.0") or not code.isdigit():
        raise ValueError(f"bad status line {lines[0][:100]!r}")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if not sep or not name or name != name.strip():
            raise ValueError(f"bad header line {line[:100]!r}")
        name, value = name.lower(), value.strip()
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    return version, int(code), headers


def _content_length(value: str) -> int:
    values = {v.strip() for v in value.split(",")}  # a repeated header must repeat the same length
    if len(values) != 1 or not (text := values.pop()).isdigit():
        raise ValueError(f"bad Content-Length {value!r}")
    return int(text)


__all__ = [
    "ConnectFailed",
    "ConnectionLost",
    "UpstreamError",
    "UpstreamPool",
    "UpstreamResponse",
    "UpstreamTimeout",
]
