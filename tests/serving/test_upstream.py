"""The router's HTTP/1.1 client against a real TCP server that answers in every framing it must handle."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import pytest

from runyard.serving.upstream import (
    ConnectFailed,
    ConnectionLost,
    UpstreamPool,
    UpstreamResponse,
    UpstreamTimeout,
)
from tests.support.server import free_port

T = TypeVar("T")

# path → raw answer; "{body}" is replaced by the request body (an echo).
ANSWERS = {
    "/length": b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {n}\r\n\r\n{body}",
    "/chunked": (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: text/plain\r\n\r\n"
        b"5;ext=1\r\nhello\r\n1\r\n \r\n{hex}\r\n{body}\r\n0\r\nX-Trailer: t\r\n\r\n"
    ),
    "/close": b"HTTP/1.1 400 Bad\r\nConnection: close\r\nContent-Length: 3\r\n\r\nbad",
    "/eof": b"HTTP/1.0 200 OK\r\nContent-Type: text/csv\r\n\r\na,b\n1,2\n",
    "/continue": b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
    "/garbage": b"SMTP ready\r\n\r\n",
    "/bad-length": b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
    "/gzip": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
    "/short": b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this",
}


class Server:
    """A raw HTTP/1.1 server: reads Content-Length requests, answers per path, counts connections."""

    def __init__(self) -> None:
        self.connections = 0
        self.open_now = 0
        self.most_open = 0
        self.requests: list[tuple[str, dict[str, str], bytes]] = []
        self.writers: list[asyncio.StreamWriter] = []
        self.handlers: set[asyncio.Task[None]] = set()
        self.port = 0
        self._server: asyncio.Server | None = None

    async def start(self) -> str:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{self.port}"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.handlers.add(asyncio.current_task())  # type: ignore[arg-type]
        self.connections += 1
        self.open_now += 1
        self.most_open = max(self.most_open, self.open_now)
        self.writers.append(writer)
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except asyncio.IncompleteReadError:
                    return
                lines = head.decode().split("\r\n")
                path = lines[0].split(" ")[1]
                headers = {k.lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:] if ln)}
                body = await reader.readexactly(int(headers["content-length"]))
                self.requests.append((path, headers, body))
                if path == "/slow":
                    await asyncio.sleep(1)
                if path == "/hang-up":
                    return
                answer = ANSWERS[path]
                answer = answer.replace(b"{n}", str(len(body)).encode()).replace(b"{hex}", b"%x" % len(body))
                writer.write(answer.replace(b"{body}", body))
                await writer.drain()
                if path in ("/close", "/eof", "/short"):
                    return
        finally:
            self.open_now -= 1
            writer.close()

    async def close(self) -> None:
        assert self._server is not None
        self._server.close()
        for w in self.writers:
            w.close()
        if self.handlers:  # each sees its connection end and returns
            await asyncio.wait(self.handlers, timeout=5)


def run(test: Callable[[Server, UpstreamPool, str], Awaitable[T]], **options: float) -> T:
    async def main() -> T:
        server = Server()
        url = await server.start()
        pool = UpstreamPool(timeout_s=options.pop("timeout_s", 5.0), **options)  # type: ignore[arg-type]
        try:
            return await test(server, pool, url)
        finally:
            await pool.aclose()
            await server.close()

    return asyncio.run(main())


def test_keep_alive_reuses_one_connection_and_frames_every_answer() -> None:
    async def go(server: Server, pool: UpstreamPool, url: str) -> list[UpstreamResponse]:
        out = [await pool.post(url, "/length", b'{"x": %d}' % i, "application/json") for i in range(5)]
        out.append(await pool.post(url, "/chunked", b"world", "text/plain"))
        out.append(await pool.post(url, "/continue", b"", "text/csv"))
        assert server.connections == 1
        return out

    answers = run(go)
    assert [a.body for a in answers[:5]] == [b'{"x": %d}' % i for i in range(5)]
    assert {(a.status, a.headers["content-type"]) for a in answers[:5]} == {(200, "application/json")}
    assert (answers[5].status, answers[5].body) == (200, b"hello world")
    assert (answers[6].status, answers[6].body) == (204, b"")


def test_request_carries_host_type_and_length_and_no_line_breaks_from_the_caller() -> None:
    async def go(server: Server, pool: UpstreamPool, url: str) -> list[tuple[str, dict[str, str], bytes]]:
        await pool.post(url, "/length", b"a,b\n1,2\n", "text/csv; charset=utf-8")
        await pool.post(url, "/length", b"{}", "application/json\r\nX-Evil: 1")
        return server.requests

    (path, headers, body), (_, smuggled, _) = run(go)
    assert (path, body) == ("/length", b"a,b\n1,2\n")
    assert headers["content-type"] == "text/csv; charset=utf-8"
    assert headers["content-length"] == "8" and headers["host"].startswith("127.0.0.1:")
    assert "x-evil" not in smuggled and smuggled["content-type"] == "application/octet-stream"


def test_connection_close_and_eof_delimited_answers_are_read_and_not_reused() -> None:
    async def go(server: Server, pool: UpstreamPool, url: str) -> list[UpstreamResponse]:
        out = [await pool.post(url, "/close", b"{}", "application/json")]
        out.append(await pool.post(url, "/eof", b"{}", "application/json"))
        out.append(await pool.post(url, "/length", b"ok", "application/json"))
        assert server.connections == 3
        return out

    close, eof, ok = run(go)
    assert (close.status, close.body) == (400, b"bad")
    assert (eof.status, eof.headers["content-type"], eof.body) == (200, "text/csv", b"a,b\n1,2\n")
    assert ok.body == b"ok"


def test_a_connection_the_server_closed_while_idle_is_replaced_without_an_error() -> None:
    async def go(server: Server, pool: UpstreamPool, url: str) -> UpstreamResponse:
        await pool.post(url, "/length", b"1", "application/json")
        for w in server.writers:  # the scoring process restarted: its connections are gone
            w.close()
        await asyncio.sleep(0.05)
        answer = await pool.post(url, "/length", b"2", "application/json")
        assert server.connections == 2
        return answer

    assert run(go).body == b"2"


def test_connections_per_upstream_are_capped() -> None:
    async def go(server: Server, pool: UpstreamPool, url: str) -> list[UpstreamResponse]:
        answers = await asyncio.gather(
            *(pool.post(url, "/length", b"%d" % i, "application/json") for i in range(20))
        )
        assert server.most_open <= 3 and server.connections <= 3
        return list(answers)

    answers = run(go, max_connections_per_host=3)
    assert sorted(int(a.body) for a in answers) == list(range(20))


@pytest.mark.parametrize(
    ("path", "error", "says"),
    [
        ("/garbage", ConnectionLost, "bad status line"),
        ("/bad-length", ConnectionLost, "bad Content-Length"),
        ("/gzip", ConnectionLost, "unsupported Transfer-Encoding 'gzip'"),
        ("/short", ConnectionLost, "IncompleteReadError"),
        ("/hang-up", ConnectionLost, "connection lost"),
    ],
)
def test_broken_answers_are_errors_and_the_pool_recovers(path: str, error: type, says: str) -> None:
    async def go(server: Server, pool: UpstreamPool, url: str) -> UpstreamResponse:
        with pytest.raises(error, match=says):
            await pool.post(url, path, b"{}", "application/json")
        return await pool.post(url, "/length", b"fine", "application/json")

    assert run(go).body == b"fine"


def test_timeout_and_refused_connection() -> None:
    async def go(server: Server, pool: UpstreamPool, url: str) -> None:
        with pytest.raises(UpstreamTimeout, match=r"no answer within 0\.2 s"):
            await pool.post(url, "/slow", b"{}", "application/json")
        with pytest.raises(ConnectFailed, match=r"cannot connect to 127\.0\.0\.1"):
            await pool.post(f"http://127.0.0.1:{free_port()}", "/length", b"{}", "application/json")
        with pytest.raises(ValueError, match="must be http://host:port"):
            await pool.post("https://127.0.0.1", "/length", b"{}", "application/json")
        assert (await pool.post(url, "/length", b"after", "application/json")).body == b"after"

    run(go, timeout_s=0.2)
