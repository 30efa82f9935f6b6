"""Fan-out through two a1rt replicas and Redis, beside the single-replica figure.

Both replicas run with `A1RT_REDIS_URL` on DB 7 (flushed first). The subscribers are split
across them (client process i connects to replica i mod 2) and the leader publishes: its
publisher appends every message to the channel's Redis Stream, and each replica's stream reader
feeds its own hub, so the follower's clients get what the leader published through Redis, and
so do the leader's (its hub is fed by its reader too). Measured only when the scale-out code
exists (`Runtime.leading`) and Redis answers; otherwise the result says why.
"""

from __future__ import annotations

import time
from pathlib import Path

import redis

from .stream_fleet import Target, Worker, start_a1rt

REDIS_URL = "redis://127.0.0.1:6379/7"
LEADER_TIMEOUT_S = 30.0


def unavailable() -> str | None:
    """Why two replicas cannot be measured here, or None if they can."""
    from a1rt.pipeline import Runtime  # not at import: spawned processes re-import this module

    if not hasattr(Runtime, "leading"):
        return ("Redis scale-out (leader lease + Redis Streams fan-out) had not landed in "
                "a1rt.pipeline when this ran")  # fmt: skip
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2.0).ping()
    except (redis.RedisError, OSError) as exc:
        return f"Redis at {REDIS_URL} did not answer: {exc!r}"
    return None


def start_pair(data_dir: Path) -> list[Worker]:
    """Flush DB 7 and start two replicas on it (`lead` waits for them)."""
    redis.Redis.from_url(REDIS_URL).flushdb()
    env = {"A1RT_REDIS_URL": REDIS_URL}
    return [start_a1rt(env, str(data_dir / f"replica-{i}"), 15.0) for i in (1, 2)]


def lead(replicas: list[Worker]) -> Target:
    """Wait until exactly one replica leads, prime the channel, and make them one target."""
    deadline = time.monotonic() + LEADER_TIMEOUT_S
    while time.monotonic() < deadline:
        leading = [r for r in replicas if r.call("info")["leading"]]
        if len(leading) == 1:
            _prime(leading[0], replicas)
            return Target("two_replicas", replicas, leading[0], helpers=_redis_pid())
        time.sleep(0.2)
    raise TimeoutError(f"no single leader among the replicas within {LEADER_TIMEOUT_S:.0f} s")


def _prime(leader: Worker, replicas: list[Worker]) -> None:
    """Publish one message first: a fresh Redis starts the channel's cluster epoch with it,
    and a hub that moves to a new epoch closes its subscribers (4010, reconnect and resume),
    as it must. A cluster that has been running is past that point; the bench starts there."""
    leader.call("publish", 0, 1.0, 0.001)
    deadline = time.monotonic() + LEADER_TIMEOUT_S
    while time.monotonic() < deadline:
        if all(r.call("info")["seq"] >= 1 for r in replicas):
            return
        time.sleep(0.1)
    raise TimeoutError("the priming message did not reach both replicas")


def _redis_pid() -> dict[str, int]:
    """The Redis server's pid, so its CPU is reported beside the replicas' (if it is local)."""
    pid = redis.Redis.from_url(REDIS_URL).info("server").get("process_id")
    return {"redis": int(pid)} if pid and Path(f"/proc/{pid}").exists() else {}


def flush() -> None:
    """Leave DB 7 empty behind the bench."""
    redis.Redis.from_url(REDIS_URL).flushdb()
