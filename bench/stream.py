"""`python -m bench stream`: websocket fan-out against the physical limit, beside a bare peer.

1. Fan-out: N subscribers (default 1,000) on one a1rt replica and N on a bare `websockets`
   broadcast server (`broadcast_peer`), all held by the same load client (`stream_client`,
   several processes). A step publishes at a fixed per-subscriber rate (`stream_publish`:
   open loop, each message stamped with its intended publish time); latency is client receipt
   minus that stamp, in HDR-style histograms; gaps are counted by `seq` per connection (a jump
   or `con: true` counts), and messages expected vs received. The rate climbs a ladder until a
   step fails (any gap, conflation, loss or closed connection, or p99 >= 100 ms), then bisects;
   the two servers' steps are interleaved, so drifting machine load hits both alike.
2. Idle: many subscribed connections (default 10,000) on a fresh replica with a short
   heartbeat; RSS per connection, and whether every one stayed open and got heartbeats.
3. Two replicas through Redis (clients split across both, the leader publishing), once
   scale-out exists; until then the result says why it was not measured.

Options beyond `--quick`: `python -m bench.stream --subscribers N --idle N --clients P`, or the
environment variables A1RT_BENCH_STREAM_SUBSCRIBERS / _IDLE / _CLIENTS.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from . import stream_replicas
from .stream_fleet import Fleet, Target, Worker, start_a1rt, start_peer
from .stream_publish import CHANNEL
from .stream_stats import RateSearch

TARGET_RATIO = 0.8


@dataclass(frozen=True)
class Plan:
    """A run's configuration (recorded beside its figures)."""

    subscribers: int = 1000
    client_processes: int = 4
    ladder: tuple[float, ...] = (1, 5, 10, 20, 50, 100, 200, 500, 1000, 2000)
    refine: int = 2  # bisections between the best pass and the lowest failure
    step_s: float = 5.0
    min_messages: int = 10  # per subscriber: a slow rate's step lasts long enough for these
    drain_s: float = 2.0  # how long after the last publish a step's messages may still arrive
    warmup_s: float = 2.0
    idle: int = 10_000
    idle_heartbeat_s: float = 2.0  # StreamLimits.heartbeat for the idle replica (default 15)
    idle_hold: float = 2.5  # heartbeat intervals the idle connections are held for
    connect_concurrency: int = 50  # handshakes in flight per client process

    @classmethod
    def for_run(cls, quick: bool, smoke: bool = False, **overrides: int) -> Plan:
        plan = cls()
        if smoke:  # about a second per phase, a handful of subscribers: it works, no figures
            plan = replace(plan, subscribers=8, client_processes=2, ladder=(1, 20), refine=0,
                           step_s=0.5, min_messages=1, drain_s=1.0, warmup_s=0.2, idle=40,
                           idle_heartbeat_s=0.5, idle_hold=2.0)  # fmt: skip
        elif quick:
            plan = replace(plan, ladder=(1, 5, 10, 20, 50, 100, 200, 500), refine=0,
                           step_s=1.0, min_messages=1, drain_s=1.0, warmup_s=0.5, idle=2000,
                           idle_heartbeat_s=1.0, idle_hold=1.5)  # fmt: skip
        chosen: dict[str, Any] = {k: v for k, v in overrides.items() if v}
        return replace(plan, **chosen)

    def step_seconds(self, rate: float) -> float:
        return max(self.step_s, self.min_messages / rate)


def _from_env(name: str) -> int:
    return int(os.environ.get(f"A1RT_BENCH_STREAM_{name}", "0") or 0)


def loadavg() -> list[float]:
    return [float(v) for v in Path("/proc/loadavg").read_text().split()[:3]]


def _short(step: dict[str, Any] | None) -> dict[str, Any] | None:
    if step is None or step["latency"] is None:
        return step and {"passed": step["passed"], "why_not": step["why_not"]}
    lat = step["latency"]
    return {"p50_ms": round(lat["p50_us"] / 1e3, 2), "p99_ms": round(lat["p99_us"] / 1e3, 2),
            "max_ms": round(lat["max_us"] / 1e3, 2), "gaps": step["gaps"],
            "missing": step["missing"], "passed": step["passed"]}  # fmt: skip


def search_rates(fleet: Fleet, targets: list[Target], plan: Plan) -> dict[str, Any]:
    """Each target's rate search, step by step in turn; its steps and the figures."""
    searches = {t.name: RateSearch(plan.ladder, plan.refine) for t in targets}
    steps: dict[str, list[dict[str, Any]]] = {t.name: [] for t in targets}
    for target in targets:  # warm both up alike (connections, caches, the loop's timers)
        fleet.measure(target, 1.0, plan.warmup_s)
    while True:
        pending = [(t, searches[t.name].next_rate()) for t in targets]
        pending = [(t, rate) for t, rate in pending if rate is not None]
        if not pending:
            break
        for target, rate in pending:
            assert rate is not None
            step = fleet.measure(target, rate, plan.step_seconds(rate))
            steps[target.name].append(step)
            searches[target.name].record(rate, step["passed"])
            print(f"stream {target.name} {rate:g}/s: passed={step['passed']} "
                  f"{step['why_not']} p99={_short(step)}", file=sys.stderr)  # fmt: skip
            if not step["passed"]:
                fleet.settle()
    for target in targets:  # the figures asked for at 1/s and 5/s, even past a failure
        for rate in (1.0, 5.0):
            if not any(s["rate_per_s"] == rate for s in steps[target.name]):
                steps[target.name].append(fleet.measure(target, rate, plan.step_seconds(rate)))
                fleet.settle()
    return {t.name: _figures(searches[t.name], steps[t.name], plan) for t in targets}


def _figures(search: RateSearch, steps: list[dict[str, Any]], plan: Plan) -> dict[str, Any]:
    at = {rate: next((s for s in steps if s["rate_per_s"] == rate), None) for rate in (1.0, 5.0)}
    top = max(plan.ladder)
    return {
        "max_rate_per_s": search.best,
        "max_rate_is_ladder_top": search.best == top,  # the ceiling may be higher still
        "lowest_failing_rate_per_s": search.lowest_failure,
        "at_1_per_s": _short(at[1.0]),
        "at_5_per_s": _short(at[5.0]),
        "steps": steps,
    }


@dataclass
class Servers:
    """Every server process of a run, started together (each start takes seconds)."""

    single: Worker
    peer: Worker
    idle_a1rt: Worker
    idle_peer: Worker
    pair: list[Worker] = field(default_factory=list)

    @classmethod
    def start(cls, plan: Plan, data_dir: Path, pair: bool) -> Servers:
        return cls(
            start_a1rt({}, str(data_dir / "fanout"), 15.0), start_peer(),
            start_a1rt({}, str(data_dir / "idle"), plan.idle_heartbeat_s), start_peer(),
            stream_replicas.start_pair(data_dir) if pair else [],
        )  # fmt: skip

    def all(self) -> list[Worker]:
        return [self.single, self.peer, self.idle_a1rt, self.idle_peer, *self.pair]

    def stop(self, workers: list[Worker] | None = None) -> None:
        for worker in self.all() if workers is None else workers:
            worker.stop()


def fanout(fleet: Fleet, plan: Plan, servers: Servers, why_not_pair: str | None) -> dict[str, Any]:
    """One a1rt replica and the peer, N subscribers each, measured side by side; and, when
    scale-out is there, two replicas through Redis with N split across them."""
    targets = [Target("a1rt", [servers.single], servers.single),
               Target("peer", [servers.peer], servers.peer)]  # fmt: skip
    if why_not_pair is None:
        targets.append(stream_replicas.lead(servers.pair))
    connects = {t.name: fleet.connect(t, plan.subscribers) for t in targets}
    figures = search_rates(fleet, targets, plan)
    for target in targets:
        figures[target.name]["connect"] = connects[target.name]
        fleet.disconnect(target.name)
    result: dict[str, Any] = {"a1rt": figures["a1rt"], "peer": figures["peer"]}
    result["ratio_max_rate_vs_peer"] = ratio = _ratio(figures["a1rt"], figures["peer"])
    result["target"] = {"ratio_at_least": TARGET_RATIO,
                        "met": ratio is not None and ratio >= TARGET_RATIO}  # fmt: skip
    if why_not_pair is not None:
        return result | {"two_replicas": {"not_measured": why_not_pair}}
    pair_figures = figures["two_replicas"] | {
        "replicas": 2, "redis": stream_replicas.REDIS_URL,
        "layout": "subscribers split across both replicas; the leader publishes (one fenced "
                  "XADD script per publisher batch), each replica's stream reader feeds its "
                  "own hub",
        "ratio_max_rate_vs_single_replica": _ratio(figures["two_replicas"], figures["a1rt"]),
    }  # fmt: skip
    return result | {"two_replicas": pair_figures}


def _ratio(ours: dict[str, Any], theirs: dict[str, Any]) -> float | None:
    a, b = ours["max_rate_per_s"], theirs["max_rate_per_s"]
    return round(a / b, 3) if a and b else None


def idle(fleet: Fleet, plan: Plan, server: Worker, kind: str) -> dict[str, Any]:
    """``plan.idle`` subscribed, silent connections on a fresh server: memory, and whether
    they all stay open (and, on a1rt, get heartbeats) through the hold."""
    group = f"idle-{kind}"
    before = server.call("rss")
    target = Target(group, [server], server)
    connect = fleet.connect(target, plan.idle)
    after = server.call("rss")
    hold = plan.idle_hold * plan.idle_heartbeat_s
    time.sleep(hold)
    status = fleet.status().get(group, {})
    held = server.call("info")["hub_subscribers"]
    fleet.disconnect(group)
    connected = connect["connected"]
    beats = kind == "a1rt"
    return {
        "requested": plan.idle, "connect": connect, "server_subscribers": held,
        "rss_before_bytes": before, "rss_after_bytes": after,
        "rss_per_connection_bytes": round((after - before) / connected) if connected else None,
        "held_s": hold, "open_after_hold": status.get("open", 0),
        "closed": status.get("closed", 0), "close_codes": status.get("close_codes", {}),
        "all_stayed_open": connected == plan.idle and status.get("closed", 1) == 0,
        "heartbeat_s": plan.idle_heartbeat_s if beats else None,
        "with_heartbeat": status.get("with_heartbeat", 0) if beats else None,
        "heartbeats_per_connection": round(status.get("heartbeats", 0) / connected, 2)
        if connected and beats else None,
    }  # fmt: skip


def run(quick: bool = False, smoke: bool = False, **overrides: int) -> dict[str, Any]:
    """Measure and return the figures (the shape of bench/results/stream.json)."""
    plan = Plan.for_run(
        quick,
        smoke,
        subscribers=overrides.get("subscribers") or _from_env("SUBSCRIBERS"),
        idle=overrides.get("idle") or _from_env("IDLE"),
        client_processes=overrides.get("clients") or _from_env("CLIENTS"),
    )
    load_before = loadavg()
    started = time.perf_counter()
    why_not_pair = stream_replicas.unavailable()
    with tempfile.TemporaryDirectory(prefix="a1rt-bench-stream-") as tmp:
        servers = Servers.start(plan, Path(tmp), pair=why_not_pair is None)
        fleet: Fleet | None = None
        try:
            fleet = Fleet(plan.client_processes, plan.connect_concurrency, plan.drain_s)
            for server in servers.all():
                server.ready()
            result: dict[str, Any] = {"fanout": fanout(fleet, plan, servers, why_not_pair)}
            servers.stop([servers.single, servers.peer, *servers.pair])
            result["idle"] = {"a1rt": idle(fleet, plan, servers.idle_a1rt, "a1rt"),
                              "peer": idle(fleet, plan, servers.idle_peer, "peer")}  # fmt: skip
        finally:
            if fleet is not None:
                fleet.close()
            servers.stop()
            if why_not_pair is None:
                stream_replicas.flush()
    result["two_replicas"] = result["fanout"].pop("two_replicas")
    result["config"] = asdict(plan) | {
        "channel": CHANNEL, "encoding": "json (a1rt's default; msgspec on both sides)",
        "auth": "a Runtime without a database has no key store: any ?token= is accepted, and "
                "auth happens only at connect, so it costs nothing per message",
        "a1rt_server": "Runtime(settings, live=False) + create_app on uvicorn (httptools, "
                       "websockets-sansio, no deflate, as `a1rt serve`), own process, no "
                       "models, no database; published as Publish offered to "
                       "runtime.publisher",
        "peer": "websockets.asyncio.server + broadcast(text=True), compression off, own process",
        "client": "bench.stream_wire (asyncio Protocol on uvloop), one per connection, "
                  f"{plan.client_processes} processes shared by every server",
        "latency": "client receipt (time_ns at read) - intended publish time stamped in the data",
        "loadavg_before": load_before, "loadavg_after": loadavg(),
        "wall_s": round(time.perf_counter() - started, 1),
    }  # fmt: skip
    return result


def main(argv: list[str] | None = None) -> int:
    """`python -m bench.stream [--quick] [--subscribers N] [--idle N] [--clients P]`."""
    from .machine import write_result

    parser = argparse.ArgumentParser(prog="python -m bench.stream")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--subscribers", type=int, default=0)
    parser.add_argument("--idle", type=int, default=0)
    parser.add_argument("--clients", type=int, default=0)
    args = parser.parse_args(argv)
    result = run(args.quick, subscribers=args.subscribers, idle=args.idle, clients=args.clients)
    result["config"]["quick"] = args.quick
    path = write_result("stream", result)
    print(json.dumps(result, indent=2))
    print(f"wrote {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
