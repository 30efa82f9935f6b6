"""The stream bench: its arithmetic (histograms, gaps by seq, latency from stamps, the rate
search's stopping rule), its websocket client's framing, and a one-second smoke run against a
real a1rt replica and the bare broadcast peer with a handful of subscribers each."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import msgspec
import pytest

from bench.stream_client import Book, Subscriber
from bench.stream_fleet import Fleet, Target, Worker, split, start_a1rt, start_peer
from bench.stream_publish import publish_step
from bench.stream_stats import (
    LatencyHistogram,
    RateSearch,
    SeqTracker,
    StepTally,
    bucket_of,
    bucket_top,
    merged,
    verdict,
)
from bench.stream_wire import BINARY, PING, PONG, TEXT, WireClient, accept_key

CH = "predictions:basketball_nba"


# --- histograms ---------------------------------------------------------------------------


def test_stream_bench_buckets_hold_their_values_within_one_128th() -> None:
    for value in [0, 1, 255, 256, 257, 511, 512, 1000, 99_999, 100_000, 10**7, 123_456_789]:
        top = bucket_top(bucket_of(value))
        assert value <= top and (top - value) <= max(0, value / 128)
        assert bucket_of(top) == bucket_of(value)  # the top is still in the same bucket
    assert bucket_of(1000) < bucket_of(1100) < bucket_of(5000)  # ordered


def test_stream_bench_histogram_percentiles_are_nearest_rank_and_merge() -> None:
    low, high = LatencyHistogram(), LatencyHistogram()
    for us in range(1, 101):
        (low if us <= 50 else high).record_ns(us * 1000)
    low.merge(LatencyHistogram.from_wire(high.to_wire()))
    assert low.n == 100 and low.max_us == 100
    assert low.percentile_us(50) == 50 and low.percentile_us(99) == 99
    assert low.percentile_us(99.9) == 100
    summary = low.summary()
    assert summary is not None and summary["p90_us"] == 90 and summary["mean_us"] == 50.5
    assert LatencyHistogram().summary() is None


def test_stream_bench_histogram_never_reports_better_than_measured() -> None:
    hist = LatencyHistogram()
    for _ in range(99):
        hist.record_ns(1_000_000)  # 1 ms
    hist.record_ns(150_000_000)  # one 150 ms outlier
    assert hist.percentile_us(99) >= 1000
    assert 150_000 <= hist.percentile_us(100) == hist.max_us == 150_000
    hist.record_ns(-5)  # a receipt before its stamp is counted, as zero
    assert hist.negative == 1


# --- gaps and latency from stamps -----------------------------------------------------------


def test_stream_bench_seq_tracker_counts_a_jump_as_one_gap_of_its_size() -> None:
    tracker = SeqTracker(last=10)
    assert [tracker.observe(s) for s in (11, 12, 15, 16)] == [0, 0, 2, 0]
    assert (tracker.gaps, tracker.missed, tracker.last) == (1, 2, 16)
    assert tracker.observe(16) == 0 and tracker.out_of_order == 1  # a duplicate, not a gap
    assert tracker.observe(100) == 83 and tracker.gaps == 2


def _frame(payload: dict[str, Any]) -> bytes:
    return msgspec.json.encode(payload)


def _update(seq: int, step: int, stamp_ns: int, **extra: Any) -> bytes:
    return _frame({"op": "update", "ch": CH, "epoch": "e", "seq": seq, "ts": stamp_ns // 10**6,
                   "data": {"s": step, "k": seq, "t": stamp_ns, "body": "x"}, **extra})  # fmt: skip


@pytest.mark.anyio
async def test_stream_bench_subscriber_books_latency_gaps_and_conflation() -> None:
    book = Book()
    sub = Subscriber(book)
    position = {"epoch": "e", "seq": 10, "recovered": False}
    sub.on_message(_frame({"op": "ack", "id": 1, "channels": {CH: position}}), 0)
    sub.on_message(_frame({"op": "snapshot", "ch": CH, "epoch": "e", "seq": 10, "data": []}), 0)
    clock = 1_000_000_000_000  # a fake clock: receipt times are given, not read
    sub.on_message(_update(11, 3, clock), clock + 2_000_000)  # 2 ms
    sub.on_message(_update(12, 3, clock), clock + 4_000_000)  # 4 ms
    sub.on_message(_update(15, 3, clock), clock + 6_000_000)  # skipped 13 and 14
    sub.on_message(_update(16, 3, clock, con=True), clock + 8_000_000)
    sub.on_message(_frame({"op": "heartbeat", "ts": 1}), clock)
    sub.on_message(b"not json", clock)
    assert sub.acked.done() and sub.heartbeats == 1
    tally = book.steps[3]
    assert (tally.received, tally.gaps, tally.seq_missed, tally.conflated) == (4, 1, 2, 1)
    assert 4000 <= tally.latency.percentile_us(50) <= 4000 * (1 + 1 / 128)  # its bucket's top
    assert tally.latency.max_us == 8000 and tally.latency.total_us == 20_000
    assert book.unknown["undecodable"] == 1


def test_stream_bench_verdict_fails_on_loss_gaps_closes_and_a_slow_p99() -> None:
    fast = StepTally(received=100)
    for _ in range(100):
        fast.latency.record_ns(5_000_000)
    assert verdict(fast, expected=100, closed=0) == []
    assert verdict(fast, expected=101, closed=0) == ["missing 1 of 101"]
    assert verdict(fast, expected=100, closed=2) == ["2 connections closed"]
    gappy = merged([fast, StepTally(gaps=1)])
    assert verdict(gappy, 100, 0) == ["1 seq gaps, 0 conflated frames"]
    slow = StepTally(received=100)
    for i in range(100):
        slow.latency.record_ns(150_000_000 if i >= 98 else 1_000_000)
    assert verdict(slow, 100, 0)[0].startswith("p99 150")


# --- the rate search ------------------------------------------------------------------------


def _search(search: RateSearch, ceiling: float) -> list[float]:
    tried = []
    while (rate := search.next_rate()) is not None:
        tried.append(rate)
        search.record(rate, rate <= ceiling)
    return tried


def test_stream_bench_rate_search_stops_at_the_first_failure_without_refining() -> None:
    search = RateSearch((1, 5, 10, 20, 50), refine=0)
    assert _search(search, ceiling=12) == [1, 5, 10, 20]
    assert (search.best, search.lowest_failure) == (10, 20)


def test_stream_bench_rate_search_bisects_between_best_pass_and_lowest_failure() -> None:
    search = RateSearch((1, 5, 10, 20, 50), refine=2)
    assert _search(search, ceiling=17) == [1, 5, 10, 20, 15, 17]
    assert (search.best, search.lowest_failure) == (17, 20)
    adjacent = RateSearch((1, 2, 3), refine=5)
    assert _search(adjacent, ceiling=2) == [1, 2, 3]  # nothing lies between 2 and 3


def test_stream_bench_rate_search_ends_on_a_failed_first_rung_or_the_ladder_top() -> None:
    failing = RateSearch((1, 5, 10), refine=2)
    assert _search(failing, ceiling=0) == [1] and failing.best is None
    passing = RateSearch((1, 5, 10), refine=2)
    assert _search(passing, ceiling=1e9) == [1, 5, 10] and passing.best == 10


def test_stream_bench_split_spreads_connections_evenly() -> None:
    assert split(10, 4) == [3, 3, 2, 2] and sum(split(1000, 3)) == 1000


# --- the publisher's open loop --------------------------------------------------------------


@pytest.mark.anyio
async def test_stream_bench_publish_step_stamps_intended_times_and_never_runs_early() -> None:
    sent: list[tuple[int, int, int]] = []

    def offer(k: int, data: dict[str, Any]) -> None:
        sent.append((k, data["t"], time.time_ns()))

    report = await publish_step(offer, 7, rate=50.0, seconds=0.2)
    assert report["published"] == 10 == len(sent)
    assert [k for k, _, _ in sent] == list(range(10))
    gaps = {b[1] - a[1] for a, b in zip(sent, sent[1:], strict=False)}
    assert gaps <= {20_000_000, 20_000_001, 19_999_999}  # 1/rate apart, whatever the loop did
    assert all(at >= stamp - 1_000 for _, stamp, at in sent)  # none ahead of its stamp


# --- the websocket client's framing ---------------------------------------------------------


class _Transport:
    def __init__(self) -> None:
        self.written: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        self.written.append(data)

    def close(self) -> None:
        self.closed = True


def _server_frame(opcode: int, payload: bytes, fin: bool = True) -> bytes:
    n = len(payload)
    head = bytes(((0x80 if fin else 0) | opcode,))
    if n < 126:
        return head + bytes((n,)) + payload
    return head + bytes((126,)) + n.to_bytes(2, "big") + payload


@pytest.mark.anyio
async def test_stream_bench_wire_client_reassembles_frames_split_anywhere() -> None:
    got: list[tuple[bytes, int]] = []
    client = WireClient("127.0.0.1", 1, "/", lambda m, t: got.append((m, t)))
    transport = _Transport()
    client.connection_made(transport)  # type: ignore[arg-type]
    request = transport.written[0].decode()
    key = next(line.split(": ")[1] for line in request.split("\r\n") if "Key" in line)
    response = (f"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                f"Sec-WebSocket-Accept: {accept_key(key)}\r\n\r\n").encode()  # fmt: skip
    big = b"y" * 300
    stream = (response + _server_frame(TEXT, b"hello") + _server_frame(TEXT, b"frag-", fin=False)
              + _server_frame(0x0, b"ment") + _server_frame(BINARY, big)
              + _server_frame(PING, b"p"))  # fmt: skip
    for i in range(0, len(stream), 7):  # delivered in 7-byte pieces
        client.data_received(stream[i : i + 7])
    await asyncio.wait_for(client.opened, 1)
    assert [m for m, _ in got] == [b"hello", b"frag-ment", big]
    pong = transport.written[-1]
    assert pong[0] == 0x80 | PONG and pong[1] == 0x80 | 1  # masked, one byte


@pytest.mark.anyio
async def test_stream_bench_wire_client_refuses_a_wrong_accept_key() -> None:
    client = WireClient("127.0.0.1", 1, "/", lambda m, t: None)
    transport = _Transport()
    client.connection_made(transport)  # type: ignore[arg-type]
    client.data_received(b"HTTP/1.1 101 OK\r\nSec-WebSocket-Accept: nope\r\n\r\n")
    with pytest.raises(ConnectionError, match="Accept"):
        await asyncio.wait_for(client.opened, 1)
    assert transport.closed


# --- a smoke run against real servers --------------------------------------------------------


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Worker]]:
    started: list[Worker] = []
    try:
        started.append(start_a1rt({}, str(tmp_path_factory.mktemp("stream")), 15.0))
        started.append(start_peer())
        yield started
    finally:
        for worker in started:
            worker.stop()


def test_stream_bench_smoke_delivers_and_counts_every_message_on_both_servers(
    servers: list[Worker],
) -> None:
    fleet = Fleet(processes=2, concurrency=4, drain_s=3.0)
    try:
        for name, server in zip(("a1rt", "peer"), servers, strict=True):
            target = Target(name, [server], server)
            assert fleet.connect(target, 6)["connected"] == 6
            step = fleet.measure(target, rate=20.0, seconds=1.0)
            assert step["published"] == 20 and step["expected"] == 120
            assert step["received"] == 120 and step["missing"] == 0, step
            assert step["gaps"] == 0 and step["conflated"] == 0 and step["closed"] == 0
            assert step["latency"]["n"] == 120 and 0 < step["latency"]["p50_us"] < 1e6
            assert step["server_cpu_cores"] >= 0 and step["clients_cpu_cores"] >= 0
            assert server.call("info")["hub_subscribers"] == 6
            fleet.disconnect(name)
    finally:
        fleet.close()
