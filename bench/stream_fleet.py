"""The stream bench's processes: servers and load clients, each spawned with a command pipe.

`Worker` is one spawned process answering commands (see the entry points in `stream_server`,
`broadcast_peer` and `stream_client`). `Fleet` is the load client: several client processes,
a group of connections per server, and the measurement of one step — CPU of the server, of
every client process and of the machine read at the step's edges.
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .broadcast_peer import peer_main
from .server import machine_cpu_seconds, tree_cpu_seconds
from .stream_client import client_main
from .stream_stats import StepTally, merged, verdict

READY_TIMEOUT_S = 120.0
CALL_TIMEOUT_S = 120.0
SATURATED_CORES = 0.8  # a client process this busy may be what limits the figure


class Worker:
    """One spawned process and the pipe its commands go through. Several start at once: the
    first thing each sends is its `info` (port, pid, path), which `ready` waits for."""

    def __init__(self, target: Callable[..., None], *args: Any) -> None:
        context = multiprocessing.get_context("spawn")
        self.conn, child = context.Pipe()
        self.process = context.Process(target=target, args=(child, *args), daemon=True)
        self.process.start()
        child.close()
        self._info: dict[str, Any] | None = None

    def ready(self) -> Worker:
        """Wait for the process to say it is ready (it serves, or it takes commands)."""
        if self._info is None:
            self._info = self.receive(READY_TIMEOUT_S)
        return self

    @property
    def info(self) -> dict[str, Any]:
        return self.ready()._info or {}

    @property
    def pid(self) -> int:
        pid = self.process.pid
        assert pid is not None
        return pid

    def send(self, *command: Any) -> None:
        self.conn.send(command)

    def receive(self, timeout: float = CALL_TIMEOUT_S) -> Any:
        """The next answer; TimeoutError if none comes in time (or the process died)."""
        if not self.conn.poll(timeout):
            raise TimeoutError(f"process {self.process.pid} did not answer in {timeout:.0f} s")
        return self.conn.recv()

    def call(self, *command: Any, timeout: float = CALL_TIMEOUT_S) -> Any:
        self.send(*command)
        return self.receive(timeout)

    def stop(self) -> None:
        """Ask it to stop; terminate it if it will not (or never got ready)."""
        if self.process.is_alive() and self._info is not None:
            try:
                self.call("stop", timeout=20.0)
            except (TimeoutError, OSError, EOFError):
                pass
            self.process.join(10.0)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(5.0)


def start_a1rt(env: dict[str, str], data_dir: str, heartbeat: float) -> Worker:
    """An a1rt replica process (see `stream_server`), starting; `ready()` waits for it."""
    from .stream_server import a1rt_main  # not at import: a spawned peer re-imports this module

    return Worker(a1rt_main, env, data_dir, heartbeat)


def start_peer() -> Worker:
    """A bare websockets broadcast server process (see `broadcast_peer`), starting."""
    return Worker(peer_main)


def call_all(
    workers: Sequence[Worker], *command: Any, timeout: float = CALL_TIMEOUT_S
) -> list[Any]:
    """Send ``command`` to every worker at once, then gather the answers in order."""
    for worker in workers:
        worker.send(*command)
    return [worker.receive(timeout) for worker in workers]


def split(total: int, parts: int) -> list[int]:
    """``total`` spread over ``parts`` as evenly as whole numbers allow."""
    return [total // parts + (i < total % parts) for i in range(parts)]


@dataclass
class Target:
    """One server under test and the group of connections the clients hold to it."""

    name: str
    servers: list[Worker]  # several replicas: connections are split across them
    publisher: Worker  # the one that publishes (the leader)
    subscribers: int = 0
    helpers: dict[str, int] = field(default_factory=dict)  # other processes it needs (Redis)


def _cpu(pids: Sequence[int]) -> tuple[float, list[float], float]:
    seconds = []
    for pid in pids:
        try:
            seconds.append(tree_cpu_seconds(pid))
        except ProcessLookupError:
            seconds.append(0.0)
    return time.perf_counter(), seconds, machine_cpu_seconds()


def cpu_usage(
    before: tuple[float, list[float], float],
    after: tuple[float, list[float], float],
    servers: int,
    helpers: Sequence[str] = (),
) -> dict[str, Any]:
    """Cores used between two readings of [servers..., helpers..., clients...]: servers,
    helper processes (Redis), client processes, the machine, and the rest of it."""
    wall = after[0] - before[0]
    used = [b - a for a, b in zip(before[1], after[1], strict=True)]
    server = sum(used[:servers])
    helping = dict(zip(helpers, used[servers : servers + len(helpers)], strict=True))
    clients = used[servers + len(helpers) :]
    machine = after[2] - before[2]

    def cores(seconds: float) -> float:
        return round(seconds / wall, 3) if wall > 0 else 0.0

    return {
        "server_cpu_cores": cores(server),
        **{f"{name}_cpu_cores": cores(seconds) for name, seconds in helping.items()},
        "clients_cpu_cores": cores(sum(clients)),
        "client_process_max_cpu_cores": cores(max(clients, default=0.0)),
        "machine_cpu_cores": cores(machine),
        "other_cpu_cores": cores(machine - server - sum(helping.values()) - sum(clients)),
        "client_saturated": max(clients, default=0.0) / wall >= SATURATED_CORES if wall else False,
    }


class Fleet:
    """The load client: ``processes`` client processes, shared by every server under test."""

    def __init__(self, processes: int, concurrency: int, drain_s: float) -> None:
        self.clients = [Worker(client_main) for _ in range(processes)]
        for client in self.clients:
            client.ready()
        self.concurrency = concurrency
        self.drain_s = drain_s
        self.step = 0

    def close(self) -> None:
        for client in self.clients:
            client.stop()

    def connect(self, target: Target, n: int, group: str | None = None) -> dict[str, Any]:
        """Open ``n`` subscribers to ``target``, split over the client processes and, when it
        has several replicas, over them (client i of replica i mod count)."""
        group = group or target.name
        shares = split(n, len(self.clients))
        for i, (client, share) in enumerate(zip(self.clients, shares, strict=True)):
            server = target.servers[i % len(target.servers)]
            client.send("connect", group, "127.0.0.1", server.info["port"], server.info["path"],
                        share, self.concurrency)  # fmt: skip
        started = time.perf_counter()
        answers = [client.receive() for client in self.clients]
        connected = sum(a["connected"] for a in answers)
        errors: dict[str, int] = {}
        for answer in answers:
            for kind, count in answer["errors"].items():
                errors[kind] = errors.get(kind, 0) + count
        target.subscribers += connected
        return {"requested": n, "connected": connected, "errors": errors,
                "seconds": round(time.perf_counter() - started, 3)}  # fmt: skip

    def disconnect(self, group: str) -> None:
        call_all(self.clients, "disconnect", group)

    def status(self) -> dict[str, Any]:
        """Every group's connections, summed over the client processes."""
        total: dict[str, dict[str, Any]] = {}
        for answer in call_all(self.clients, "status"):
            for group, figures in answer.items():
                into = total.setdefault(group, {})
                for key, value in figures.items():
                    if isinstance(value, dict):
                        codes = into.setdefault(key, {})
                        for code, count in value.items():
                            codes[code] = codes.get(code, 0) + count
                    else:
                        into[key] = into.get(key, 0) + value
        return total

    def measure(self, target: Target, rate: float, seconds: float) -> dict[str, Any]:
        """Publish ``rate``/s for ``seconds`` from the target's publisher, wait for delivery
        (bounded by ``drain_s``), and book what the clients received of it."""
        self.step += 1
        step = self.step
        pids = [s.pid for s in target.servers] + list(target.helpers.values())
        pids += [c.pid for c in self.clients]
        before = _cpu(pids)
        published = target.publisher.call("publish", step, rate, seconds, timeout=seconds + 60)
        expected = published["published"] * target.subscribers
        deadline = time.perf_counter() + self.drain_s
        while time.perf_counter() < deadline:
            if sum(a["step"] for a in call_all(self.clients, "counts", step)) >= expected:
                break
            time.sleep(0.02)
        usage = cpu_usage(before, _cpu(pids), len(target.servers), list(target.helpers))
        tally, late = self._collect(step)
        closed = self.status().get(target.name, {}).get("closed", 0)  # by now, since connecting
        reasons = verdict(tally, expected, closed)
        return {
            "rate_per_s": rate, "seconds": round(seconds, 3), "subscribers": target.subscribers,
            "published": published["published"], "expected": expected,
            "received": tally.received, "missing": max(0, expected - tally.received),
            "gaps": tally.gaps, "seq_missed": tally.seq_missed, "conflated": tally.conflated,
            "out_of_order": tally.out_of_order, "closed": closed,
            "delivered_per_s": round(tally.received / seconds, 1),
            "latency": tally.latency.summary(),
            "publisher": {k: v for k, v in published.items() if k != "published"},
            "late_from_earlier_steps": late, "passed": not reasons, "why_not": reasons,
        } | usage  # fmt: skip

    def _collect(self, step: int) -> tuple[StepTally, int]:
        """This step's tally, and how many messages of earlier steps arrived meanwhile."""
        answers = call_all(self.clients, "collect")
        mine = [StepTally.from_wire(a["steps"][step]) for a in answers if step in a["steps"]]
        late = sum(w["received"] for a in answers for s, w in a["steps"].items() if s != step)
        return merged(mine), late

    def settle(self, quiet_s: float = 0.5, bound_s: float = 15.0) -> None:
        """Wait until nothing more arrives (a failed step's backlog) for ``quiet_s``, then drop
        what did arrive, so the next step starts clean."""
        deadline = time.perf_counter() + bound_s
        last, quiet_since = -1, time.perf_counter()
        while time.perf_counter() < deadline:
            total = sum(a["total"] for a in call_all(self.clients, "counts", 0))
            if total != last:
                last, quiet_since = total, time.perf_counter()
            elif time.perf_counter() - quiet_since >= quiet_s:
                break
            time.sleep(0.05)
        self._collect(-1)
