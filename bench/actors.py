"""The actor runtime against a bare anyio memory object stream, in the same run.

Throughput: messages through a two-stage pipeline (producer → stage → sink), once with two
actors on the `block` policy and once with two bare anyio memory object streams of the same
capacity.  Latency: `ask` round trips to an echo actor on an otherwise idle loop.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

import anyio

from actors import Actor

from .stats import summary_us

CAPACITY = 1000


class _Sink(Actor[int, None]):
    def __init__(self, total: int) -> None:
        super().__init__("sink", capacity=CAPACITY)
        self.total = total
        self.count = 0
        self.done = anyio.Event()

    async def handle(self, message: int) -> None:
        self.count += 1
        if self.count == self.total:
            self.done.set()


class _Stage(Actor[int, None]):
    def __init__(self, sink: _Sink) -> None:
        super().__init__("stage", capacity=CAPACITY)
        self.sink = sink

    async def handle(self, message: int) -> None:
        await self.sink.tell(message)


class _Echo(Actor[int, int]):
    async def handle(self, message: int) -> int:
        return message


async def actor_pipeline(n: int) -> float:
    """Messages per second through producer → stage actor → sink actor."""
    sink = _Sink(n)
    stage = _Stage(sink)
    async with anyio.create_task_group() as tg:
        await tg.start(sink.run)
        await tg.start(stage.run)
        started = time.perf_counter()
        for i in range(n):
            await stage.tell(i)
        await sink.done.wait()
        elapsed = time.perf_counter() - started
        stage.request_stop()
        sink.request_stop()
    return n / elapsed


async def stream_pipeline(n: int) -> float:
    """Messages per second through producer → stage task → sink task on memory streams."""
    send1, recv1 = anyio.create_memory_object_stream[int](CAPACITY)
    send2, recv2 = anyio.create_memory_object_stream[int](CAPACITY)

    async def stage() -> None:
        async with recv1, send2:
            async for item in recv1:
                await send2.send(item)

    async def sink() -> None:
        async with recv2:
            async for _ in recv2:
                pass

    async with anyio.create_task_group() as tg:
        tg.start_soon(stage)
        tg.start_soon(sink)
        started = time.perf_counter()
        async with send1:
            for i in range(n):
                await send1.send(i)
    return n / (time.perf_counter() - started)


async def ask_latencies(n: int) -> list[float]:
    """Seconds per `ask` round trip, one at a time."""
    echo = _Echo("echo")
    latencies = []
    async with anyio.create_task_group() as tg:
        await tg.start(echo.run)
        for i in range(n):
            started = time.perf_counter()
            await echo.ask(i, timeout=1.0)
            latencies.append(time.perf_counter() - started)
        echo.request_stop()
    return latencies


async def _measure(quick: bool, smoke: bool = False) -> dict[str, Any]:
    n = 2_000 if smoke else 50_000 if quick else 300_000
    rounds = 1 if smoke else 3 if quick else 5
    actors, streams = [], []
    for _ in range(rounds):  # interleaved, so drift on a shared machine hits both alike
        streams.append(await stream_pipeline(n))
        actors.append(await actor_pipeline(n))
    await ask_latencies(200 if smoke else 2_000)  # warm-up
    asks = summary_us(await ask_latencies(500 if smoke else 20_000 if quick else 100_000))
    actor_rate, stream_rate = statistics.median(actors), statistics.median(streams)
    return {
        "config": {"messages": n, "rounds": rounds, "capacity": CAPACITY, "loop": "uvloop"},
        "pipeline": {
            "actors_msgs_per_s": round(actor_rate),
            "anyio_stream_msgs_per_s": round(stream_rate),
            "ratio": round(actor_rate / stream_rate, 3),
            "rounds_actors": [round(x) for x in actors],
            "rounds_streams": [round(x) for x in streams],
        },
        "ask_round_trip": asks,
        "targets": {
            "pipeline_ratio_at_least": 0.5,
            "ask_p99_us_under": 100,
            "pipeline_met": actor_rate / stream_rate >= 0.5,
            "ask_met": asks["p99_us"] < 100,
        },
    }


def run(quick: bool = False, smoke: bool = False) -> dict[str, Any]:
    """Measure and return the figures (``smoke``: a few thousand messages, to prove it runs)."""
    options = {"use_uvloop": True}
    result: dict[str, Any] = anyio.run(_measure, quick, smoke, backend_options=options)
    return result
