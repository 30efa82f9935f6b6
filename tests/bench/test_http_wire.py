from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import pytest

from bench.http_wire import BadAnswer, Pool, parse_answer, request_bytes, sender

OK = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-type: text/plain\r\n\r\nok"


def test_http_wire_request_is_encoded_once_with_host_headers_and_body() -> None:
    get = request_bytes("GET", "http://127.0.0.1:8000/health/live?x=1", None, ())
    assert get == b"GET /health/live?x=1 HTTP/1.1\r\nHost: 127.0.0.1:8000\r\n\r\n"
    post = request_bytes(
        "POST", "http://127.0.0.1:8000/api/v2/predict", b'{"a":1}', (("Authorization", "k"),)
    )
    head, body = post.split(b"\r\n\r\n")
    assert head.split(b"\r\n") == [
        b"POST /api/v2/predict HTTP/1.1",
        b"Host: 127.0.0.1:8000",
        b"Authorization: k",
        b"Content-Type: application/json",
        b"Content-Length: 7",
    ]
    assert body == b'{"a":1}'


def test_http_wire_answer_is_whole_only_once_its_body_is_in() -> None:
    buffer = bytearray()
    for piece in (OK[:10], OK[10:40], OK[40:-1]):
        buffer += piece
        assert parse_answer(buffer) is None
    buffer += OK[-1:] + OK[:5]  # the next answer's first bytes are not taken
    assert parse_answer(buffer) == (200, len(OK), False)


def test_http_wire_answer_without_a_body_and_connection_close() -> None:
    no_content = bytearray(b"HTTP/1.1 204 No Content\r\nserver: x\r\n\r\n")
    assert parse_answer(no_content) == (204, len(no_content), False)
    closing = bytearray(b"HTTP/1.1 503 X\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
    assert parse_answer(closing) == (503, len(closing), True)


@pytest.mark.parametrize(
    ("answer", "kind"),
    [
        (b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n", "chunked"),
        (b"HTTP/1.1 200 OK\r\nserver: x\r\n\r\n", "no_length"),
        (b"HTTP/1.0 200 OK\r\ncontent-length: 0\r\n\r\n", "bad_status_line"),
        (b"HTTP/1.1 2x0 OK\r\ncontent-length: 0\r\n\r\n", "bad_status_line"),
        (b"HTTP/1.1 200 OK\r\ncontent-length: two\r\n\r\n", "bad_length"),
        (b"HTTP/1.1 200 OK\r\nx: " + b"y" * 70_000, "head_too_long"),
    ],
)
def test_http_wire_answers_it_cannot_read_are_errors_of_their_own_kind(
    answer: bytes, kind: str
) -> None:
    with pytest.raises(BadAnswer, match=f"^{kind}$"):
        parse_answer(bytearray(answer))


Script = Callable[[bytes, int], bytes | None]  # (request, index on its connection) -> answer


class Server:
    """A scripted HTTP server on loopback: each request's answer comes from ``script``; None
    closes the connection without answering, and b"" leaves the request unanswered."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.connections = 0
        self.writers: list[asyncio.StreamWriter] = []

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.writers.append(writer)
        index = 0
        try:
            while request := await reader.readuntil(b"\r\n\r\n"):
                answer = self.script(request, index)
                index += 1
                if answer is None:
                    break
                writer.write(answer)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        writer.close()


@asynccontextmanager
async def serving(script: Script) -> AsyncIterator[tuple[Server, str]]:
    server = Server(script)
    listener = await asyncio.start_server(server.handle, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    try:
        yield server, f"http://127.0.0.1:{port}/health/live"
    finally:
        for writer in server.writers:
            writer.close()
        listener.close()


def _send(url: str, expect: int = 200, timeout_s: float = 2.0) -> tuple[Pool, Callable]:
    pool = Pool(url)
    return pool, sender(pool, request_bytes("GET", url, None, ()), expect, timeout_s)


@pytest.mark.anyio
async def test_http_wire_pool_reuses_a_keep_alive_connection() -> None:
    async with serving(lambda request, index: OK) as (server, url):
        pool, send = _send(url)
        assert [await send() for _ in range(5)] == [None] * 5
        assert server.connections == 1
        results = await asyncio.gather(*(send() for _ in range(3)))  # three at once: three
        assert results == [None] * 3
        assert server.connections == 3
        pool.close()


@pytest.mark.anyio
async def test_http_wire_pool_skips_a_connection_the_server_closed_while_idle() -> None:
    async with serving(lambda request, index: OK) as (server, url):
        pool, send = _send(url)
        assert await send() is None
        server.writers[0].close()  # idle timeout on the server's side
        await asyncio.sleep(0.05)
        assert await send() is None
        assert server.connections == 2
        pool.close()


@pytest.mark.anyio
async def test_http_wire_connection_close_answer_is_counted_and_not_reused() -> None:
    closing = OK.replace(b"\r\n\r\n", b"\r\nconnection: close\r\n\r\n")
    async with serving(lambda request, index: closing) as (server, url):
        pool, send = _send(url)
        assert [await send(), await send()] == [None, None]
        assert server.connections == 2
        pool.close()


@pytest.mark.anyio
async def test_http_wire_errors_by_kind_and_the_pool_recovers_after_each() -> None:
    answers = {
        0: b"",  # never answered: timeout
        1: None,  # closed before the answer
        2: b"HTTP/1.1 503 Busy\r\ncontent-length: 0\r\n\r\n",
        3: b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n",
    }
    calls = iter(range(10))

    def script(request: bytes, index: int) -> bytes | None:
        return answers.get(next(calls), OK)

    async with serving(script) as (server, url):
        pool, send = _send(url, timeout_s=0.2)
        kinds = [await send() for _ in range(5)]
        assert kinds == ["timeout", "connection", "status_503", "client:chunked", None]
        # a timeout and a chunked answer drop their connection; a 503 keeps it
        assert server.connections == 4
        pool.close()


@pytest.mark.anyio
async def test_http_wire_refused_connection_is_a_connection_error() -> None:
    listener = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    listener.close()
    await listener.wait_closed()
    _, send = _send(f"http://127.0.0.1:{port}/")
    assert await send() == "connection"
